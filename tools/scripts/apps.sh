#!/usr/bin/env bash
# Starts, stops and reports on the four built apps and the web console as background processes against the stack
# whose settings are in .local-stack/env (or the environment). Used by `npm start` / `npm stop`.
#   apps.sh start | stop | status
#
# Each app runs as `node ... main.js` in dist/apps/<app> (the console: `node ... server.mjs` in
# dist/apps/console), in a session of its own; its pid file holds that node process's pid (the
# launcher execs node, so the pid it writes is node's). A pid counts only while that process is
# alive AND is this checkout's app (its working directory is dist/apps/<app> here and it runs its
# entry file): a stale file, or a recycled pid, is never trusted.
#
# The command and query services serve their API on their port and health, metrics and docs on a
# management port (COMMAND_SERVICE_MANAGEMENT_PORT 9000, QUERY_SERVICE_MANAGEMENT_PORT 9001); the
# relay has no API, its one port is its management port; the projector serves its admin API
# (/admin/cqrs, bearer token with the admin role) and its management endpoints on its one port. The apps run in
# development mode (NODE_ENV=development): in production they refuse the stack's development issuer.
#
# The console (apps/console, CONSOLE_PORT 4200) serves the web page and proxies /api/* to the apps
# on the ports above; development sign-in goes through the stack's issuer (OIDC_ISSUER_URL).
#
# Settings: COMMAND_SERVICE_PORT, QUERY_SERVICE_PORT, PROJECTOR_PORT, OUTBOX_RELAY_PORT (3000-3003), CONSOLE_PORT (4200),
# CQRS_STACK_STATE (pid files in run/, logs in logs/), APP_READY_TIMEOUT (s, 90),
# APP_STOP_TIMEOUT (s between SIGTERM and SIGKILL, 20).
set -euo pipefail
cd "$(dirname "$0")/../.."

ROOT=$PWD
STATE=${CQRS_STACK_STATE:-$ROOT/.local-stack}
RUN=$STATE/run LOGS=$STATE/logs
APPS=(command-service query-service projector outbox-relay console)
declare -A PORTS=([command-service]=${COMMAND_SERVICE_PORT:-3000} [query-service]=${QUERY_SERVICE_PORT:-3001} [projector]=${PROJECTOR_PORT:-3002} [outbox-relay]=${OUTBOX_RELAY_PORT:-3003} [console]=${CONSOLE_PORT:-4200})
declare -A MANAGEMENT_PORTS=([command-service]=${COMMAND_SERVICE_MANAGEMENT_PORT:-9000} [query-service]=${QUERY_SERVICE_MANAGEMENT_PORT:-9001} [projector]=${PORTS[projector]} [outbox-relay]=${PORTS[outbox-relay]} [console]=${PORTS[console]})
# What each one runs (in dist/apps/<app>) and where it says it is ready.
entry_of() { if [ "$1" = console ]; then echo server.mjs; else echo main.js; fi; }
ready_path() { if [ "$1" = console ]; then echo /healthz; else echo /health/ready; fi; }
READY_TIMEOUT=${APP_READY_TIMEOUT:-90}
STOP_TIMEOUT=${APP_STOP_TIMEOUT:-20}

pid_file() { echo "$RUN/$1.pid"; }

# True if pid $2 is alive and is app $1 of this checkout: node running its entry file in
# dist/apps/<app>, or in the folder a rebuild has since replaced (cwd shows " (deleted)").
is_app_process() {
  local app=$1 pid=$2 cwd
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || return 1
  [[ $cwd == "$ROOT/dist/apps/$app" || $cwd == "$ROOT/dist/apps/$app (deleted)" ]] || return 1
  local cmdline
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *" $(entry_of "$app") "* ]]
}

# The app's pid from its pid file, if that process is the app.
pid_of() {
  local pid
  pid=$(cat "$(pid_file "$1")" 2>/dev/null) || return 1
  is_app_process "$1" "$pid" && echo "$pid"
}

# A pid file whose process is not the app (it died, or the pid was reused): removed, and said.
drop_stale_pid_file() {
  local file pid
  file=$(pid_file "$1")
  [ -f "$file" ] || return 0
  pid=$(<"$file")
  rm -f "$file"
  echo "$1: stale pid file removed (pid ${pid:-?} is not running this app)"
}

