#!/usr/bin/env bash
# Prints the path of a schemathesis CLI (`st`) at the pinned version, installing it first if needed
# (the API fuzzing tier calls this: apps/system-e2e/src/fuzz.e2e.spec.ts, `npm run fuzz`).
#   1. $SCHEMATHESIS_BIN, if set (must be executable; you then own its version);
#   2. the venv this script built earlier for exactly tools/scripts/schemathesis-requirements.txt:
#      ${CQRS_TOOLS_CACHE:-~/.cache/cqrs-tools}/schemathesis/<hash of that file and of python>/;
#   3. otherwise it builds that venv from PyPI (needs Python 3.11+ with venv; ~30 s, once per machine
#      and per change of the pins).
# Outside the repo, like ensure-helm.sh's cache, so every clone and worktree (and CI's fresh clone
# on the same machine) shares one install. Progress goes to stderr; stdout is the binary's path
# and nothing else. Concurrent callers wait on a lock instead of installing twice.
set -euo pipefail
cd "$(dirname "$0")"

REQUIREMENTS=$PWD/schemathesis-requirements.txt
CACHE=${CQRS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cqrs-tools}

log() { echo "ensure-schemathesis: $*" >&2; }

if [ -n "${SCHEMATHESIS_BIN:-}" ]; then
  [ -x "$SCHEMATHESIS_BIN" ] || { log "SCHEMATHESIS_BIN=$SCHEMATHESIS_BIN is not an executable file"; exit 1; }
  echo "$SCHEMATHESIS_BIN"; exit 0
fi

python=
for candidate in ${CQRS_PYTHON:-} python3 python3.13 python3.12 python3.11; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    python=$(command -v "$candidate"); break
  fi
done
if [ -z "$python" ]; then
  log "schemathesis needs Python 3.11 or newer: install it (apt-get install -y python3 python3-venv) or set CQRS_PYTHON"
  exit 1
fi

# The venv is keyed by the pins and the interpreter: a venv's scripts point at the python that made it.
key=$( { cat "$REQUIREMENTS"; "$python" -c 'import sys; print(sys.version, sys.executable)'; } | sha256sum | cut -c1-16)
venv=$CACHE/schemathesis/$key
st=$venv/bin/st
# The marker is written last: a venv without it is an interrupted install and is rebuilt.
if [ -f "$venv/.complete" ]; then echo "$st"; exit 0; fi

mkdir -p "$CACHE/schemathesis"
if command -v flock >/dev/null 2>&1; then # util-linux; macOS has none, and then installs may overlap
  exec 9>"$CACHE/schemathesis/.lock"
  flock 9
fi
if [ ! -f "$venv/.complete" ]; then
  start=$SECONDS
  log "installing $(grep -m1 '^schemathesis==' "$REQUIREMENTS") with $("$python" --version) into $venv (once per machine)"
  # Built in place (a venv's scripts name its own path); the marker below makes it count.
  rm -rf "$venv"
  if ! "$python" -m venv "$venv" >&2; then
    log "'$python -m venv' failed; on Debian/Ubuntu install the venv module: apt-get install -y python3-venv"
    exit 1
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$REQUIREMENTS" >&2 ||
    { log "pip install failed (is PyPI reachable? PIP_INDEX_URL=${PIP_INDEX_URL:-default})"; exit 1; }
  "$st" --version >/dev/null
  touch "$venv/.complete"
  log "installed $("$st" --version) in $((SECONDS - start))s"
fi
echo "$st"
