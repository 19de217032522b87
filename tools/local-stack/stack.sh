#!/usr/bin/env bash
# Native local infrastructure for the CQRS starter, without Docker:
#   postgres         PostgreSQL (OS packages), dedicated instance, wal_level=logical
#   kafka            Apache Kafka 4.1.1, KRaft, single combined broker+controller (Maven Central jars)
#   schema-registry  Apicurio Registry 3.0.9, Confluent-compatible API at /apis/ccompat/v7
#   connect          Kafka Connect 4.1.1 distributed worker + Debezium PostgreSQL connector 3.4.3.Final
#   issuer           the development OIDC issuer (tools/dev-issuer, on node_modules' Node 24): signs the
#                    access tokens the apps accept locally (`npm run token -- alice --role admin`)
#
# Usage: tools/local-stack/stack.sh <command>
#   up                  start everything (idempotent), wait until each service answers
#   down [--purge]      stop everything (SIGTERM, wait, SIGKILL); --purge also deletes all data (and the issuer's key)
#   reset               same as `down --purge`
#   status              one line per service; exit 0 only if all are up
#   env                 print the env file for consumers (.local-stack/env)
#   logs <service>      follow a service log
#   psql [role] [db]    psql as a stack role (default cqrs_admin / postgres)
#   kafka-topics <args>           org.apache.kafka.tools.TopicCommand (bootstrap server added)
#   kafka-console-producer <args> org.apache.kafka.tools.ConsoleProducer
#   kafka-console-consumer <args> org.apache.kafka.tools.consumer.ConsoleConsumer
#   kafka-run-class <main> <args> any main class on the broker classpath
#   restart-kafka       stop (SIGTERM) and start only the Kafka broker, for fault tests
#   stop-service <postgres|kafka|schema-registry|issuer>   stop one service, the others keep running (fault tests)
#   start-service <postgres|kafka|schema-registry|issuer>  start it again and wait until it answers
#
# See tools/local-stack/README.md for ports, environment variables and versions.
set -euo pipefail

# ------------------------------------------------------------------ settings
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel 2>/dev/null || (cd "$SCRIPT_DIR/../.." && pwd))"

STATE="${CQRS_STACK_STATE:-$REPO_ROOT/.local-stack}"
CACHE="${CQRS_STACK_CACHE:-$HOME/.cache/cqrs-local-stack}"
TIMEOUT="${CQRS_STACK_TIMEOUT:-180}"           # seconds to wait for each service
STOP_TIMEOUT="${CQRS_STACK_STOP_TIMEOUT:-30}"  # seconds between SIGTERM and SIGKILL

PG_PORT="${CQRS_PG_PORT:-5433}"
KAFKA_PORT="${CQRS_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${CQRS_KAFKA_CONTROLLER_PORT:-9093}"
CONNECT_PORT="${CQRS_CONNECT_PORT:-8083}"
REGISTRY_PORT="${CQRS_REGISTRY_PORT:-8081}"
ISSUER_PORT="${CQRS_ISSUER_PORT:-8090}"
HOST=127.0.0.1

KAFKA_VERSION=4.1.1                               # keep equal to maven/*/pom.xml and Debezium's version.kafka
DEBEZIUM_VERSION="${CQRS_DEBEZIUM_VERSION:-3.4.3.Final}"
APICURIO_VERSION="${CQRS_APICURIO_VERSION:-3.0.9}" # 3.1.x/3.2.x dists are not on Maven Central; 3.3.x needs Java 21+
MVN_DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
# Apicurio's app POM names a parent (io.apicurio:apicurio-registry:<v>) that is not on Maven Central;
# maven-dependency-plugin >= 3.0 reads that descriptor and fails, 2.10 just fetches the archive.
MVN_DEP_PLUGIN_LEGACY="org.apache.maven.plugins:maven-dependency-plugin:2.10"

# Registry storage: "file" (H2 database under the state dir: schemas survive `down`/`up`
# like the Kafka topics that reference their ids) or "mem" (H2 in memory, lost on stop).
REGISTRY_STORAGE="${CQRS_REGISTRY_STORAGE:-file}"

# Local-only credentials (see postgres/init.sql). Never reuse outside a developer machine/CI.
DB_PASSWORD=cqrs

LOG_DIR="$STATE/logs"
RUN_DIR="$STATE/run"
KAFKA_LIBS="$CACHE/kafka-$KAFKA_VERSION/libs"
CONNECT_LIBS="$CACHE/connect-$KAFKA_VERSION/libs"
CONNECT_PLUGINS="$CACHE/connect-plugins/debezium-$DEBEZIUM_VERSION"
APICURIO_HOME="$CACHE/apicurio-registry-$APICURIO_VERSION"
# The project's own Node 24 (the `node` devDependency): the issuer is TypeScript that Node runs as is.
NODE="$REPO_ROOT/node_modules/.bin/node"

SERVICES=(postgres kafka schema-registry connect issuer)