# The identity of an app's current build, recorded at launch in run/<app>.build. Nx (without its
# daemon) restores dist/ from its cache on every build, so the folder is always "new": what
# tells whether the code changed is the bundle's content.
# (The console's page is its index.html, which names every hashed asset.)
build_id() {
  local files=("dist/apps/$1/$(entry_of "$1")")
  [ "$1" != console ] || files+=(dist/apps/console/public/index.html)
  cat "${files[@]}" 2>/dev/null | sha256sum | cut -c1-64
}
is_stale_build() { [ "$(cat "$RUN/$1.build" 2>/dev/null)" != "$(build_id "$1")" ]; }

# The pid listening on a TCP port (any local address), if any; prints nothing otherwise.
listener_of() {
  local line
  line=$(ss -ltnpH "sport = :$1" 2>/dev/null) || true
  [[ $line =~ pid=([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
  return 0
}

# The app's process: from its pid file, or found on its port without one (a process an older
# script, or a lost pid file, left behind).
find_app() {
  local app=$1 pid
  if pid=$(pid_of "$app"); then echo "$pid"; return 0; fi
  pid=$(listener_of "${PORTS[$app]}")
  [ -n "$pid" ] && is_app_process "$app" "$pid" && echo "$pid"
}

# Each app's own identity on Kafka and the schema registry (the stack's ACLs are per identity).
declare -A IDENTITIES=([command-service]=cqrs-command [query-service]=cqrs-query [projector]=cqrs-projector [outbox-relay]=cqrs-relay [console]=)

# The arguments of env(1) an app starts with, in APP_ENV: the role-specific database URL of the
# stack it runs against and, on a stack with per-identity secrets (CQRS_STACK_SECRETS, from its env
# file), its own identity instead of the admin's the env file gives tools and tests: Kafka
# credentials for the apps that use Kafka (projector, relay), registry credentials for those that
# use the registry (command service, projector), none at all for the others. Without stack
# secrets the environment's own settings pass through unchanged.
app_env() {
  local app=$1 user=${IDENTITIES[$1]} secrets=${CQRS_STACK_SECRETS:-}
  case $app in
    command-service) APP_ENV=("DATABASE_URL=${WRITE_DATABASE_URL:-}" "MANAGEMENT_PORT=${MANAGEMENT_PORTS[$app]}") ;;
    query-service) APP_ENV=("DATABASE_URL=${QUERY_DATABASE_URL:-}" "MANAGEMENT_PORT=${MANAGEMENT_PORTS[$app]}") ;;
    # The projector also reads the event store (rebuilds, reconciliation), as the same role; an
    # environment without the variable (an older env file) leaves the app its local default. Its
    # admin API takes the stack issuer's tokens (OIDC_ISSUER_URL, OIDC_AUDIENCE from the
    # environment, as the APIs do); on this development stack it may also rebuild, with the read
    # database's owner (ADMIN_REBUILD_DATABASE_URL), which deployments leave unset by default.
    projector)
      APP_ENV=("DATABASE_URL=${READ_DATABASE_URL:-}")
      [ -z "${EVENT_STORE_DATABASE_URL:-}" ] || APP_ENV+=("EVENT_STORE_DATABASE_URL=$EVENT_STORE_DATABASE_URL")
      [ -z "${MIGRATIONS_READ_DATABASE_URL:-}" ] || APP_ENV+=("ADMIN_REBUILD_DATABASE_URL=$MIGRATIONS_READ_DATABASE_URL")
      ;;
    outbox-relay) APP_ENV=("DATABASE_URL=${RELAY_DATABASE_URL:-}") ;;
    # The console holds no credentials: it proxies the browser's requests (with their tokens).
    console)
      APP_ENV=("CONSOLE_PORT=${PORTS[console]}"
        "CONSOLE_COMMANDS_URL=http://127.0.0.1:${PORTS[command-service]}"
        "CONSOLE_COMMANDS_MANAGEMENT_URL=http://127.0.0.1:${MANAGEMENT_PORTS[command-service]}"
        "CONSOLE_QUERIES_URL=http://127.0.0.1:${PORTS[query-service]}"
        "CONSOLE_QUERIES_MANAGEMENT_URL=http://127.0.0.1:${MANAGEMENT_PORTS[query-service]}"
        "CONSOLE_ADMIN_URL=http://127.0.0.1:${PORTS[projector]}"
        "CONSOLE_RELAY_URL=http://127.0.0.1:${PORTS[outbox-relay]}"
        "CONSOLE_DEV_ISSUER_URL=${OIDC_ISSUER_URL:-}")
      return 0
      ;;
  esac
  [ -n "$secrets" ] || return 0
  # env(1) takes its -u options before the assignments.
  local name unset=()
  for name in KAFKA_SASL_USERNAME KAFKA_SASL_PASSWORD KAFKA_SASL_PASSWORD_FILE \
    SCHEMA_REGISTRY_USERNAME SCHEMA_REGISTRY_PASSWORD SCHEMA_REGISTRY_PASSWORD_FILE SCHEMA_REGISTRY_TOKEN SCHEMA_REGISTRY_TOKEN_FILE; do
    unset+=(-u "$name")
  done
  APP_ENV=("${unset[@]}" "${APP_ENV[@]}")
  case $app in
    projector | outbox-relay) APP_ENV+=("KAFKA_SASL_USERNAME=$user" "KAFKA_SASL_PASSWORD_FILE=$secrets/kafka-$user.password") ;;
  esac
  case $app in
    command-service | projector) APP_ENV+=("SCHEMA_REGISTRY_USERNAME=$user" "SCHEMA_REGISTRY_PASSWORD_FILE=$secrets/registry-$user.password") ;;
  esac
}

