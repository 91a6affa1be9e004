#!/bin/bash
# Interleaved A/B runs of `validate`: each round runs every binary once, in
# turn, so a slow spell of the machine falls on all of them alike.
#
#   benches/ab.sh FILE N BIN1 BIN2 ...
#
# FILE is read in $BENCH_DIR (default /tmp/i15, where the validate bench
# writes its files) with the mapping $MAPPING (default registru.toml).
# Prints, per binary, the wall-clock seconds and the CPU seconds
# (user + sys) of its N runs, sorted by round.
set -euo pipefail
f=$1; n=$2; shift 2
cd "${BENCH_DIR:-/tmp/i15}"
for _ in $(seq "$n"); do
  for b in "$@"; do
    /usr/bin/time -f "$(basename "$b") %e wall %U user %S sys %M KB" \
      "$b" validate "$f" --mapping "${MAPPING:-registru.toml}" --json 2>&1 >/dev/null | grep wall || true
  done
done | awk '{w[$1]=w[$1]" "$2; c[$1]=c[$1]" "($4+$6)} END {for (k in w) print k, "wall:" w[k], " cpu:" c[k]}'
