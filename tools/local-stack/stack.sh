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
#   psql [role] [db]    psql as a stack role (default cqrs_admin / postgres), TLS verify-full
#   kafka-topics <args>           org.apache.kafka.tools.TopicCommand         these five run as cqrs-admin over
#   kafka-acls <args>             org.apache.kafka.tools.AclCommand           SASL_SSL: bootstrap server and client
#   kafka-configs <args>          kafka.admin.ConfigCommand                   config added unless given;
#   kafka-console-producer <args> org.apache.kafka.tools.ConsoleProducer      CQRS_KAFKA_USER=<user> picks
#   kafka-console-consumer <args> org.apache.kafka.tools.consumer.ConsoleConsumer   another identity
#   kafka-run-class <main> <args> any main class on the broker classpath (client config: $STATE/kafka/admin.properties)
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
# Opt-in, for benchmarks only (bench/transport.ts): a second, unauthenticated PLAINTEXT listener on
# the loopback address, to measure what TLS + SASL cost on the same broker. Its clients are
# User:ANONYMOUS, which has no ACLs unless granted (the benchmark grants its own topics). Unset
# by default: the stack's only client listener is SASL_SSL.
KAFKA_PLAINTEXT_PORT="${CQRS_KAFKA_PLAINTEXT_PORT:-}"
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
TLS_DIR="$STATE/tls"         # the stack's CA and server certificates (PEM), see tls_ensure
SECRETS_DIR="$STATE/secrets" # one random password per identity and system, see secrets_ensure
# The identities (Kafka SCRAM users and registry clients). cqrs-admin is a super user (tests, tools,
# health checks); the others get least-privilege ACLs (kafka_acl_spec). cqrs-broker is the broker's
# own SASL identity on its inter-broker listener (also a super user), not for clients.
IDENTITIES=(cqrs-admin cqrs-command cqrs-query cqrs-projector cqrs-relay cqrs-connect)
KAFKA_USERS=("${IDENTITIES[@]}" cqrs-broker)
KAFKA_SUPER_USERS="User:cqrs-admin;User:cqrs-broker"
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

# ------------------------------------------------------------------ TLS material and secrets
# $STATE/tls: ca.pem/ca.key (the stack's own CA) and <name>.crt/<name>.key per server, PEM, keys
# PKCS#8 and 0600. Created at `up` when missing, expiring within 30 days or not signed by ca.pem;
# a new CA renews every server certificate. Server certificates carry SAN IP:127.0.0.1 and
# DNS:localhost (clients connect to 127.0.0.1 and verify the name).
#   kafka            CN=cqrs-broker, serverAuth+clientAuth: the broker's listeners and its mTLS
#                    client side on the CONTROLLER listener (principal User:cqrs-broker)
#   postgres         CN=postgres
#   schema-registry  CN=schema-registry
TLS_SERVERS=(kafka postgres schema-registry)
TLS_RENEW_BEFORE=$((30 * 86400))

tls_cn() { case "$1" in kafka) echo cqrs-broker ;; *) echo "$1" ;; esac; }

tls_valid() { # cert: exists and valid for another TLS_RENEW_BEFORE seconds
  [[ -s $1 ]] && openssl x509 -in "$1" -noout -checkend "$TLS_RENEW_BEFORE" >/dev/null 2>&1
}

tls_new_key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null && chmod 0600 "$1"; }

tls_issue() { # name: a server certificate signed by the stack's CA
  local name="$1" d="$TLS_DIR" eku=serverAuth ext
  [[ $name == kafka ]] && eku=serverAuth,clientAuth
  ext="$(mktemp)"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=$eku" "subjectAltName=IP:127.0.0.1,DNS:localhost" "subjectKeyIdentifier=hash" \
    "authorityKeyIdentifier=keyid" >"$ext"
  tls_new_key "$d/$name.key.tmp"
  openssl req -new -key "$d/$name.key.tmp" -subj "/O=cqrs-local-stack/CN=$(tls_cn "$name")" -out "$d/$name.csr" 2>/dev/null &&
    openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 397 -sha256 \
      -extfile "$ext" -out "$d/$name.crt.tmp" 2>/dev/null || { rm -f "$ext"; die "tls: could not issue the $name certificate"; }
  rm -f "$ext" "$d/$name.csr"
  mv -f "$d/$name.key.tmp" "$d/$name.key" && mv -f "$d/$name.crt.tmp" "$d/$name.crt"
}