# Whether app $1 can be launched: its build exists and no other process holds its port.
can_launch() {
  local app=$1 port holder
  [ -f "dist/apps/$app/$(entry_of "$app")" ] || { echo "error: dist/apps/$app/$(entry_of "$app") missing; run 'npm run build'" >&2; return 1; }
  for port in $(printf '%s\n' "${PORTS[$app]}" "${MANAGEMENT_PORTS[$app]}" | sort -u); do
    holder=$(listener_of "$port")
    if [ -n "$holder" ]; then
      echo "error: $app cannot start: port $port is taken by pid $holder ($(tr '\0' ' ' <"/proc/$holder/cmdline" 2>/dev/null | cut -c1-100)); stop it or choose another port ($(port_var "$app"))" >&2
      return 1
    fi
  done
}

launch() {
  local app=$1 port=${PORTS[$1]}
  printf '\n===== %s: starting %s on port %s =====\n' "$(date -Is)" "$app" "$port" >>"$LOGS/$app.log"
  build_id "$app" >"$RUN/$app.build"
  local APP_ENV=()
  app_env "$app"
  # The container image's command: OpenTelemetry first, then the app (OTEL_* from the environment).
  # setsid: a session of its own (no terminal hang-up, stop signals the whole group); the launcher
  # writes its own pid and execs node, so the pid file holds node's pid.
  local command=(node --enable-source-maps --import ./instrumentation.js main.js)
  [ "$app" != console ] || command=(node --enable-source-maps server.mjs)
  (cd "dist/apps/$app" && exec env "${APP_ENV[@]}" PORT="$port" NODE_ENV=development \
    setsid bash -c 'echo $$ >"$0" && exec "$@"' "$(pid_file "$app")" \
    "${command[@]}" >>"$LOGS/$app.log" 2>&1 </dev/null &)
  for _ in $(seq 1 50); do [ -s "$(pid_file "$app")" ] && break; sleep 0.1; done
}

port_var() {
  case $1 in
    command-service) echo COMMAND_SERVICE_PORT or COMMAND_SERVICE_MANAGEMENT_PORT ;; query-service) echo QUERY_SERVICE_PORT or QUERY_SERVICE_MANAGEMENT_PORT ;;
    projector) echo PROJECTOR_PORT ;; outbox-relay) echo OUTBOX_RELAY_PORT ;; console) echo CONSOLE_PORT ;;
  esac
}

