#!/usr/bin/env bash
# `npm run bench`: every benchmark in turn, each in a fresh process (its own `npm run`), then
# `npm run bench:report` to rewrite the README's table from bench/results/*.json.
#
#   npm run bench                          # all of them (about an hour on 2 cores)
#   BENCH_ONLY=serde,relay npm run bench   # some of them, by the names below
#
# A benchmark that fails (or misses a goal it exits 1 for) does not stop the others; the report
# still runs, and the exit status is 1 with the failures listed. BENCH_ONLY is this script's: it
# is not passed on (bench:e2e reads its own BENCH_ONLY=storeRebuild; run that one directly).
set -uo pipefail
cd "$(dirname "$0")/.."

# The benchmarks, in the order they run: <name>=<npm script>. The one list (bench/report.spec.ts
# checks it against package.json and the README table).
BENCHMARKS=(
  serde=bench:serde
  event-store=bench:event-store
  commands=bench:commands
  archive=bench:archive
  relay=bench:relay
  e2e=bench:e2e
  tracing=bench:tracing
  chaos=chaos
)

names=()
for entry in "${BENCHMARKS[@]}"; do names+=("${entry%%=*}"); done

selected=("${names[@]}")
if [ -n "${BENCH_ONLY:-}" ]; then
  IFS=',' read -r -a wanted <<<"$BENCH_ONLY"
  selected=()
  for want in "${wanted[@]}"; do
    want="${want// /}"
    [ -z "$want" ] && continue
    if [[ " ${names[*]} " != *" $want "* ]]; then
      echo "bench: BENCH_ONLY names an unknown benchmark '$want' (known: ${names[*]})" >&2
      exit 2
    fi
    selected+=("$want")
  done
  if [ "${#selected[@]}" -eq 0 ]; then
    echo "bench: BENCH_ONLY selects nothing (known: ${names[*]})" >&2
    exit 2
  fi
fi
is_selected() { [[ " ${selected[*]} " == *" $1 "* ]]; }

failed=()
t0=$SECONDS
for entry in "${BENCHMARKS[@]}"; do
  name="${entry%%=*}"
  script="${entry#*=}"
  is_selected "$name" || continue
  # bench:commands runs bench:event-store first (its stream loads come from it): not twice
  if [ "$name" = event-store ] && is_selected commands; then
    echo "==> bench: event-store runs as part of commands"
    continue
  fi
  echo "==> bench: $name (npm run $script)"
  t=$SECONDS
  if env -u BENCH_ONLY npm run --silent "$script"; then
    echo "    $name done in $((SECONDS - t)) s"
  else
    echo "    $name FAILED (exit $?) after $((SECONDS - t)) s" >&2
    failed+=("$name")
  fi
done

echo "==> bench: report (npm run bench:report)"
if ! env -u BENCH_ONLY npm run --silent bench:report; then failed+=(report); fi

echo "==> bench: $((SECONDS - t0)) s"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "bench: failed: ${failed[*]}" >&2
  exit 1
fi