# ------------------------------------------------------------------ helpers
info() { printf '[stack] %s\n' "$*"; }
warn() { printf '[stack] WARNING: %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }
is_root() { [[ $EUID -eq 0 ]]; }
now() { date +%s; }

log_file() { printf '%s/%s.log' "$LOG_DIR" "$1"; }
pid_file() { printf '%s/%s.pid' "$RUN_DIR" "$1"; }
# A marker on the command line of each process we start (a JVM system property; the issuer's CLI
# ignores it), so a pid is only "ours" if it carries it (no pid-reuse surprises).
marker() { printf -- '-Dcqrs.local.stack=%s@%s' "$1" "$STATE"; }

port_of() {
  case "$1" in
    postgres) echo "$PG_PORT" ;;
    kafka) echo "$KAFKA_PORT" ;;
    schema-registry) echo "$REGISTRY_PORT" ;;
    connect) echo "$CONNECT_PORT" ;;
    issuer) echo "$ISSUER_PORT" ;;
  esac
}

tcp_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
http_ok() { curl -fsS -o /dev/null --max-time 5 "$1" 2>/dev/null; }

show_log_tail() {
  local f; f="$(log_file "$1")"
  if [[ -f $f ]]; then
    printf '[stack] ---- last lines of %s ----\n' "$f" >&2
    tail -n 25 "$f" >&2 || true
    printf '[stack] ---- end of %s ----\n' "$f" >&2
  fi
}

fail_service() { # service message
  show_log_tail "$1"
  die "$1: $2 (full log: $(log_file "$1"))"
}

rotate_log() {
  local f; f="$(log_file "$1")"
  if [[ -f $f ]] && (($(stat -c %s "$f") > 50 * 1024 * 1024)); then mv -f "$f" "$f.1"; fi
  printf '\n===== %s: starting %s =====\n' "$(date -Is)" "$1" >>"$f"
}

ensure_state_dirs() {
  mkdir -p "$STATE" "$LOG_DIR" "$RUN_DIR" "$CACHE"
  # The state dir ignores itself, so nothing in it is ever committed even without a root .gitignore entry.
  [[ -f $STATE/.gitignore ]] || printf '# runtime state of tools/local-stack/stack.sh\n*\n' >"$STATE/.gitignore"
}

find_java() { # version-floor [explicit]
  local floor="$1" java="${2:-}"
  if [[ -z $java ]]; then
    if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then java="$JAVA_HOME/bin/java"
    elif command -v java >/dev/null; then java="$(command -v java)"
    else die "no java found: install a JDK >= $floor (apt-get install -y openjdk-17-jre-headless) or set CQRS_JAVA"; fi
  fi
  [[ -d $java && -x $java/bin/java ]] && java="$java/bin/java" # a JDK home was given
  [[ -x $java ]] || die "java not executable: $java"
  local v
  v="$("$java" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/{print $2}')"
  [[ -n $v ]] && ((${v%%.*} >= floor)) || die "$java is Java ${v:-?}; need >= $floor"
  printf '%s' "$java"
}

JAVA=""
REGISTRY_JAVA=""
init_java() {
  [[ -n $JAVA ]] && return 0
  JAVA="$(find_java 17 "${CQRS_JAVA:-}")"
  local floor=17
  [[ $APICURIO_VERSION =~ ^3\.[0-1]\. ]] || floor=21 # Apicurio >= 3.2 needs Java 21+
  REGISTRY_JAVA="$(find_java "$floor" "${CQRS_APICURIO_JAVA:-${CQRS_JAVA:-}}")"
}

# pid of a service we started (a JVM, the issuer) if alive and carrying our marker
marked_pid() {
  local pf pid; pf="$(pid_file "$1")"
  [[ -f $pf ]] || return 1
  pid="$(<"$pf")"
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$(marker "$1")" || return 1
  printf '%s' "$pid"
}

# Start a command detached (own session, stdin closed, output to the service log); record its pid.
start_detached() { # service cmd...
  local svc="$1"; shift
  rotate_log "$svc"
  # 9>&- : the daemon must not inherit the stack lock (see with_lock)
  setsid "$@" >>"$(log_file "$svc")" 2>&1 </dev/null 9>&- &
  echo $! >"$(pid_file "$svc")"
}

# Serialises up/down across processes (parallel test runners may all ask for the stack at once).
with_lock() {
  ensure_state_dirs
  exec 9>"$STATE/.stack.lock"
  flock 9
  "$@"
}

# Stop by pid: SIGTERM (or given signal), wait, SIGKILL.
stop_pid() { # service pid [signal]
  local svc="$1" pid="$2" sig="${3:-TERM}" i
  kill -s "$sig" "$pid" 2>/dev/null || return 0
  for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  warn "$svc (pid $pid) did not stop within ${STOP_TIMEOUT}s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
}

refuse_foreign_port() { # service port
  if tcp_open "$2"; then
    die "$1: port $2 is already in use by another process ($(ss -ltnpH "sport = :$2" 2>/dev/null | sed -E 's/.*users:\(\((.*)\)\).*/\1/' | head -1)). Stop it or set CQRS_*_PORT."
  fi
}

wait_until() { # service pid-fn check-fn description
  local svc="$1" pidfn="$2" check="$3" what="$4" start; start="$(now)"
  while true; do
    if "$check"; then return 0; fi
    "$pidfn" >/dev/null || fail_service "$svc" "process exited while waiting for $what"
    (($(now) - start >= TIMEOUT)) && fail_service "$svc" "no $what after ${TIMEOUT}s"
    sleep 1
  done
}