start() {
  mkdir -p "$RUN" "$LOGS"
  if [ -f "$STATE/env" ]; then set -a; source "$STATE/env"; set +a; fi
  local app pid failed=0 to_launch=()
  for app in "${APPS[@]}"; do
    if pid=$(find_app "$app"); then
      if is_stale_build "$app"; then
        echo "$app runs an older build: restarting it"
        stop_app "$app" "$pid" || { failed=1; continue; }
      else
        echo "$app already running (pid $pid)"
        echo "$pid" >"$(pid_file "$app")"
        continue
      fi
    else
      drop_stale_pid_file "$app"
    fi
    to_launch+=("$app")
  done
  # Every port is checked before anything starts: a start that cannot finish starts nothing.
  for app in "${to_launch[@]}"; do can_launch "$app" || failed=1; done
  [ "$failed" = 0 ] || exit 1
  for app in "${to_launch[@]}"; do launch "$app"; done
  local deadline=$((SECONDS + READY_TIMEOUT))
  for app in "${APPS[@]}"; do
    until curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:${MANAGEMENT_PORTS[$app]}$(ready_path "$app")"; do
      if ! pid_of "$app" >/dev/null; then
        echo "error: $app exited during start-up; last lines of $LOGS/$app.log:" >&2
        tail -n 20 "$LOGS/$app.log" >&2
        exit 1
      fi
      if ((SECONDS > deadline)); then
        echo "error: $app did not become ready within ${READY_TIMEOUT}s (it keeps running; npm stop stops it); last lines of $LOGS/$app.log:" >&2
        tail -n 20 "$LOGS/$app.log" >&2
        exit 1
      fi
      sleep 0.5
    done
  done
  status
}

# SIGTERM to the app's process group, SIGKILL after STOP_TIMEOUT; says what happened.
stop_app() {
  local app=$1 pid=$2 t0=$SECONDS
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 $((STOP_TIMEOUT * 5))); do
    kill -0 "$pid" 2>/dev/null || { echo "$app stopped (pid $pid, $((SECONDS - t0))s)"; return 0; }
    sleep 0.2
  done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 25); do
    kill -0 "$pid" 2>/dev/null || { echo "$app killed (pid $pid did not stop within ${STOP_TIMEOUT}s of SIGTERM)"; return 0; }
    sleep 0.2
  done
  echo "error: $app (pid $pid) is still running after SIGKILL" >&2
  return 1
}

# All apps at once (each one's SIGTERM-then-SIGKILL runs beside the others').
stop() {
  local app pid rc=0 jobs=()
  mkdir -p "$RUN"
  for app in "${APPS[@]}"; do
    if pid=$(find_app "$app"); then
      stop_app "$app" "$pid" &
      jobs+=($!)
    else
      drop_stale_pid_file "$app"
      echo "$app was not running"
    fi
  done
  for pid in "${jobs[@]}"; do wait "$pid" || rc=1; done
  for app in "${APPS[@]}"; do rm -f "$(pid_file "$app")" "$RUN/$app.build"; done
  return $rc
}

# up: the app's process is alive and listens on its port; starting: alive, not listening yet;
# down: no process (a port held by something else is named).
status() {
  local app pid port holder rc=0
  for app in "${APPS[@]}"; do
    port=${PORTS[$app]}
    holder=$(listener_of "$port")
    if pid=$(find_app "$app"); then
      if [ "$holder" = "$pid" ]; then
        local management=""
        [ "${MANAGEMENT_PORTS[$app]}" != "$port" ] && management="  management http://127.0.0.1:${MANAGEMENT_PORTS[$app]}"
        printf '%-16s up        http://127.0.0.1:%s%s  (pid %s, log %s)\n' "$app" "$port" "$management" "$pid" "$LOGS/$app.log"
      else
        printf '%-16s starting  port %s not listening yet (pid %s, log %s)\n' "$app" "$port" "$pid" "$LOGS/$app.log"; rc=1
      fi
    elif [ -n "$holder" ]; then
      printf '%-16s down      port %s is taken by another process (pid %s)\n' "$app" "$port" "$holder"; rc=1
    elif [ -f "$(pid_file "$app")" ]; then
      printf '%-16s down      (stale pid file: pid %s is not running this app)\n' "$app" "$(<"$(pid_file "$app")")"; rc=1
    else
      printf '%-16s down\n' "$app"; rc=1
    fi
  done
  return $rc
}

case ${1:-status} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
