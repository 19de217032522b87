#!/usr/bin/env bash
# Starts, stops and reports on the four built apps as background processes against the stack
# whose settings are in .local-stack/env (or the environment). Used by `npm start` / `npm stop`.
#   apps.sh start | stop | status
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/scripts/lib.sh

STATE=${CQRS_STACK_STATE:-$PWD/.local-stack}
RUN=$STATE/run LOGS=$STATE/logs
mkdir -p "$RUN" "$LOGS"
APPS=(command-service query-service projector outbox-relay)
declare -A PORTS=([command-service]=${COMMAND_SERVICE_PORT:-3000} [query-service]=${QUERY_SERVICE_PORT:-3001} [projector]=${PROJECTOR_PORT:-3002} [outbox-relay]=${OUTBOX_RELAY_PORT:-3003})

pid_of() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null && cat "$RUN/$1.pid"; }

# Each app gets the role-specific database URL of the stack it runs against.
app_env() {
  case $1 in
    command-service) echo "DATABASE_URL=${WRITE_DATABASE_URL:-}" ;;
    query-service) echo "DATABASE_URL=${QUERY_DATABASE_URL:-}" ;;
    projector) echo "DATABASE_URL=${READ_DATABASE_URL:-}" ;;
    outbox-relay) echo "DATABASE_URL=${RELAY_DATABASE_URL:-}" ;;
  esac
}

start() {
  [ -f "$STATE/env" ] && set -a && source "$STATE/env" && set +a
  for app in "${APPS[@]}"; do
    if pid=$(pid_of "$app"); then echo "$app already running (pid $pid)"; continue; fi
    [ -f "dist/apps/$app/main.js" ] || { echo "error: dist/apps/$app/main.js missing; run 'npm run build'" >&2; exit 1; }
    # the container image's command: OpenTelemetry first, then the app (OTEL_* from the environment)
    (cd "dist/apps/$app" && env $(app_env "$app") PORT="${PORTS[$app]}" NODE_ENV=production \
      setsid nohup node --enable-source-maps --import ./instrumentation.js main.js >"$LOGS/$app.log" 2>&1 < /dev/null & echo $! >"$RUN/$app.pid")
  done
  for app in "${APPS[@]}"; do
    if ! wait_http "http://127.0.0.1:${PORTS[$app]}/health/ready" 90; then
      echo "error: $app did not become ready; last lines of $LOGS/$app.log:" >&2
      tail -n 20 "$LOGS/$app.log" >&2
      exit 1
    fi
  done
  status
}

stop() {
  for app in "${APPS[@]}"; do
    if pid=$(pid_of "$app"); then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -KILL "$pid" 2>/dev/null || true
      echo "$app stopped"
    fi
    rm -f "$RUN/$app.pid"
  done
}

status() {
  local all=0
  for app in "${APPS[@]}"; do
    if pid=$(pid_of "$app"); then
      printf '%-16s up    http://127.0.0.1:%s  (pid %s, log %s)\n' "$app" "${PORTS[$app]}" "$pid" "$LOGS/$app.log"
    else
      printf '%-16s down\n' "$app"; all=1
    fi
  done
  return $all
}

case ${1:-status} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
