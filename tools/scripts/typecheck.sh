#!/usr/bin/env bash
# Type-checks one project: every tsconfig.{app,lib,spec}.json in its root, without emitting.
set -euo pipefail
root="$1"
for cfg in "$root"/tsconfig.app.json "$root"/tsconfig.lib.json "$root"/tsconfig.spec.json; do
  [ -f "$cfg" ] && npx tsc --noEmit -p "$cfg"
done
exit 0
