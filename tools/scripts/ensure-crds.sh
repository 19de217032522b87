#!/usr/bin/env bash
# Prints a directory of the CustomResourceDefinitions the chart's optional resources need, as their
# operators publish them, fetched from the package registries on a machine's first run and cached in
# ${CQRS_TOOLS_CACHE:-~/.cache/cqrs-tools}/crds/<set>/ (nothing of them is kept in this repo):
#   prometheus-operator/  ServiceMonitor and PrometheusRule: example/prometheus-operator-crd/ of the
#                         Go module github.com/prometheus-operator/prometheus-operator (`go mod download`)
#   strimzi/              KafkaTopic, KafkaConnector...: the CRDs of Strimzi's 0.4x/0.5x releases
#                         (kafka.strimzi.io/v1beta2 stored, v1 served too), from io.strimzi:api's test jar
#                         on Maven Central (`mvn dependency:copy`)
#   strimzi-v1/           the same CRDs serving kafka.strimzi.io/v1 only (Strimzi 1.0 and later), from that jar
# Progress goes to stderr; stdout is the directory's path and nothing else. Concurrent callers wait on a lock.
set -euo pipefail

PROMETHEUS_OPERATOR_VERSION=${CQRS_PROMETHEUS_OPERATOR_VERSION:-v0.85.0}
STRIMZI_VERSION=${CQRS_STRIMZI_VERSION:-0.51.0}
CACHE=${CQRS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cqrs-tools}
MVN_DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
target=$CACHE/crds/prometheus-operator-${PROMETHEUS_OPERATOR_VERSION}_strimzi-$STRIMZI_VERSION

log() { echo "ensure-crds: $*" >&2; }
complete() { [ -f "$target/.complete" ]; }
if complete; then echo "$target"; exit 0; fi

mkdir -p "$CACHE/crds"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/crds/.lock"
  flock 9
fi
if complete; then echo "$target"; exit 0; fi

tmp=$(mktemp -d "$CACHE/crds/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/set/prometheus-operator" "$tmp/set/strimzi" "$tmp/set/strimzi-v1"

module=github.com/prometheus-operator/prometheus-operator
log "fetching $module@$PROMETHEUS_OPERATOR_VERSION from the Go module proxy (its CRDs)"
command -v go >/dev/null 2>&1 || { log "go is needed to fetch the prometheus-operator module"; exit 1; }
zip=$(cd "$tmp" && go mod download -json "$module@$PROMETHEUS_OPERATOR_VERSION" |
  sed -n 's/^[[:space:]]*"Zip": "\(.*\)",\{0,1\}$/\1/p') || { log "go mod download failed (GOPROXY=$(go env GOPROXY))"; exit 1; }
[ -f "$zip" ] || { log "go mod download gave no zip for $module@$PROMETHEUS_OPERATOR_VERSION"; exit 1; }
for kind in servicemonitors prometheusrules; do
  unzip -p "$zip" "$module@$PROMETHEUS_OPERATOR_VERSION/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml" \
    >"$tmp/set/prometheus-operator/monitoring.coreos.com_$kind.yaml"
  [ -s "$tmp/set/prometheus-operator/monitoring.coreos.com_$kind.yaml" ] || { log "$zip has no $kind CRD"; exit 1; }
done

log "fetching io.strimzi:api:$STRIMZI_VERSION:jar:tests from Maven Central (its CRDs)"
command -v mvn >/dev/null 2>&1 || { log "maven (mvn) is needed to fetch Strimzi's CRDs from Maven Central: apt-get install -y maven"; exit 1; }
(cd "$tmp" && mvn -B -q "$MVN_DEP_PLUGIN:copy" -Dartifact="io.strimzi:api:$STRIMZI_VERSION:jar:tests" \
  -DoutputDirectory="$tmp/jar" >"$tmp/mvn.log" 2>&1) || { cat "$tmp/mvn.log" >&2; log "mvn dependency:copy failed"; exit 1; }
jar=$tmp/jar/api-$STRIMZI_VERSION-tests.jar
(cd "$tmp/set/strimzi" && unzip -q -j "$jar" 'crds/v1beta2/*.yaml') || { log "$jar has no crds/v1beta2/"; exit 1; }
(cd "$tmp/set/strimzi-v1" && unzip -q -j "$jar" 'crds/v1/*.yaml') || { log "$jar has no crds/v1/"; exit 1; }
for dir in strimzi strimzi-v1; do
  for kind in kafkatopic kafkaconnector; do
    ls "$tmp/set/$dir/"*"-Crd-$kind.yaml" >/dev/null 2>&1 || { log "$jar has no $kind CRD in $dir"; exit 1; }
  done
done

touch "$tmp/set/.complete"
rm -rf "$target"
mv "$tmp/set" "$target"
log "CRDs in $target"
echo "$target"
