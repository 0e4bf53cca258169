#!/usr/bin/env bash
# Benchmarks: mproc, Python's multiprocessing and the raw OS primitive, side by side in one
# run; one JSON object per line: process start+join, then the synchronization objects (Lock,
# locked Value, Event, Semaphore) with the issue's goals as pass/miss. Extra arguments go to
# bench/run.py: --reps N (start+join), --sync-reps N and --seconds S (synchronization),
# --only start|sync, --verbose.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh native
[ -d build ] || meson setup build >/dev/null
meson compile -C build >/dev/null
exec python3 bench/run.py build "$@"
