#!/usr/bin/env bash
# Benchmarks: mproc, Python's multiprocessing and the raw OS primitive, side by side in one
# run; one JSON object per line. Extra arguments go to bench/run.py (e.g. --reps 100).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh native
[ -d build ] || meson setup build >/dev/null
meson compile -C build >/dev/null
exec python3 bench/run.py build "$@"
