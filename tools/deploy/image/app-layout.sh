#!/bin/sh
# Lays out an app the way its container image holds it in /app. The Dockerfile runs this, and so
# does tools/deploy's image e2e test, so the test runs the image's command on the image's files.
#   app-layout.sh files <dist-dir> <dest>        build output + healthcheck.mjs + instrumentation.js
#   app-layout.sh deps <dir> [root-lockfile]     production dependencies of <dir>/package.json
#
# Dependencies come from the monorepo's package-lock.json, the versions every test ran against,
# pruned to the app's own production dependencies by npm. Not from the package-lock.json Nx
# generates beside the bundle: that one can misplace nested packages (typeorm's string-width),
# which `npm ci` rejects. `npm ls` then proves the installed tree complete and consistent.
set -eu
here=$(cd "$(dirname "$0")" && pwd)

case "${1:-}" in
  files)
    src=${2:?dist dir} dest=${3:?destination}
    [ -f "$src/main.js" ] || { echo "app-layout: $src/main.js is missing: build the app first" >&2; exit 1; }
    [ -f "$src/package.json" ] || { echo "app-layout: $src/package.json is missing (generatePackageJson)" >&2; exit 1; }
    mkdir -p "$dest"
    cp -R "$src/." "$dest/"
    rm -f "$dest/package-lock.json"
    cp "$here/healthcheck.mjs" "$dest/healthcheck.mjs"
    # The image always starts with `--import ./instrumentation.js`: the app's own OpenTelemetry
    # bootstrap when its build emits one, an empty module until then.
    [ -f "$dest/instrumentation.js" ] || cp "$here/instrumentation.noop.js" "$dest/instrumentation.js"
    ;;
  deps)
    dir=${2:?directory holding the app package.json}
    [ -z "${3:-}" ] || cp "$3" "$dir/package-lock.json"
    cd "$dir"
    [ -f package-lock.json ] || { echo "app-layout: $dir/package-lock.json is missing: pass the root lockfile" >&2; exit 1; }
    # No install scripts: production dependencies are plain JavaScript (the e2e test checks the tree).
    npm install --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error
    npm ls --omit=dev --all >/dev/null
    ;;
  *)
    echo "usage: app-layout.sh files <dist-dir> <dest> | deps <dir>" >&2
    exit 2
    ;;
esac