# Idempotent: creates/renews what is missing or expiring. Other parts of the script call it before
# they read $TLS_DIR/<name>.{crt,key} (and $TLS_DIR/ca.pem).
tls_ensure() {
  command -v openssl >/dev/null || die "openssl is needed for the stack's certificates: apt-get install -y openssl"
  local d="$TLS_DIR" name renew=0
  install -d -m 0755 "$d" # ca.pem is public; every key is 0600
  if ! tls_valid "$d/ca.pem" || [[ ! -s $d/ca.key ]]; then
    info "tls: creating the stack's certificate authority in $d/ca.pem"
    tls_new_key "$d/ca.key.tmp"
    openssl req -x509 -new -key "$d/ca.key.tmp" -sha256 -days 3650 -subj "/O=cqrs-local-stack/CN=cqrs-local-stack CA" \
      -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -addext "subjectKeyIdentifier=hash" -out "$d/ca.pem.tmp" 2>/dev/null || die "tls: could not create the CA"
    mv -f "$d/ca.key.tmp" "$d/ca.key" && mv -f "$d/ca.pem.tmp" "$d/ca.pem"
    chmod 0644 "$d/ca.pem"
    renew=1
  fi
  for name in "${TLS_SERVERS[@]}"; do
    if ((renew)) || [[ ! -s $d/$name.key ]] || ! tls_valid "$d/$name.crt" ||
      ! openssl verify -CAfile "$d/ca.pem" "$d/$name.crt" >/dev/null 2>&1; then
      info "tls: issuing the $name certificate ($d/$name.crt)"
      tls_issue "$name"
    fi
  done
  # Kafka reads a PEM key store from one file: the private key followed by the certificate chain.
  if [[ ! -s $d/kafka.keystore.pem || $d/kafka.keystore.pem -ot $d/kafka.crt || $d/kafka.keystore.pem -ot $d/kafka.key ]]; then
    (umask 077 && cat "$d/kafka.key" "$d/kafka.crt" >"$d/kafka.keystore.pem")
  fi
}

# $SECRETS_DIR/kafka-<user>.password and registry-<user>.password: random, created once, 0600, no
# trailing newline. Deleting one makes the next `up` create a new one (and update Kafka's SCRAM user).
secrets_ensure() {
  local user name f
  install -d -m 0700 "$SECRETS_DIR"
  for name in "${KAFKA_USERS[@]/#/kafka-}" "${IDENTITIES[@]/#/registry-}"; do
    f="$SECRETS_DIR/$name.password"
    [[ -s $f ]] && continue
    (umask 077 && openssl rand -base64 48 | tr -d '/+=\n' | head -c 32 >"$f.tmp") && mv -f "$f.tmp" "$f"
  done
}

secret() { cat "$SECRETS_DIR/$1.password"; } # kafka-cqrs-admin, registry-cqrs-admin, ...

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
# TLS with the stack's certificate (copied from $TLS_DIR by pg_install_tls); pg_hba.conf takes TCP
# connections over TLS only.
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
ssl_min_protocol_version = 'TLSv1.2'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_timezone = 'UTC'
timezone = 'UTC'
EOF
  install -m 0600 "$tmp" "$conf"
  # Local socket: trust, but the socket dir is 0700 and owned by the cluster's OS user.
  # TCP (127.0.0.1 only): TLS, then SCRAM passwords, for every database and for replication
  # connections; a TCP connection without TLS is rejected.
  cat >"$tmp" <<EOF
# Written by tools/local-stack/stack.sh on every start; edit the script, not this file.
# TYPE     DATABASE     USER  ADDRESS       METHOD
local      all          all                 trust
hostssl    all          all   127.0.0.1/32  scram-sha-256
hostssl    replication  all   127.0.0.1/32  scram-sha-256
hostnossl  all          all   all           reject
hostnossl  replication  all   all           reject
EOF
  install -m 0600 "$tmp" "$hba"
  rm -f "$tmp"
  is_root && chown "$PG_OS_USER:" "$conf" "$hba"
  grep -q "include_if_exists = 'cqrs-stack.conf'" "$PGDATA_DIR/postgresql.conf" ||
    echo "include_if_exists = 'cqrs-stack.conf'" >>"$PGDATA_DIR/postgresql.conf"
}

# The server certificate in the data dir (server.crt/server.key, the key 0600 and owned by the
# cluster's OS user, as Postgres demands). Returns 0 if it changed.
pg_install_tls() {
  [[ -f $PGDATA_DIR/server.crt ]] && cmp -s "$TLS_DIR/postgres.crt" "$PGDATA_DIR/server.crt" &&
    cmp -s "$TLS_DIR/postgres.key" "$PGDATA_DIR/server.key" && return 1
  local owner=()
  is_root && owner=(-o "$PG_OS_USER" -g "$PG_OS_USER")
  install -m 0644 "${owner[@]}" "$TLS_DIR/postgres.crt" "$PGDATA_DIR/server.crt"
  install -m 0600 "${owner[@]}" "$TLS_DIR/postgres.key" "$PGDATA_DIR/server.key"
}

# libpq over TCP as the apps do: TLS, the server certificate checked against the stack's CA and name.
pg_tcp_env() { export PGSSLMODE=verify-full PGSSLROOTCERT="$TLS_DIR/ca.pem"; }

