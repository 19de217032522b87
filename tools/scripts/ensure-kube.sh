#!/usr/bin/env bash
# Prints the directory holding a Kubernetes control plane for the deployment tests
# (tools/deploy/src/lib/control-plane.ts) and `npm run deploy:verify`: `etcd`, `kube-apiserver`,
# `kube-controller-manager` and `kubectl`.
# Usage: ensure-kube.sh [KUBERNETES_VERSION]   (default: the pinned version below)
#   1. $KUBE_BIN_DIR, if set (must hold those four executables);
#   2. the version, built earlier into the cache: ${CQRS_TOOLS_CACHE:-~/.cache/cqrs-tools}/kube/<version>/;
#   3. otherwise built with `go build` from the Go module proxy into that cache (needs Go 1.24+;
#      10 to 35 minutes on 2 cores, once per machine and version; a minute or two when only the Go
#      build cache is warm):
#      - kube-apiserver, kube-controller-manager and kubectl from k8s.io/kubernetes@<version>, in a throwaway
#        module that requires it and points each k8s.io staging module at its published v0.<minor>.<patch>
#        (what the kubernetes repo's own `replace ... => ./staging/...` lines stand for), with the
#        version stamped in by -ldflags as the release build does (Helm refuses an unversioned server);
#      - etcd from go.etcd.io/etcd/server/v3@<etcd version>'s etcdmain, shared by the Kubernetes versions
#        that use the same etcd (cache: .../etcd/<etcd version>/etcd).
# Progress goes to stderr; stdout is the directory's path and nothing else. Concurrent callers
# (parallel test runs) wait on a lock instead of building twice.
set -euo pipefail

# The default is the version the deployment tests run against; docs/deployment.md lists the tested ones.
KUBE_VERSION=${1:-${CQRS_KUBE_VERSION:-v1.31.4}}
CACHE=${CQRS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cqrs-tools}

log() { echo "ensure-kube: $*" >&2; }

if [ -n "${KUBE_BIN_DIR:-}" ]; then
  for bin in etcd kube-apiserver kube-controller-manager kubectl; do
    [ -x "$KUBE_BIN_DIR/$bin" ] || { log "KUBE_BIN_DIR=$KUBE_BIN_DIR has no executable $bin"; exit 1; }
  done
  echo "$KUBE_BIN_DIR"; exit 0
fi

[[ $KUBE_VERSION =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || { log "'$KUBE_VERSION' is not a Kubernetes release version (v1.N.M)"; exit 1; }
kube_minor=${BASH_REMATCH[1]}
staging_version="v0.$kube_minor.${BASH_REMATCH[2]}"
# The etcd line each Kubernetes minor ships with (its go.mod's etcd client): v1.31 and v1.37 with these
# are tested (docs/deployment.md), 1.34-1.36 with v3.6 are not. CQRS_ETCD_VERSION overrides.
case $kube_minor in
  2[5-9] | 3[0-3]) default_etcd=v3.5.16 ;;
  3[4-6]) default_etcd=v3.6.5 ;;
  *) default_etcd=v3.7.3 ;;
esac
ETCD_VERSION=${CQRS_ETCD_VERSION:-$default_etcd}

kube_dir=$CACHE/kube/$KUBE_VERSION
etcd_dir=$CACHE/etcd/$ETCD_VERSION
complete() {
  for bin in kube-apiserver kube-controller-manager kubectl etcd; do [ -x "$kube_dir/$bin" ] || return 1; done
}
if complete; then echo "$kube_dir"; exit 0; fi

if ! command -v go >/dev/null 2>&1; then
  log "no Kubernetes control plane in $kube_dir and no Go toolchain to build it: install Go 1.24+,"
  log "or set KUBE_BIN_DIR to a directory holding etcd, kube-apiserver, kube-controller-manager and kubectl ($KUBE_VERSION)."
  exit 1
fi