# ------------------------------------------------------------------ downloads (cached outside the repo)
mvn_run() { # log-name args...
  command -v mvn >/dev/null || die "maven (mvn) is needed to fetch jars from Maven Central: apt-get install -y maven"
  local log="$LOG_DIR/maven-$1.log"; shift
  if ! mvn -B -q "$@" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "maven failed (full log: $log)"
  fi
}

cache_key() { # files... -> key of their content + versions
  { cat "$@"; echo "$KAFKA_VERSION $DEBEZIUM_VERSION $APICURIO_VERSION $MVN_DEP_PLUGIN"; } | sha256sum | cut -c1-16
}

fetch_libs() { # name pom dest
  local name="$1" pom="$2" dest="$3" key; key="$(cache_key "$pom")"
  [[ -f $dest/.complete && "$(<"$dest/.complete")" == "$key" ]] && return 0
  info "fetching $name jars from Maven Central into $dest"
  rm -rf "$dest.tmp"
  mkdir -p "$(dirname "$dest")"
  mvn_run "$name" -f "$pom" "$MVN_DEP_PLUGIN:copy-dependencies" -DincludeScope=runtime \
    -DoutputDirectory="$dest.tmp"
  rm -rf "$dest" && mv "$dest.tmp" "$dest" && echo "$key" >"$dest/.complete"
}

fetch_unpack() { # name artifact dest [plugin]
  local name="$1" artifact="$2" dest="$3" plugin="${4:-$MVN_DEP_PLUGIN}" key
  key="$(echo "$artifact" | sha256sum | cut -c1-16)"
  [[ -f $dest/.complete && "$(<"$dest/.complete")" == "$key" ]] && return 0
  info "fetching $artifact from Maven Central into $dest"
  rm -rf "$dest.tmp"
  mkdir -p "$(dirname "$dest")"
  # Without a pom the plugin writes its "already unpacked" markers under a literal
  # `${project.basedir}/target` in the working directory: run it in the cache, and unpack
  # regardless of old markers (the .complete key above is what decides).
  (cd "$(dirname "$dest")" && mvn_run "$name" "$plugin:unpack" -Dartifact="$artifact" -DoutputDirectory="$dest.tmp" -Dmdep.overWriteReleases=true)
  rm -rf "$dest.tmp/PaxHeaders.X" # tar pax-header debris some plexus-archiver versions leave behind
  rm -rf "$dest" && mv "$dest.tmp" "$dest" && echo "$key" >"$dest/.complete"
}

fetch_kafka() { fetch_libs kafka "$SCRIPT_DIR/maven/kafka/pom.xml" "$KAFKA_LIBS"; }
fetch_connect() {
  fetch_libs connect "$SCRIPT_DIR/maven/connect/pom.xml" "$CONNECT_LIBS"
  fetch_unpack debezium "io.debezium:debezium-connector-postgres:$DEBEZIUM_VERSION:tar.gz:plugin" "$CONNECT_PLUGINS"
}
fetch_apicurio() { fetch_unpack apicurio "io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" "$APICURIO_HOME" "$MVN_DEP_PLUGIN_LEGACY"; }

# ------------------------------------------------------------------ postgres
PG_BIN=""
PG_OS_USER=""
PG_BASE=""
PGDATA_DIR=""
PG_SOCK=""

pg_init_vars() {
  [[ -n $PG_BASE ]] && return 0
  if is_root; then
    PG_OS_USER=postgres
    PG_BASE="${CQRS_PG_BASE:-/var/lib/postgresql/cqrs-stack-$PG_PORT}" # the postgres OS user must reach it
  else
    PG_OS_USER="$(id -un)"
    PG_BASE="${CQRS_PG_BASE:-$STATE/postgres}"
  fi
  PGDATA_DIR="$PG_BASE/data"
  PG_SOCK="$PG_BASE/run"
}

pg_find_bin() { # [--no-install]
  [[ -n $PG_BIN ]] && return 0
  if [[ -n ${CQRS_PG_BIN:-} ]]; then PG_BIN="$CQRS_PG_BIN"; return 0; fi
  local want="" d
  [[ -f $PGDATA_DIR/PG_VERSION ]] && want="$(<"$PGDATA_DIR/PG_VERSION")"
  if [[ -n $want && -x /usr/lib/postgresql/$want/bin/initdb ]]; then PG_BIN="/usr/lib/postgresql/$want/bin"; return 0; fi
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [[ -z $d || ! -x $d/initdb ]]; then
    [[ ${1:-} == --no-install ]] && return 1
    is_root || die "PostgreSQL server binaries not found: run 'sudo apt-get install -y postgresql'"
    info "installing PostgreSQL from the OS packages"
    DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >"$LOG_DIR/apt-postgresql.log" 2>&1 ||
      { apt-get update >>"$LOG_DIR/apt-postgresql.log" 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >>"$LOG_DIR/apt-postgresql.log" 2>&1; } ||
      die "apt-get install postgresql failed (log: $LOG_DIR/apt-postgresql.log)"
    d="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  fi
  [[ -n $want && $d != "/usr/lib/postgresql/$want/bin" ]] &&
    die "data dir $PGDATA_DIR is PostgreSQL $want but only $d is installed; run '$0 reset' for a fresh cluster"
  PG_BIN="$d"
}

