#!/usr/bin/env bash
# Instructions per drained task, by part: each variant of drain-workload.mjs takes one part away.
# Instruction counts (valgrind's cachegrind, one thread) repeat run to run whatever else the
# machine does, unlike times. Needs valgrind and a build: `npm run build && bash bench/parts/drain-parts.sh`.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -f dist/src/index.js ] || { echo "run npm run build first" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
SMALL=131072
LARGE=393216

instructions() { # variant tasks
  valgrind --tool=cachegrind --cache-sim=no --smc-check=all-non-file --cachegrind-out-file=/dev/null \
    node --single-threaded bench/parts/drain-workload.mjs "$1" "$2" 2>&1 |
    sed -n 's/.*I *refs: *//p' | tr -d ,
}

per_task() { # variant
  local small large
  small=$(instructions "$1" $SMALL)
  large=$(instructions "$1" $LARGE)
  echo $(((large - small) / (LARGE - SMALL)))
}

printf '%-10s %s\n' variant 'instructions/task'
for variant in ${VARIANTS:-full counter nobreaker notracker sync bare pqueue}; do
  printf '%-10s %s\n' "$variant" "$(per_task "$variant")"
done
