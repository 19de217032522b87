#!/usr/bin/env bash
# `npm start`: the whole system on this machine — infrastructure (native stack, or whatever the
# environment points at), database migrations, schema registration, the four apps built and
# running in the background, and the web console. Idempotent; `npm stop` stops the apps, `npm run stack:down` the infra.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/scripts/lib.sh
ensure_node24

if [ -z "${KAFKA_BROKERS:-}" ]; then
  bash tools/local-stack/stack.sh up
  set -a; source .local-stack/env; set +a
fi
# The two migrations and the schema registration touch different things: run them side by side,
# then show each one's output in turn (and fail if any failed).
echo "==> npm run db:migrate, db:migrate:read, schemas:register"
steps=(db:migrate db:migrate:read schemas:register) pids=() out=$(mktemp -d)
for step in "${steps[@]}"; do npm run --silent "$step" >"$out/$step" 2>&1 & pids+=($!); done
failed=0
for i in "${!steps[@]}"; do
  if ! wait "${pids[$i]}"; then failed=1; echo "error: npm run ${steps[$i]} failed:" >&2; fi
  sed 's/^/    /' "$out/${steps[$i]}"
done
rm -rf "$out"
[ "$failed" = 0 ] || exit 1
echo "==> building the apps"
nx run-many -t build --projects=tag:type:app --output-style=static
echo "==> starting the apps"
bash tools/scripts/apps.sh start
cat <<'TXT'

The system is up. Open the web console and sign in with a development user name:
  http://127.0.0.1:4200   (tick "Admin role" for the operations view)
Every API call needs a bearer token from the development issuer:
  TOKEN=$(npm run --silent token -- alice)
  curl -s -X POST http://127.0.0.1:3000/tasks -H "authorization: Bearer $TOKEN" \
    -H 'content-type: application/json' -d '{"title":"Try the API"}'
  curl -s http://127.0.0.1:3001/me/tasks -H "authorization: Bearer $TOKEN"
Health, metrics and the API docs are on the management ports:
  curl -s http://127.0.0.1:9000/health/ready
  open http://127.0.0.1:9000/docs   (command API; queries: http://127.0.0.1:9001/docs)
Stop the apps with `npm stop`, the infrastructure with `npm run stack:down`.
TXT
