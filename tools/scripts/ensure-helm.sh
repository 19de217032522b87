#!/usr/bin/env bash
# Prints the path of a Helm 3 binary, building it first if there is none (the helm tests call this).
#   1. $HELM_BIN, if set (must be executable);
#   2. the pinned version, built earlier into the cache: ${CQRS_TOOLS_CACHE:-~/.cache/cqrs-tools}/helm/<version>/helm;
#   3. a `helm` on PATH whose version is v3.12 or newer;
#   4. otherwise `go install helm.sh/helm/v3/cmd/helm@<version>` from the Go module proxy into that
#      cache (needs Go 1.24+; a few minutes on 2 cores, once per machine).
# Progress goes to stderr; stdout is the binary's path and nothing else. Concurrent callers
# (parallel test runs) wait on a lock instead of building twice.
set -euo pipefail

HELM_VERSION=${CQRS_HELM_VERSION:-v3.22.0}
CACHE=${CQRS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cqrs-tools}
target_dir=$CACHE/helm/$HELM_VERSION
target=$target_dir/helm

log() { echo "ensure-helm: $*" >&2; }

if [ -n "${HELM_BIN:-}" ]; then
  [ -x "$HELM_BIN" ] || { log "HELM_BIN=$HELM_BIN is not an executable file"; exit 1; }
  echo "$HELM_BIN"; exit 0
fi
if [ -x "$target" ]; then echo "$target"; exit 0; fi
if command -v helm >/dev/null 2>&1; then
  found=$(helm version --template '{{.Version}}' 2>/dev/null || true)
  if [[ $found =~ ^v3\.([0-9]+) ]] && (( BASH_REMATCH[1] >= 12 )); then command -v helm; exit 0; fi
  log "ignoring $(command -v helm) (version '${found:-unknown}'; need v3.12+)"
fi

if ! command -v go >/dev/null 2>&1; then
  log "no helm found and no Go toolchain to build it. Install Helm 3 (https://helm.sh/docs/intro/install/),"
  log "or Go 1.24+ so this script can run 'go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION', or set HELM_BIN."
  exit 1
fi

mkdir -p "$target_dir"
if command -v flock >/dev/null 2>&1; then # util-linux; macOS has none, and then builds may overlap
  exec 9>"$CACHE/helm/.lock"
  flock 9
fi
if [ ! -x "$target" ]; then
  log "building helm $HELM_VERSION with 'go install' into $target_dir (once per machine; takes a few minutes)"
  start=$SECONDS
  tmp=$(mktemp -d "$CACHE/helm/.build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  fail() { log "$1 (is the Go module proxy reachable? GOPROXY=$(go env GOPROXY))"; exit 1; }
  # The ldflags Helm's own Makefile sets: the version, and the Kubernetes version `helm template`
  # and `helm lint` assume (client-go v0.N -> 1.N; without it Helm assumes 1.20).
  gomod=$(cd "$tmp" && go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p') || fail "go mod download failed"
  k8s_minor=$(sed -n 's/^[[:space:]]*k8s\.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$gomod")
  [ -n "$k8s_minor" ] || fail "could not read the client-go version from $gomod"
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for pkg in pkg/lint/rules pkg/chartutil; do
    ldflags="$ldflags -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$k8s_minor"
  done
  # Outside any module, with the proxy's checksums verified; static, so the binary survives libc updates.
  (cd "$tmp" && CGO_ENABLED=0 GOBIN="$tmp" GOFLAGS=-mod=mod go install -trimpath -ldflags "$ldflags" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2) || fail "go install failed"
  "$tmp/helm" version --short >/dev/null
  mv "$tmp/helm" "$target"
  log "built $("$target" version --short) in $((SECONDS - start))s"
fi
echo "$target"
