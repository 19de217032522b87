#!/usr/bin/env bash
# Prints the path of a Chromium for the browser tests (playwright-core drives it), installing
# Debian's `chromium` package first if there is none (the browser tests call this:
# apps/system-e2e/src/support/browser.ts).
#   1. $CHROMIUM_PATH, if set (must be executable; you then own its version);
#   2. `chromium` (Debian) or `chromium-browser` on PATH;
#   3. otherwise `apt-get install -y chromium fonts-liberation` (as root; ~1 min, once per machine).
# Playwright's own browser downloads come from a CDN this project cannot rely on, so the browser is
# the distribution's. Progress goes to stderr; stdout is the binary's path and nothing else.
# Concurrent callers wait on a lock instead of installing twice.
set -euo pipefail

log() { echo "ensure-chromium: $*" >&2; }

found() {
  local candidate
  for candidate in chromium chromium-browser; do
    if command -v "$candidate" >/dev/null 2>&1; then command -v "$candidate"; return 0; fi
  done
  return 1
}

if [ -n "${CHROMIUM_PATH:-}" ]; then
  [ -x "$CHROMIUM_PATH" ] || { log "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable file"; exit 1; }
  echo "$CHROMIUM_PATH"; exit 0
fi
if found; then exit 0; fi

command -v apt-get >/dev/null 2>&1 ||
  { log "no chromium found and no apt-get to install it: install Chromium, or set CHROMIUM_PATH"; exit 1; }
[ "$(id -u)" = 0 ] ||
  { log "no chromium found: run 'sudo apt-get install -y chromium' (or set CHROMIUM_PATH)"; exit 1; }

lock=/var/lock/cqrs-ensure-chromium.lock
if command -v flock >/dev/null 2>&1; then
  exec 9>"$lock"
  flock 9
fi
if found; then exit 0; fi # another caller installed it while this one waited
start=$SECONDS
log "installing Debian's chromium (once per machine)"
apt_log=$(mktemp)
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-liberation >"$apt_log" 2>&1; then
  # A fresh machine may have no package lists yet.
  if ! { apt-get update >>"$apt_log" 2>&1 &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-liberation >>"$apt_log" 2>&1; }; then
    tail -n 20 "$apt_log" >&2
    log "apt-get install chromium failed (full log: $apt_log)"
    exit 1
  fi
fi
rm -f "$apt_log"
found >/dev/null || { log "apt-get installed chromium but no chromium is on PATH"; exit 1; }
log "installed $("$(found)" --version 2>/dev/null | head -n1) in $((SECONDS - start))s"
found
