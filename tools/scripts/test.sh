#!/usr/bin/env bash
# `npm test`: every test tier against real infrastructure, provisioned once for the run
# (environment variables, else Docker, else the native stack — started here, and stopped again
# at the end if this run started it; KEEP_STACK=1 keeps it).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/scripts/lib.sh
ensure_node24

started_stack=0
if [ -z "${KAFKA_BROKERS:-}" ] && ! bash tools/local-stack/stack.sh status >/dev/null 2>&1; then started_stack=1; fi
cleanup() {
  local rc=$?
  if [ "$started_stack" = 1 ] && [ "${KEEP_STACK:-0}" != 1 ]; then
    # apps an `npm start` left on this stack would lose it: stop them first (never otherwise)
    bash tools/scripts/apps.sh stop >/dev/null 2>&1 || true
    if [ "${CQRS_INFRA_SOURCE:-}" = docker ]; then docker compose -p cqrs-test down -v || true
    else bash tools/local-stack/stack.sh down || true; fi
  fi
  exit $rc
}
trap cleanup EXIT

t0=$SECONDS
echo "==> provisioning test infrastructure"
eval "$(node tools/scripts/provision-infra.ts)"
echo "    infrastructure from: $CQRS_INFRA_SOURCE ($((SECONDS - t0))s)"
echo "==> removing leftovers of interrupted test runs (throwaway databases and their replication slots)"
node --disable-warning=MODULE_TYPELESS_PACKAGE_JSON tools/scripts/clean-test-leftovers.ts

echo "==> formatting (prettier --check; npm run format writes it)"
prettier --check . --log-level=warn
echo "==> lint, typecheck, unit tests"
nx run-many -t lint typecheck test --output-style=static --parallel=2
echo "==> generators (nx g @cqrs/plugin:… into a copy of the workspace, then lint, typecheck, unit tests)"
nx run plugin:generators --output-style=static
echo "==> integration tests (real Postgres, Kafka, registry, Connect)"
nx run-many -t int --output-style=static --parallel=1
echo "==> contract gate: schemas/ against the registry (npm run schemas:check)"
node tools/schemas/src/cli/check.mts
echo "==> end-to-end tests (built apps as processes)"
nx run-many -t e2e --output-style=static --parallel=1
echo "==> all tiers passed in $((SECONDS - t0))s"