mkdir -p "$CACHE/kube" "$CACHE/etcd"
if command -v flock >/dev/null 2>&1; then # util-linux; macOS has none, and then builds may overlap
  exec 9>"$CACHE/kube/.lock"
  flock 9
fi
if complete; then echo "$kube_dir"; exit 0; fi

tmp=$(mktemp -d "$CACHE/kube/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { log "$1 (is the Go module proxy reachable? GOPROXY=$(go env GOPROXY))"; exit 1; }
# Outside any work tree, with the proxy's checksums verified (go.sum is written as the build resolves);
# static, so the binaries survive libc updates.
gobuild() { CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath "$@" >&2; }
gomod_of() { go mod download -json "$1" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p'; }

if [ ! -x "$etcd_dir/etcd" ]; then
  log "building etcd $ETCD_VERSION with 'go build' into $etcd_dir (once per machine)"
  start=$SECONDS
  mkdir -p "$tmp/etcd"
  cat >"$tmp/etcd/main.go" <<'EOF'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
  (cd "$tmp/etcd" && go mod init cqrs-tools/etcd >/dev/null 2>&1 && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2 &&
    gobuild -ldflags "-s -w" -o etcd .) || fail "building etcd failed"
  "$tmp/etcd/etcd" --version >/dev/null || fail "the etcd just built does not run"
  mkdir -p "$etcd_dir"
  mv "$tmp/etcd/etcd" "$etcd_dir/etcd"
  log "built etcd $ETCD_VERSION in $((SECONDS - start))s"
fi

log "building kube-apiserver, kube-controller-manager and kubectl $KUBE_VERSION with 'go build' into $kube_dir (once per machine; 10 to 35 minutes on 2 cores)"
start=$SECONDS
mkdir -p "$tmp/kube"
gomod=$(cd "$tmp/kube" && gomod_of "k8s.io/kubernetes@$KUBE_VERSION") || fail "go mod download k8s.io/kubernetes@$KUBE_VERSION failed"
[ -n "$gomod" ] || fail "no go.mod for k8s.io/kubernetes@$KUBE_VERSION"
go_directive=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod")
{
  echo "module cqrs-tools/kube"
  echo
  echo "go ${go_directive:-1.22.0}"
  echo
  echo "require k8s.io/kubernetes $KUBE_VERSION"
  echo
  echo "replace ("
  sed -n "s#^[[:space:]]*\(k8s\.io/[a-z0-9.-]*\) => \./staging/src/k8s\.io/.*#\t\1 => \1 $staging_version#p" "$gomod"
  echo ")"
} >"$tmp/kube/go.mod"
grep -q "k8s.io/apiserver => k8s.io/apiserver $staging_version" "$tmp/kube/go.mod" ||
  fail "found no staging modules in $gomod"
# What the release build stamps (hack/lib/version.sh): the server's /version, which Helm checks against kubeVersion.
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags="$ldflags -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$kube_minor"
  ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
(cd "$tmp/kube" && gobuild -ldflags "$ldflags" -o "$tmp/kube/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl) || fail "building Kubernetes failed"
reported=$("$tmp/kube/kube-apiserver" --version) || fail "the kube-apiserver just built does not run"
[ "$reported" = "Kubernetes $KUBE_VERSION" ] || fail "the kube-apiserver just built reports '$reported', not $KUBE_VERSION"
mkdir -p "$kube_dir"
mv "$tmp/kube/kube-controller-manager" "$kube_dir/kube-controller-manager"
mv "$tmp/kube/kubectl" "$kube_dir/kubectl"
ln -sfn "../../etcd/$ETCD_VERSION/etcd" "$kube_dir/etcd"
mv "$tmp/kube/kube-apiserver" "$kube_dir/kube-apiserver"
log "built kube-apiserver, kube-controller-manager and kubectl $KUBE_VERSION in $((SECONDS - start))s"
echo "$kube_dir"