# Run as the OS user that owns the cluster (postgres when we are root).
as_pg() {
  if is_root; then
    (cd / && HOME=/var/lib/postgresql setpriv --reuid="$PG_OS_USER" --regid="$PG_OS_USER" --init-groups -- "$@")
  else
    "$@"
  fi
}

pg_pid() {
  pg_init_vars
  local pid
  [[ -f $PGDATA_DIR/postmaster.pid ]] || return 1
  pid="$(head -n 1 "$PGDATA_DIR/postmaster.pid" 2>/dev/null)"
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  printf '%s' "$pid"
}

# The postmaster, or (during startup, before postmaster.pid exists) the process we launched.
pg_alive() {
  pg_pid && return 0
  local pid
  [[ -f $RUN_DIR/postgres.pid ]] && pid="$(<"$RUN_DIR/postgres.pid")" && [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

pg_ready() { "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PG_PORT" -d postgres -t 2 >/dev/null 2>&1; }

pg_super_psql() { # psql as the bootstrap superuser over the private unix socket
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -U postgres "$@"
}

pg_write_config() {
  local conf="$PGDATA_DIR/cqrs-stack.conf" hba="$PGDATA_DIR/pg_hba.conf" tmp
  tmp="$(mktemp)"
  cat >"$tmp" <<EOF
# Written by tools/local-stack/stack.sh on every start; edit the script, not this file.
port = $PG_PORT
listen_addresses = '$HOST'
unix_socket_directories = '$PG_SOCK'
unix_socket_permissions = 0700
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
max_connections = 200
fsync = on
# Checkpoints by time, not by WAL volume: with the 1 GB default a bench or a rebuild forced one
# every few seconds, and each stalls commits while it syncs (p99 spikes of 200-800 ms at
# 500 commands/s). 24 GiB leave room for more than the 128 MB default of shared buffers.
max_wal_size = 8GB
checkpoint_timeout = 15min
shared_buffers = 512MB
password_encryption = 'scram-sha-256'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_timezone = 'UTC'
timezone = 'UTC'
EOF
  install -m 0600 "$tmp" "$conf"
  # Local socket: trust, but the socket dir is 0700 and owned by the cluster's OS user.
  # TCP (127.0.0.1 only): SCRAM passwords for every database and for replication connections.
  cat >"$tmp" <<EOF
# Written by tools/local-stack/stack.sh on every start; edit the script, not this file.
# TYPE  DATABASE     USER  ADDRESS       METHOD
local   all          all                 trust
host    all          all   127.0.0.1/32  scram-sha-256
host    replication  all   127.0.0.1/32  scram-sha-256
EOF
  install -m 0600 "$tmp" "$hba"
  rm -f "$tmp"
  is_root && chown "$PG_OS_USER:" "$conf" "$hba"
  grep -q "include_if_exists = 'cqrs-stack.conf'" "$PGDATA_DIR/postgresql.conf" ||
    echo "include_if_exists = 'cqrs-stack.conf'" >>"$PGDATA_DIR/postgresql.conf"
}

pg_up() {
  pg_init_vars
  pg_find_bin
  local pid
  if pid="$(pg_pid)"; then
    info "postgres already running (pid $pid, port $PG_PORT)"
  else
    refuse_foreign_port postgres "$PG_PORT"
    if is_root; then
      install -d -o "$PG_OS_USER" -g "$PG_OS_USER" -m 0700 "$PG_BASE" "$PG_SOCK"
    else
      install -d -m 0700 "$PG_BASE" "$PG_SOCK"
    fi
    if [[ ! -f $PGDATA_DIR/PG_VERSION ]]; then
      info "postgres: initdb $PGDATA_DIR ($("$PG_BIN/postgres" --version))"
      rotate_log postgres
      as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >>"$(log_file postgres)" 2>&1 ||
        fail_service postgres "initdb failed"
    fi
    pg_write_config
    rm -f "$RUN_DIR/postgres.pid"
    if is_root; then
      start_detached postgres setpriv --reuid="$PG_OS_USER" --regid="$PG_OS_USER" --init-groups -- \
        env HOME=/var/lib/postgresql "$PG_BIN/postgres" -D "$PGDATA_DIR"
    else
      start_detached postgres "$PG_BIN/postgres" -D "$PGDATA_DIR"
    fi
  fi
  wait_until postgres pg_alive pg_ready "connections on $HOST:$PG_PORT"
  pg_pid >"$RUN_DIR/postgres.pid"
  # Roles and databases: init.sql is idempotent; (re)run it whenever it changed.
  local key marker_file="$PGDATA_DIR/cqrs-init.sha"
  key="$(sha256sum <"$SCRIPT_DIR/postgres/init.sql" | cut -c1-64)"
  if [[ ! -f $marker_file || "$(cat "$marker_file" 2>/dev/null)" != "$key" ]]; then
    info "postgres: applying tools/local-stack/postgres/init.sql"
    pg_super_psql -d postgres -f - <"$SCRIPT_DIR/postgres/init.sql" >>"$(log_file postgres)" 2>&1 ||
      fail_service postgres "init.sql failed"
    echo "$key" >"$marker_file"
    is_root && chown "$PG_OS_USER:" "$marker_file"
  fi
  PGPASSWORD="$DB_PASSWORD" "$PG_BIN/psql" -X -q -h "$HOST" -p "$PG_PORT" -U cqrs_admin -d cqrs_write -tAc 'select 1' >/dev/null 2>&1 ||
    fail_service postgres "cqrs_admin cannot run a query on cqrs_write over TCP"
  info "postgres ready on $HOST:$PG_PORT (pid $(pg_pid))"
}

pg_down() {
  pg_init_vars
  local pid
  if pid="$(pg_pid)"; then
    pg_find_bin
    info "stopping postgres (pid $pid)"
    as_pg "$PG_BIN/pg_ctl" stop -D "$PGDATA_DIR" -m fast -w -t "$STOP_TIMEOUT" >/dev/null 2>&1 ||
      { warn "postgres fast shutdown timed out; immediate shutdown"; stop_pid postgres "$pid" QUIT; }
  fi
  rm -f "$RUN_DIR/postgres.pid"
}

# ------------------------------------------------------------------ kafka
KAFKA_DIR() { printf '%s/kafka' "$STATE"; }

kafka_java() { # main args... (CLI tools; quiet logging)
  init_java
  fetch_kafka
  "$JAVA" -Xmx256m -Dlog4j2.configurationFile="$SCRIPT_DIR/config/log4j2-tools.properties" \
    -cp "$KAFKA_LIBS/*" "$@"
}

kafka_write_config() {
  local d; d="$(KAFKA_DIR)"
  mkdir -p "$d/data"
  cat >"$d/server.properties" <<EOF
# Written by tools/local-stack/stack.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$d/data
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Kept on for now (Debezium heartbeat topics, ad-hoc tests); apps create their topics explicitly.
auto.create.topics.enable=true
delete.topic.enable=true
log.retention.hours=168
EOF
}

kafka_pid() { marked_pid kafka; }
kafka_tcp() { tcp_open "$KAFKA_PORT"; }
kafka_metadata_ok() {
  kafka_tcp || return 1
  timeout 30 "$JAVA" -Xmx128m -Dlog4j2.configurationFile="$SCRIPT_DIR/config/log4j2-tools.properties" \
    -cp "$KAFKA_LIBS/*" org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$KAFKA_PORT" --list \
    >/dev/null 2>&1
}

kafka_start() {
  local pid d; d="$(KAFKA_DIR)"
  if pid="$(kafka_pid)"; then info "kafka already running (pid $pid, port $KAFKA_PORT)"; return 0; fi
  refuse_foreign_port kafka "$KAFKA_PORT"
  refuse_foreign_port kafka "$KAFKA_CONTROLLER_PORT"
  kafka_write_config
  if [[ ! -f $d/data/meta.properties ]]; then
    local id
    id="$("$JAVA" -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$SCRIPT_DIR/config/log4j2-tools.properties" \
      kafka.tools.StorageTool random-uuid 2>>"$(log_file kafka)")" || fail_service kafka "StorageTool random-uuid failed"
    echo "$id" >"$d/cluster.id"
    info "kafka: formatting storage (cluster id $id)"
    "$JAVA" -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$SCRIPT_DIR/config/log4j2-tools.properties" \
      kafka.tools.StorageTool format -t "$id" -c "$d/server.properties" >>"$(log_file kafka)" 2>&1 ||
      fail_service kafka "StorageTool format failed"
  fi
  info "kafka: starting broker+controller on $HOST:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT)"
  start_detached kafka "$JAVA" "$(marker kafka)" -Xms256m -Xmx512m \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$SCRIPT_DIR/config/log4j2-server.properties" \
    -Dkafka.logs.dir="$LOG_DIR" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$d/server.properties"
}

kafka_wait() {
  wait_until kafka kafka_pid kafka_tcp "listener on $HOST:$KAFKA_PORT"
  wait_until kafka kafka_pid kafka_metadata_ok "metadata answer (TopicCommand --list)"
  info "kafka ready on $HOST:$KAFKA_PORT (pid $(kafka_pid))"
}

# ------------------------------------------------------------------ kafka connect + debezium
connect_pid() { marked_pid connect; }
connect_rest_ok() { http_ok "http://$HOST:$CONNECT_PORT/connectors"; }
connect_plugin_ok() {
  curl -fsS --max-time 5 "http://$HOST:$CONNECT_PORT/connector-plugins" 2>/dev/null |
    grep -q 'io.debezium.connector.postgresql.PostgresConnector'
}

connect_start() {
  local pid d="$STATE/connect"
  if pid="$(connect_pid)"; then info "connect already running (pid $pid, port $CONNECT_PORT)"; return 0; fi
  refuse_foreign_port connect "$CONNECT_PORT"
  mkdir -p "$d"
  cat >"$d/worker.properties" <<EOF
# Written by tools/local-stack/stack.sh on every start; edit the script, not this file.
bootstrap.servers=$HOST:$KAFKA_PORT
group.id=cqrs-connect
config.storage.topic=_connect-configs
offset.storage.topic=_connect-offsets
status.storage.topic=_connect-status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
offset.storage.partitions=5
status.storage.partitions=1
# Defaults only: connectors set their own (e.g. StringConverter keys, BinaryDataConverter/ByteArrayConverter values).
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.converters.ByteArrayConverter
offset.flush.interval.ms=5000
listeners=http://$HOST:$CONNECT_PORT
rest.advertised.host.name=$HOST
rest.advertised.port=$CONNECT_PORT
plugin.path=$CONNECT_PLUGINS
# Debezium and Kafka's own plugins ship ServiceLoader manifests: skip the slow reflective scan.
plugin.discovery=service_load
EOF
  info "connect: starting distributed worker on $HOST:$CONNECT_PORT (Debezium $DEBEZIUM_VERSION)"
  start_detached connect "$JAVA" "$(marker connect)" -Xms256m -Xmx512m \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$SCRIPT_DIR/config/log4j2-server.properties" \
    -cp "$CONNECT_LIBS/*" org.apache.kafka.connect.cli.ConnectDistributed "$d/worker.properties"
}

connect_wait() {
  wait_until connect connect_pid connect_rest_ok "REST answer on http://$HOST:$CONNECT_PORT/connectors"
  wait_until connect connect_pid connect_plugin_ok "io.debezium.connector.postgresql.PostgresConnector in /connector-plugins"
  info "connect ready on http://$HOST:$CONNECT_PORT (pid $(connect_pid))"
}

# ------------------------------------------------------------------ apicurio registry
registry_pid() { marked_pid schema-registry; }
registry_ok() { http_ok "http://$HOST:$REGISTRY_PORT/apis/ccompat/v7/subjects"; }

registry_start() {
  local pid d="$STATE/registry" jar dburl
  if pid="$(registry_pid)"; then info "schema-registry already running (pid $pid, port $REGISTRY_PORT)"; return 0; fi
  refuse_foreign_port schema-registry "$REGISTRY_PORT"
  mkdir -p "$d"
  if [[ -f $APICURIO_HOME/quarkus-app/quarkus-run.jar ]]; then jar="$APICURIO_HOME/quarkus-app/quarkus-run.jar" # fast-jar layout
  else jar="$(ls "$APICURIO_HOME"/apicurio-registry-app-*-runner.jar 2>/dev/null | head -n 1)"; fi          # legacy-jar (3.0.x)
  [[ -n $jar && -f $jar ]] || die "schema-registry: no runnable jar in $APICURIO_HOME"
  case "$REGISTRY_STORAGE" in
    file) dburl="jdbc:h2:file:$d/h2/registry;DB_CLOSE_ON_EXIT=FALSE" ;;
    mem) dburl="jdbc:h2:mem:registry" ;; # schemas are lost when the registry stops
    *) die "CQRS_REGISTRY_STORAGE must be file or mem" ;;
  esac
  info "schema-registry: starting Apicurio Registry $APICURIO_VERSION on $HOST:$REGISTRY_PORT (storage: h2 $REGISTRY_STORAGE)"
  # ccompat ids are content ids (legacy-id-mode off, the default): the same schema gets the same id in
  # every subject and /schemas/ids/{id} resolves it, as Confluent clients expect. The canonical hash
  # makes a re-registration that differs only in whitespace/formatting return the existing id, as
  # Confluent does (without it Apicurio creates a new version and id).
  # Local-only settings: no auth; deletes allowed so tests can clean up subjects.
  start_detached schema-registry "$REGISTRY_JAVA" "$(marker schema-registry)" -Xms64m -Xmx384m \
    -Dquarkus.http.host="$HOST" -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=h2 \
    -Dapicurio.datasource.url="$dburl" -Dapicurio.datasource.username=sa -Dapicurio.datasource.password=sa \
    -Dapicurio.datasource.jdbc.initial-size=2 -Dapicurio.datasource.jdbc.min-size=2 \
    -Dapicurio.datasource.jdbc.max-size=20 \
    -Dapicurio.storage.snapshot.location="$d" \
    -Dapicurio.ccompat.use-canonical-hash=true \
    -Dapicurio.rest.deletion.group.enabled=true \
    -Dapicurio.rest.deletion.artifact.enabled=true \
    -Dapicurio.rest.deletion.artifact-version.enabled=true \
    -jar "$jar"
}

registry_wait() {
  wait_until schema-registry registry_pid registry_ok "answer on http://$HOST:$REGISTRY_PORT/apis/ccompat/v7/subjects"
  info "schema-registry ready on http://$HOST:$REGISTRY_PORT/apis/ccompat/v7 (pid $(registry_pid))"
}

# ------------------------------------------------------------------ development OIDC issuer
# tools/dev-issuer, its signing key kept in $STATE/dev-issuer: tokens handed out before a restart
# still verify after it.
issuer_pid() { marked_pid issuer; }
issuer_ok() { http_ok "http://$HOST:$ISSUER_PORT/.well-known/openid-configuration"; }

issuer_start() {
  local pid
  if pid="$(issuer_pid)"; then info "issuer already running (pid $pid, port $ISSUER_PORT)"; return 0; fi
  [[ -x $NODE ]] || die "issuer: $NODE is missing: run npm ci first"
  refuse_foreign_port issuer "$ISSUER_PORT"
  info "issuer: starting the development OIDC issuer on $HOST:$ISSUER_PORT"
  start_detached issuer "$NODE" "$REPO_ROOT/tools/dev-issuer/src/cli.ts" serve --state "$STATE" \
    --host "$HOST" --port "$ISSUER_PORT" "$(marker issuer)"
}

issuer_wait() {
  wait_until issuer issuer_pid issuer_ok "answer on http://$HOST:$ISSUER_PORT/.well-known/openid-configuration"
  info "issuer ready on http://$HOST:$ISSUER_PORT (pid $(issuer_pid))"
}

# ------------------------------------------------------------------ env file
write_env() {
  local pg="$HOST:$PG_PORT" p="$DB_PASSWORD"
  cat >"$STATE/env.tmp" <<EOF
# Written by tools/local-stack/stack.sh up. Local-only credentials (password "cqrs").
KAFKA_BROKERS=$HOST:$KAFKA_PORT
SCHEMA_REGISTRY_URL=http://$HOST:$REGISTRY_PORT/apis/ccompat/v7
KAFKA_CONNECT_URL=http://$HOST:$CONNECT_PORT
DATABASE_ADMIN_URL=postgres://cqrs_admin:$p@$pg/postgres
WRITE_DATABASE_URL=postgres://cqrs_command:$p@$pg/cqrs_write
READ_DATABASE_URL=postgres://cqrs_projector:$p@$pg/cqrs_read
QUERY_DATABASE_URL=postgres://cqrs_query:$p@$pg/cqrs_read
MIGRATIONS_WRITE_DATABASE_URL=postgres://cqrs_owner:$p@$pg/cqrs_write
MIGRATIONS_READ_DATABASE_URL=postgres://cqrs_owner:$p@$pg/cqrs_read
RELAY_DATABASE_URL=postgres://cqrs_relay:$p@$pg/cqrs_write
OIDC_ISSUER_URL=http://$HOST:$ISSUER_PORT
OIDC_AUDIENCE=cqrs-api
EOF
  mv -f "$STATE/env.tmp" "$STATE/env"
}

# ------------------------------------------------------------------ commands
cmd_up() {
  local t0; t0="$(now)"
  ensure_state_dirs
  trap 'printf "[stack] up did not finish; services started so far keep running: %s status | %s down\n" "$0" "$0" >&2' EXIT
  init_java
  # Postgres needs no download: start it right away in the background.
  local pg_log="$RUN_DIR/postgres-up.out"
  (pg_up) >"$pg_log" 2>&1 &
  local pg_job=$!
  # Nor does the issuer: it is ready long before Kafka.
  issuer_start
  # Downloads run one after another (one maven at a time shares ~/.m2 safely), each service
  # starting as soon as its jars are there: kafka boots while the registry downloads, etc.
  fetch_kafka
  kafka_start
  fetch_apicurio
  registry_start
  fetch_connect
  kafka_wait
  connect_start
  registry_wait
  issuer_wait
  if ! wait "$pg_job"; then cat "$pg_log" >&2; die "postgres failed to start"; fi
  cat "$pg_log"
  connect_wait
  write_env
  trap - EXIT
  info "all services up in $(($(now) - t0))s; env file: $STATE/env"
  cmd_status || true
}

cmd_down() {
  local purge=0
  [[ ${1:-} == --purge ]] && purge=1
  [[ $# -gt 0 && ${1:-} != --purge ]] && die "usage: $0 down [--purge]"
  pg_init_vars
  local svc pid pids=()
  # The issuer first (no token is handed out for a stack going down), then Connect (a Kafka
  # client) with the registry alongside it, then Kafka and Postgres.
  if pid="$(issuer_pid)"; then info "stopping issuer (pid $pid)"; stop_pid issuer "$pid"; fi
  for svc in connect schema-registry; do
    if pid="$(marked_pid "$svc")"; then info "stopping $svc (pid $pid)"; stop_pid "$svc" "$pid" & pids+=($!); fi
  done
  ((${#pids[@]})) && wait "${pids[@]}"
  pids=()
  if pid="$(marked_pid kafka)"; then info "stopping kafka (pid $pid)"; stop_pid kafka "$pid" & pids+=($!); fi
  pg_down & pids+=($!)
  wait "${pids[@]}"
  # Leftovers from a lost pid file: find our processes by their unique marker, stop them by pid.
  for svc in issuer connect schema-registry kafka; do
    for pid in $(pgrep -f -- "$(marker "$svc")" || true); do
      warn "stopping stray $svc process $pid"; stop_pid "$svc" "$pid"
    done
    rm -f "$(pid_file "$svc")"
  done
  if ((purge)); then
    info "purging data: $STATE (kafka, connect, registry, the issuer's key, logs) and $PG_BASE"
    rm -rf "${STATE:?}/kafka" "$STATE/connect" "$STATE/registry" "$STATE/dev-issuer" "$STATE/logs" "$STATE/run" "$STATE/env"
    rm -rf "${PG_BASE:?}"
  fi
  info "stopped"
}

svc_status() { # prints a line; returns 0 if up
  local svc="$1" port pid="" state=down
  port="$(port_of "$svc")"
  case "$svc" in
    postgres) pg_init_vars; pid="$(pg_pid || true)"; [[ -n $pid ]] && pg_find_bin --no-install && pg_ready && state=up ;;
    kafka) pid="$(kafka_pid || true)"; [[ -n $pid ]] && kafka_tcp && state=up ;;
    schema-registry) pid="$(registry_pid || true)"; [[ -n $pid ]] && registry_ok && state=up ;;
    connect) pid="$(connect_pid || true)"; [[ -n $pid ]] && connect_rest_ok && state=up ;;
    issuer) pid="$(issuer_pid || true)"; [[ -n $pid ]] && issuer_ok && state=up ;;
  esac
  [[ -n $pid && $state == down ]] && state="starting/unhealthy"
  printf '%-16s %-16s %-20s %s\n' "$svc" "$HOST:$port" "$state" "${pid:+pid $pid}"
  [[ $state == up ]]
}

cmd_status() {
  local rc=0 svc
  printf '%-16s %-16s %-20s %s\n' SERVICE ADDRESS STATE PID
  for svc in "${SERVICES[@]}"; do svc_status "$svc" || rc=1; done
  return $rc
}

# Stops and starts only the broker (fault tests); Postgres, the registry and Connect keep running.
cmd_restart_kafka() {
  ensure_state_dirs
  init_java
  fetch_kafka
  local pid t0; t0="$(now)"
  if pid="$(kafka_pid)"; then info "stopping kafka (pid $pid)"; stop_pid kafka "$pid"; fi
  kafka_start
  kafka_wait
  info "kafka restarted in $(($(now) - t0))s"
}

# One service down and up again (readiness tests); the rest of the stack keeps running.
cmd_stop_service() {
  local pid
  case "${1:-}" in
    postgres) pg_down ;;
    kafka) if pid="$(kafka_pid)"; then info "stopping kafka (pid $pid)"; stop_pid kafka "$pid"; fi ;;
    schema-registry) if pid="$(registry_pid)"; then info "stopping schema-registry (pid $pid)"; stop_pid schema-registry "$pid"; fi ;;
    issuer) if pid="$(issuer_pid)"; then info "stopping issuer (pid $pid)"; stop_pid issuer "$pid"; fi ;;
    *) die "usage: $0 stop-service <postgres|kafka|schema-registry|issuer>" ;;
  esac
}
cmd_start_service() {
  ensure_state_dirs
  case "${1:-}" in
    postgres) pg_up ;;
    kafka) init_java; fetch_kafka; kafka_start; kafka_wait ;;
    schema-registry) init_java; fetch_apicurio; registry_start; registry_wait ;;
    issuer) issuer_start; issuer_wait ;;
    *) die "usage: $0 start-service <postgres|kafka|schema-registry|issuer>" ;;
  esac
}

has_bootstrap() { local a; for a in "$@"; do [[ $a == --bootstrap-server* ]] && return 0; done; return 1; }

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    up) with_lock cmd_up ;;
    down) with_lock cmd_down "$@" ;;
    reset) with_lock cmd_down --purge ;;
    status) cmd_status ;;
    env) cat "$STATE/env" ;;
    logs) [[ -n ${1:-} ]] || die "usage: $0 logs <${SERVICES[*]}>"; tail -n 100 -F "$(log_file "$1")" ;;
    psql)
      pg_init_vars; pg_find_bin
      PGPASSWORD="$DB_PASSWORD" exec "$PG_BIN/psql" -h "$HOST" -p "$PG_PORT" -U "${1:-cqrs_admin}" -d "${2:-postgres}" "${@:3}" ;;
    kafka-topics)
      if has_bootstrap "$@"; then kafka_java org.apache.kafka.tools.TopicCommand "$@"
      else kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$KAFKA_PORT" "$@"; fi ;;
    kafka-console-producer)
      if has_bootstrap "$@"; then kafka_java org.apache.kafka.tools.ConsoleProducer "$@"
      else kafka_java org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$HOST:$KAFKA_PORT" "$@"; fi ;;
    kafka-console-consumer)
      if has_bootstrap "$@"; then kafka_java org.apache.kafka.tools.consumer.ConsoleConsumer "$@"
      else kafka_java org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$HOST:$KAFKA_PORT" "$@"; fi ;;
    restart-kafka) cmd_restart_kafka ;;
    stop-service) with_lock cmd_stop_service "$@" ;;
    start-service) with_lock cmd_start_service "$@" ;;
    kafka-run-class) [[ -n ${1:-} ]] || die "usage: $0 kafka-run-class <main class> [args]"; kafka_java "$@" ;;
    -h | --help | help | "") sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown command '$cmd' (try: up, down [--purge], reset, status, env, logs, psql, kafka-topics)" ;;
  esac
}

main "$@"
