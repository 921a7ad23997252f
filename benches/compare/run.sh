#!/bin/sh
# Comparison benchmark of `glassmaster build` (issue 7): generates the workloads, builds
# glassmaster and a hadris-iso driver, times them against genisoimage and xorriso with the
# floors of the machine, and writes the generated part of docs/performance.md.
#   benches/compare/run.sh --help
#   benches/compare/run.sh --quick            # 1/20 size, 2 runs: a few minutes
#   benches/compare/run.sh --full             # the measurement of record (quiet machine)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/bench.py" "$@"
