#!/usr/bin/env bash
# `npm start`: the whole system on this machine — infrastructure (native stack, or whatever the
# environment points at), database migrations, schema registration, the four apps built and
# running in the background. Idempotent; `npm stop` stops the apps, `npm run stack:down` the infra.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/scripts/lib.sh
ensure_node24

if [ -z "${KAFKA_BROKERS:-}" ]; then
  bash tools/local-stack/stack.sh up
  set -a; source .local-stack/env; set +a
fi
for step in db:migrate db:migrate:read schemas:register; do
  echo "==> npm run $step"
  npm run --silent "$step"
done
echo "==> building the apps"
nx run-many -t build --projects=tag:type:app --output-style=static
echo "==> starting the apps"
bash tools/scripts/apps.sh start
cat <<'TXT'

The system is up. Try:
  curl -s http://127.0.0.1:3000/health/ready
  open http://127.0.0.1:3000/docs
Stop the apps with `npm stop`, the infrastructure with `npm run stack:down`.
TXT