pg_up() {
  pg_init_vars
  pg_find_bin
  tls_ensure
  pg_tcp_env
  local pid
  if pid="$(pg_pid)"; then
    info "postgres already running (pid $pid, port $PG_PORT)"
    # A server started by an older version of this script (no TLS) or before a certificate renewal:
    # the current settings, certificate and pg_hba.conf take effect on a reload.
    local before after
    before="$(cat "$PGDATA_DIR/cqrs-stack.conf" "$PGDATA_DIR/pg_hba.conf" 2>/dev/null | sha256sum)"
    pg_write_config
    after="$(cat "$PGDATA_DIR/cqrs-stack.conf" "$PGDATA_DIR/pg_hba.conf" | sha256sum)"
    if pg_install_tls || [[ $before != "$after" ]]; then
      info "postgres: settings or certificate changed, reloading"
      pg_super_psql -d postgres -tAc 'select pg_reload_conf()' >/dev/null
    fi
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
    pg_install_tls || true
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
    fail_service postgres "cqrs_admin cannot run a query on cqrs_write over TCP (sslmode=verify-full)"
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

# Java properties value escaping for the secrets we inline (backslash first).
prop_escape() { local v="$1"; v="${v//\\/\\\\}"; printf '%s' "${v//\"/\\\"}"; }
jaas_scram() { printf 'org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" password="%s";' "$1" "$(prop_escape "$(secret "kafka-$1")")"; }

# Listeners:
#   SASL_SSL   $HOST:$KAFKA_PORT             clients and the (single-node) inter-broker traffic: TLS with
#                                            the stack's certificate, then SASL SCRAM-SHA-512,
#                                            SCRAM-SHA-256 or PLAIN. Nothing else is accepted there.
#   CONTROLLER $HOST:$KAFKA_CONTROLLER_PORT  KRaft controller: TLS with client certificates required; only
#                                            the broker's own certificate (CN=cqrs-broker) gets in.
# Principals: SASL users by name (User:cqrs-admin, ...); the certificate CN=cqrs-broker,O=cqrs-local-stack
# maps to User:cqrs-broker. Super users: cqrs-admin and cqrs-broker; everyone else needs ACLs.
kafka_write_config() {
  local d user plain_users="" tls="$TLS_DIR"; d="$(KAFKA_DIR)"
  mkdir -p "$d/data"
  for user in "${KAFKA_USERS[@]}"; do plain_users+=" user_$user=\"$(prop_escape "$(secret "kafka-$user")")\""; done
  (umask 077 && cat >"$d/server.properties.tmp") <<EOF
# Written by tools/local-stack/stack.sh on every start; edit the script, not this file. Holds secrets (0600).
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=SASL_SSL://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT${KAFKA_PLAINTEXT_PORT:+,PLAINTEXT://127.0.0.1:$KAFKA_PLAINTEXT_PORT}
advertised.listeners=SASL_SSL://$HOST:$KAFKA_PORT${KAFKA_PLAINTEXT_PORT:+,PLAINTEXT://127.0.0.1:$KAFKA_PLAINTEXT_PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=CONTROLLER:SSL,SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT
# TLS: the stack's certificate (key + chain in one PEM file), the stack's CA as trust store.
ssl.keystore.type=PEM
ssl.keystore.location=$tls/kafka.keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.pem
ssl.enabled.protocols=TLSv1.3,TLSv1.2
ssl.endpoint.identification.algorithm=https
listener.name.controller.ssl.client.auth=required
ssl.principal.mapping.rules=RULE:^CN=([^,]+),O=cqrs-local-stack\$/\$1/,DEFAULT
# SASL: SCRAM users live in the cluster metadata (kafka_ensure_users); PLAIN checks the same passwords.
sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=$(jaas_scram cqrs-broker)
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=$(jaas_scram cqrs-broker)
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="cqrs-broker" password="$(prop_escape "$(secret kafka-cqrs-broker)")"$plain_users;
# Authorization: ACLs in the metadata (kafka_ensure_acls); no ACL means no access.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=$KAFKA_SUPER_USERS
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
# A client still needs CREATE on the topic (ACLs) for a metadata request to create it.
auto.create.topics.enable=true
delete.topic.enable=true
# Kafka's default for topics that set none: dead-letter topics (*.dlq), Connect's and Debezium's
# own. Event topics (<aggregatetype>.events) keep every event: the relay, the projector and
# Debezium create them with retention.ms=-1 (EVENT_TOPIC_RETENTION_MS; docs/architecture.md).
log.retention.hours=168
EOF
  mv -f "$d/server.properties.tmp" "$d/server.properties"
  kafka_write_client_configs
}

# Client properties for the tools (0600, in $STATE/kafka):
#   admin.properties       cqrs-admin over SASL_SSL (TopicCommand, AclCommand, console clients, health checks)
#   <user>.properties      the same for each other identity (e.g. to try its ACLs with the console clients)
#   admin-plain.properties cqrs-admin with SASL PLAIN (kafka_ensure_users)
kafka_write_client_configs() {
  local d user; d="$(KAFKA_DIR)"
  mkdir -p "$d"
  for user in "${IDENTITIES[@]}"; do
    (umask 077 && cat >"$d/$user.properties.tmp") <<EOF
# Written by tools/local-stack/stack.sh; $user over SASL_SSL. Holds its password (0600).
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=$(jaas_scram "$user")
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.pem
EOF
    mv -f "$d/$user.properties.tmp" "$d/$user.properties"
  done
  mv -f "$d/cqrs-admin.properties" "$d/admin.properties"
  (umask 077 && sed -e 's/^sasl.mechanism=.*/sasl.mechanism=PLAIN/' \
    -e 's/^sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule/sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule/' \
    -e 's/over SASL_SSL/over SASL_SSL with PLAIN (bootstraps the SCRAM users)/' "$d/admin.properties" >"$d/admin-plain.properties")
}

kafka_pid() { marked_pid kafka; }
kafka_tcp() { tcp_open "$KAFKA_PORT"; }
kafka_tool() { # main args... (quiet logging, no download check: for health checks and setup)
  # C1 only and the serial GC: a short-lived tool starts noticeably faster
  timeout 60 "$JAVA" -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dlog4j2.configurationFile="$SCRIPT_DIR/config/log4j2-tools.properties" \
    -cp "$KAFKA_LIBS/*" "$@"
}
kafka_metadata_ok() { # as cqrs-admin over SASL_SSL (SCRAM-SHA-512)
  kafka_tcp || return 1
  kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$KAFKA_PORT" \
    --command-config "$(KAFKA_DIR)/${1:-admin}.properties" --list >/dev/null 2>&1
}
kafka_metadata_plain_ok() { kafka_metadata_ok admin-plain; }

# The SCRAM users' state, one "user sha256(user password)" line each: which users with which
# passwords the cluster was given (kafka/scram.users, next to the data it describes).
kafka_user_line() { printf '%s %s\n' "$1" "$(printf '%s %s' "$1" "$(secret "kafka-$1")" | sha256sum | cut -c1-64)"; }

# SCRAM-SHA-512 and SCRAM-SHA-256 credentials for every user. A fresh storage gets them at format
# (StorageTool --add-scram). Storage formatted without them (before the stack had SASL), a new user
# or a user whose secret file changed gets them here: cqrs-admin signs in with PLAIN (the broker
# checks PLAIN against the passwords in its own config, no metadata needed) and upserts the SCRAM
# credentials, one mechanism per request (Kafka refuses two changes of one user in one request).
# The KRaft controller does not serve this Admin API itself (UnsupportedEndpointTypeException).
kafka_ensure_users() {
  local d user pw mech line out todo=(); d="$(KAFKA_DIR)"
  for user in "${KAFKA_USERS[@]}"; do
    line="$(kafka_user_line "$user")"
    grep -qxF "$line" "$d/scram.users" 2>/dev/null || todo+=("$user")
  done
  ((${#todo[@]})) || return 0
  info "kafka: setting the SCRAM credentials of ${todo[*]} (as cqrs-admin over SASL PLAIN)"
  wait_until kafka kafka_pid kafka_metadata_plain_ok "metadata answer to cqrs-admin (SASL PLAIN)"
  for user in "${todo[@]}"; do
    pw="$(secret "kafka-$user")"
    for mech in SCRAM-SHA-512 SCRAM-SHA-256; do
      # the tool echoes its arguments on errors: never let the password reach the log
      out="$(kafka_tool kafka.admin.ConfigCommand --bootstrap-server "$HOST:$KAFKA_PORT" \
        --command-config "$d/admin-plain.properties" --alter --entity-type users --entity-name "$user" \
        --add-config "$mech=[iterations=4096,password=$pw]" 2>&1)" || {
        printf '%s\n' "${out//$pw/***}" >>"$(log_file kafka)"
        fail_service kafka "could not set the $mech credentials of $user (ConfigCommand)"
      }
    done
    { grep -v "^$user " "$d/scram.users" 2>/dev/null || true; kafka_user_line "$user"; } >"$d/scram.users.tmp"
    mv -f "$d/scram.users.tmp" "$d/scram.users"
  done
}

# The event topics: those of schemas/manifest.json (`<context>.<aggregate>.events`), one per line.
event_topics() {
  node -e 'for (const t of new Set(require(process.argv[1]).schemas.map((s) => s.topic))) console.log(t)' \
    "$REPO_ROOT/schemas/manifest.json"
}

# The ACLs, one AclCommand --add per line: principal | pattern type | resource options | operations.
# Per event topic of the manifest (so a new bounded context needs no edit here): the relay writes it,
# the projector reads it and writes its dead-letter topic; per context, the projector's consumer
# groups (`<context>-projector…`) and Debezium's topics (`<context>.`).
# Keep equal to the README (tools/local-stack/README.md, "Users and ACLs") and the Helm/compose setups.
kafka_acl_spec() {
  local topic context
  cat <<'EOF'
cqrs-relay     literal   --cluster                              IdempotentWrite
cqrs-connect   prefixed  --topic _connect-                      All
cqrs-connect   literal   --group cqrs-connect                   All
cqrs-connect   prefixed  --topic __debezium-heartbeat           Write Describe Create
EOF
  for topic in $(event_topics); do
    echo "cqrs-relay     literal   --topic $topic Write Describe Create"
    echo "cqrs-projector literal   --topic $topic Read Describe Create"
    echo "cqrs-projector literal   --topic $topic.dlq Write Describe Create Read"
  done
  for context in $(event_topics | cut -d. -f1 | sort -u); do
    echo "cqrs-projector prefixed  --group $context-projector Read Describe Delete"
    echo "cqrs-connect   prefixed  --topic $context. Write Describe Create"
  done
}

# Applies the ACLs that are missing (one AclCommand --list first; --add of an existing ACL is a no-op
# anyway). ACLs granted by hand to other principals stay; nothing is removed.
kafka_ensure_acls() {
  local d listing principal pattern opt name ops op want missing args; d="$(KAFKA_DIR)"
  listing="$(kafka_tool org.apache.kafka.tools.AclCommand --bootstrap-server "$HOST:$KAFKA_PORT" \
    --command-config "$d/admin.properties" --list 2>>"$(log_file kafka)")" || fail_service kafka "AclCommand --list failed"
  # "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=x, patternType=LITERAL)`:" then
  # "(principal=User:y, host=*, operation=WRITE, permissionType=ALLOW)" lines -> "TOPIC x LITERAL User:y WRITE"
  listing="$(awk '
    /ResourcePattern\(/ { match($0, /resourceType=[^,]*/); t = substr($0, RSTART + 13, RLENGTH - 13)
                          match($0, /name=[^,]*/); n = substr($0, RSTART + 5, RLENGTH - 5)
                          match($0, /patternType=[A-Z]*/); p = substr($0, RSTART + 12, RLENGTH - 12) }
    /principal=.*permissionType=ALLOW/ { match($0, /principal=[^,]*/); u = substr($0, RSTART + 10, RLENGTH - 10)
                          match($0, /operation=[A-Z_]*/); o = substr($0, RSTART + 10, RLENGTH - 10)
                          print t, n, p, u, o }' <<<"$listing")"
  while read -r principal pattern opt name ops; do
    [[ -n $principal ]] || continue
    if [[ $opt == --cluster ]]; then ops="$name $ops"; name=kafka-cluster; fi
    missing=0
    for op in $ops; do # IdempotentWrite -> IDEMPOTENT_WRITE, as AclCommand --list prints it
      op="$(sed -E 's/([a-z])([A-Z])/\1_\2/g' <<<"$op")"
      want="${opt#--} $name $pattern User:$principal $op"
      grep -qxF "${want^^}" <<<"${listing^^}" || missing=1
    done
    ((missing)) || continue
    args=(--add --allow-principal "User:$principal" --resource-pattern-type "$pattern")
    if [[ $opt == --cluster ]]; then args+=(--cluster); else args+=("$opt" "$name"); fi
    for op in $ops; do args+=(--operation "$op"); done
    info "kafka: ACL User:$principal $ops on ${opt#--} $name ($pattern)"
    kafka_tool org.apache.kafka.tools.AclCommand --bootstrap-server "$HOST:$KAFKA_PORT" \
      --command-config "$d/admin.properties" "${args[@]}" >>"$(log_file kafka)" 2>&1 ||
      fail_service kafka "AclCommand ${args[*]} failed"
  done < <(kafka_acl_spec)
}

kafka_start() {
  local pid d; d="$(KAFKA_DIR)"
  if pid="$(kafka_pid)"; then
    if grep -q '^listeners=SASL_SSL://' "$d/server.properties" 2>/dev/null; then
      info "kafka already running (pid $pid, port $KAFKA_PORT)"; return 0
    fi
    info "kafka: running without TLS/SASL (started by an older stack.sh); restarting it (pid $pid)"
    stop_pid kafka "$pid"
  fi
  refuse_foreign_port kafka "$KAFKA_PORT"
  refuse_foreign_port kafka "$KAFKA_CONTROLLER_PORT"
  tls_ensure
  secrets_ensure
  kafka_write_config
  if [[ ! -f $d/data/meta.properties ]]; then
    local id user pw scram=()
    id="$("$JAVA" -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$SCRIPT_DIR/config/log4j2-tools.properties" \
      kafka.tools.StorageTool random-uuid 2>>"$(log_file kafka)")" || fail_service kafka "StorageTool random-uuid failed"
    echo "$id" >"$d/cluster.id"
    for user in "${KAFKA_USERS[@]}"; do
      pw="$(secret "kafka-$user")"
      scram+=(--add-scram "SCRAM-SHA-512=[name=$user,iterations=4096,password=$pw]" --add-scram "SCRAM-SHA-256=[name=$user,iterations=4096,password=$pw]")
    done
    info "kafka: formatting storage (cluster id $id) with the SCRAM users ${KAFKA_USERS[*]}"
    "$JAVA" -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$SCRIPT_DIR/config/log4j2-tools.properties" \
      kafka.tools.StorageTool format -t "$id" -c "$d/server.properties" "${scram[@]}" >>"$(log_file kafka)" 2>&1 ||
      fail_service kafka "StorageTool format failed"
    for user in "${KAFKA_USERS[@]}"; do kafka_user_line "$user"; done >"$d/scram.users"
  fi
  info "kafka: starting broker+controller on $HOST:$KAFKA_PORT (SASL_SSL; controller $KAFKA_CONTROLLER_PORT, mTLS)"
  start_detached kafka "$JAVA" "$(marker kafka)" -Xms256m -Xmx512m \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$SCRIPT_DIR/config/log4j2-server.properties" \
    -Dkafka.logs.dir="$LOG_DIR" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$d/server.properties"
}

kafka_wait() {
  wait_until kafka kafka_pid kafka_tcp "listener on $HOST:$KAFKA_PORT"
  kafka_ensure_users
  wait_until kafka kafka_pid kafka_metadata_ok "metadata answer to cqrs-admin (TopicCommand --list over SASL_SSL)"
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
  if pid="$(connect_pid)"; then
    if grep -q '^security.protocol=SASL_SSL' "$d/worker.properties" 2>/dev/null; then
      info "connect already running (pid $pid, port $CONNECT_PORT)"; return 0
    fi
    info "connect: running without SASL_SSL (started by an older stack.sh); restarting it (pid $pid)"
    stop_pid connect "$pid"
  fi
  refuse_foreign_port connect "$CONNECT_PORT"
  tls_ensure
  secrets_ensure
  mkdir -p "$d"
  # Kafka as cqrs-connect over SASL_SSL, for the worker itself and for the producers, consumers and
  # admin clients it makes for connectors (their own prefixes; without them they would connect as
  # nobody). ACLs: kafka_acl_spec.
  local sec prefix security=""
  sec="security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=$(jaas_scram cqrs-connect)
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.pem"
  for prefix in "" producer. consumer. admin.; do security+="$(sed "s/^/$prefix/" <<<"$sec")"$'\n'; done
  (umask 077 && cat >"$d/worker.properties.tmp") <<EOF
# Written by tools/local-stack/stack.sh on every start; edit the script, not this file. Holds a secret (0600).
bootstrap.servers=$HOST:$KAFKA_PORT
${security}group.id=cqrs-connect
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
  mv -f "$d/worker.properties.tmp" "$d/worker.properties"
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
# HTTPS only ($TLS_DIR/schema-registry.{crt,key}, no plain-HTTP port) and no anonymous access: every
# /apis call needs the credentials of one of the IDENTITIES, checked by Apicurio's own OIDC support
# against the development issuer:
#   - Authorization: Bearer <token>, a token of the issuer's client_credentials grant (aud
#     REGISTRY_AUDIENCE, sub = the identity, roles sr-admin|sr-developer|sr-readonly);
#   - Authorization: Basic <identity>:<$SECRETS_DIR/registry-<identity>.password>, which Apicurio
#     trades for such a token at the issuer (client_credentials, client_secret_post) and caches
#     until shortly before it expires.
# Role-based authorization: cqrs-admin (tools, schemas:register) is sr-admin, every app identity
# sr-readonly: reads and look-ups only (tools/dev-issuer/src/clients.ts). /health/* stays open.
REGISTRY_AUDIENCE=cqrs-schema-registry # = CLIENT_AUDIENCE in tools/dev-issuer/src/clients.ts
registry_pid() { marked_pid schema-registry; }
registry_curl() { # curl args...: over HTTPS, trusting only the stack's CA
  curl -fsS -o /dev/null --max-time 10 --cacert "$TLS_DIR/ca.pem" "$@" 2>/dev/null
}
# Up = healthy over TLS (certificate checked against the CA); independent of the issuer.
registry_ok() { registry_curl "https://$HOST:$REGISTRY_PORT/health/ready"; }
# The API answers cqrs-admin's basic credentials: TLS, the issuer exchange and the roles all work.
# The secret goes to curl on stdin (-K -), never on a command line.
registry_api_ok() {
  [[ -s $SECRETS_DIR/registry-cqrs-admin.password ]] || return 1
  printf 'user = "cqrs-admin:%s"\n' "$(secret registry-cqrs-admin)" |
    registry_curl -K - "https://$HOST:$REGISTRY_PORT/apis/ccompat/v7/subjects"
}

registry_start() {
  local pid d="$STATE/registry" jar dburl
  if pid="$(registry_pid)"; then
    # An older stack.sh started it on plain HTTP without authentication: its command line lacks the TLS port.
    if tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -q '^-Dquarkus.http.ssl-port='; then
      info "schema-registry already running (pid $pid, port $REGISTRY_PORT)"; return 0
    fi
    info "schema-registry: running without TLS/authentication (started by an older stack.sh); restarting it (pid $pid)"
    stop_pid schema-registry "$pid"
  fi
  refuse_foreign_port schema-registry "$REGISTRY_PORT"
  tls_ensure
  secrets_ensure
  mkdir -p "$d"
  if [[ -f $APICURIO_HOME/quarkus-app/quarkus-run.jar ]]; then jar="$APICURIO_HOME/quarkus-app/quarkus-run.jar" # fast-jar layout
  else jar="$(ls "$APICURIO_HOME"/apicurio-registry-app-*-runner.jar 2>/dev/null | head -n 1)"; fi          # legacy-jar (3.0.x)
  [[ -n $jar && -f $jar ]] || die "schema-registry: no runnable jar in $APICURIO_HOME"
  case "$REGISTRY_STORAGE" in
    file) dburl="jdbc:h2:file:$d/h2/registry;DB_CLOSE_ON_EXIT=FALSE" ;;
    mem) dburl="jdbc:h2:mem:registry" ;; # schemas are lost when the registry stops
    *) die "CQRS_REGISTRY_STORAGE must be file or mem" ;;
  esac
  info "schema-registry: starting Apicurio Registry $APICURIO_VERSION on https://$HOST:$REGISTRY_PORT (storage: h2 $REGISTRY_STORAGE; auth: issuer http://$HOST:$ISSUER_PORT)"
  # ccompat ids are content ids (legacy-id-mode off, the default): the same schema gets the same id in
  # every subject and /schemas/ids/{id} resolves it, as Confluent clients expect. The canonical hash
  # makes a re-registration that differs only in whitespace/formatting return the existing id, as
  # Confluent does (without it Apicurio creates a new version and id).
  # TLS: insecure-requests=disabled opens no plain-HTTP port at all (http.port 0 just in case).
  # Auth (Quarkus OIDC, the default tenant): discovery and keys from the issuer, whose token
  # endpoint Apicurio posts basic credentials to (token-path); a token must carry aud
  # REGISTRY_AUDIENCE (the issuer's unauthenticated development tokens cannot), roles from the
  # `roles` claim. If the issuer is down at start, Quarkus connects at the first request.
  # Deletes allowed so tests can clean up subjects (sr-admin only, here).
  start_detached schema-registry "$REGISTRY_JAVA" "$(marker schema-registry)" -Xms64m -Xmx384m \
    -Dquarkus.http.host="$HOST" -Dquarkus.http.port=0 -Dquarkus.http.ssl-port="$REGISTRY_PORT" \
    -Dquarkus.http.insecure-requests=disabled \
    -Dquarkus.http.ssl.certificate.files="$TLS_DIR/schema-registry.crt" \
    -Dquarkus.http.ssl.certificate.key-files="$TLS_DIR/schema-registry.key" \
    -Dquarkus.oidc.tenant-enabled=true \
    -Dquarkus.oidc.auth-server-url="http://$HOST:$ISSUER_PORT" \
    -Dquarkus.oidc.token-path="http://$HOST:$ISSUER_PORT/token" \
    -Dquarkus.oidc.client-id="$REGISTRY_AUDIENCE" \
    -Dquarkus.oidc.token.audience="$REGISTRY_AUDIENCE" \
    -Dquarkus.oidc.roles.role-claim-path=roles \
    -Dapicurio.authn.basic-client-credentials.enabled=true \
    -Dapicurio.auth.role-based-authorization=true \
    -Dapicurio.auth.role-source=token \
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
  wait_until schema-registry registry_pid registry_ok "healthy answer on https://$HOST:$REGISTRY_PORT/health/ready"
  # Needs the issuer (cmd_up starts it first): Apicurio trades the credentials there.
  wait_until schema-registry registry_pid registry_api_ok \
    "authenticated answer (cqrs-admin, via the issuer on port $ISSUER_PORT) on https://$HOST:$REGISTRY_PORT/apis/ccompat/v7/subjects"
  info "schema-registry ready on https://$HOST:$REGISTRY_PORT/apis/ccompat/v7 (pid $(registry_pid))"
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
  local pg="$HOST:$PG_PORT" p="$DB_PASSWORD" tls="?sslmode=verify-full&sslrootcert=$TLS_DIR/ca.pem"
  cat >"$STATE/env.tmp" <<EOF
# Written by tools/local-stack/stack.sh up, for tests and tools: the admin identity (cqrs-admin).
# Secrets are files in $SECRETS_DIR (0600); database passwords are the local-only "cqrs".
# Values with a shell metacharacter (the & in the database URLs) are single-quoted, so that
# \`set -a; source env; set +a\` works; readers of this file strip one pair of surrounding quotes.
KAFKA_BROKERS=$HOST:$KAFKA_PORT
KAFKA_SECURITY_PROTOCOL=SASL_SSL
KAFKA_SASL_MECHANISM=SCRAM-SHA-512
KAFKA_SSL_CA_FILE=$TLS_DIR/ca.pem
KAFKA_SASL_USERNAME=cqrs-admin
KAFKA_SASL_PASSWORD_FILE=$SECRETS_DIR/kafka-cqrs-admin.password
SCHEMA_REGISTRY_URL=https://$HOST:$REGISTRY_PORT/apis/ccompat/v7
SCHEMA_REGISTRY_CA_FILE=$TLS_DIR/ca.pem
SCHEMA_REGISTRY_USERNAME=cqrs-admin
SCHEMA_REGISTRY_PASSWORD_FILE=$SECRETS_DIR/registry-cqrs-admin.password
CQRS_STACK_SECRETS=$SECRETS_DIR
KAFKA_CONNECT_URL=http://$HOST:$CONNECT_PORT
DATABASE_ADMIN_URL='postgres://cqrs_admin:$p@$pg/postgres$tls'
WRITE_DATABASE_URL='postgres://cqrs_command:$p@$pg/cqrs_write$tls'
READ_DATABASE_URL='postgres://cqrs_projector:$p@$pg/cqrs_read$tls'
QUERY_DATABASE_URL='postgres://cqrs_query:$p@$pg/cqrs_read$tls'
MIGRATIONS_WRITE_DATABASE_URL='postgres://cqrs_owner:$p@$pg/cqrs_write$tls'
MIGRATIONS_READ_DATABASE_URL='postgres://cqrs_owner:$p@$pg/cqrs_read$tls'
RELAY_DATABASE_URL='postgres://cqrs_relay:$p@$pg/cqrs_write$tls'
EVENT_STORE_DATABASE_URL='postgres://cqrs_projector:$p@$pg/cqrs_write$tls'
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
  # Certificates and secrets first: Postgres starts in the background and every service reads them.
  tls_ensure
  secrets_ensure
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
  kafka_ensure_acls
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
    info "purging data: $STATE (kafka, connect, registry, the issuer's key, certificates, secrets, logs) and $PG_BASE"
    rm -rf "${STATE:?}/kafka" "$STATE/connect" "$STATE/registry" "$STATE/dev-issuer" "$STATE/logs" "$STATE/run" "$STATE/env" \
      "$TLS_DIR" "$SECRETS_DIR"
    rm -rf "${PG_BASE:?}"
  fi
  info "stopped"
}

svc_status() { # prints a line; returns 0 if up
  local svc="$1" port pid="" state=down
  port="$(port_of "$svc")"
  case "$svc" in
    postgres) pg_init_vars; pg_tcp_env; pid="$(pg_pid || true)"; [[ -n $pid ]] && pg_find_bin --no-install && pg_ready && state=up ;;
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

has_bootstrap() { local a; for a in "$@"; do [[ $a == --bootstrap-server* || $a == --bootstrap-controller* ]] && return 0; done; return 1; }
has_arg() { local want="$1" a; shift; for a in "$@"; do [[ $a == "$want" || $a == "$want="* ]] && return 0; done; return 1; }

# A Kafka CLI tool as cqrs-admin over SASL_SSL: adds --bootstrap-server and the client config
# ($STATE/kafka/admin.properties) unless given. CQRS_KAFKA_USER=cqrs-projector (etc.) runs it as that
# identity instead. kafka_cli <main> <config option> args...
kafka_cli() {
  local main="$1" opt="$2" user="${CQRS_KAFKA_USER:-cqrs-admin}" conf; shift 2
  conf="$(KAFKA_DIR)/$user.properties"
  [[ $user == cqrs-admin ]] && conf="$(KAFKA_DIR)/admin.properties"
  [[ -f $conf ]] || die "no client config $conf: run '$0 up' first (users: ${IDENTITIES[*]})"
  # the console clients name their config file differently
  case "$main" in
    *ConsoleProducer) opt=--producer.config ;;
    *ConsoleConsumer) opt=--consumer.config ;;
  esac
  local extra=()
  has_bootstrap "$@" || extra+=(--bootstrap-server "$HOST:$KAFKA_PORT")
  has_arg "$opt" "$@" || extra+=("$opt" "$conf")
  kafka_java "$main" "${extra[@]}" "$@"
}

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
      pg_init_vars; pg_find_bin; pg_tcp_env
      PGPASSWORD="$DB_PASSWORD" exec "$PG_BIN/psql" -h "$HOST" -p "$PG_PORT" -U "${1:-cqrs_admin}" -d "${2:-postgres}" "${@:3}" ;;
    kafka-topics) kafka_cli org.apache.kafka.tools.TopicCommand --command-config "$@" ;;
    kafka-acls) kafka_cli org.apache.kafka.tools.AclCommand --command-config "$@" ;;
    kafka-configs) kafka_cli kafka.admin.ConfigCommand --command-config "$@" ;;
    kafka-console-producer) kafka_cli org.apache.kafka.tools.ConsoleProducer --command-config "$@" ;;
    kafka-console-consumer) kafka_cli org.apache.kafka.tools.consumer.ConsoleConsumer --command-config "$@" ;;
    restart-kafka) cmd_restart_kafka ;;
    stop-service) with_lock cmd_stop_service "$@" ;;
    start-service) with_lock cmd_start_service "$@" ;;
    kafka-run-class) [[ -n ${1:-} ]] || die "usage: $0 kafka-run-class <main class> [args]"; kafka_java "$@" ;;
    -h | --help | help | "") sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown command '$cmd' (try: up, down [--purge], reset, status, env, logs, psql, kafka-topics)" ;;
  esac
}

main "$@"
