#!/usr/bin/env bash
# Benchmarks: mproc, Python's multiprocessing and the raw OS primitive, side by side in one
# run; one JSON object per line: process start+join, then the synchronization objects (Lock,
# locked Value, Event, Semaphore), then the queues (Queue 64-byte messages/s and 1 MiB MB/s,
# one producer process and one consumer; SimpleQueue 64-byte for information), then the
# pipes (Pipe 64-byte messages/s and 1 MiB MB/s one way, and 64-byte ping-pong round
# trips/s over a duplex pipe), with the issues' goals as pass/miss. Extra arguments go to
# bench/run.py: --reps N (start+join), --sync-reps N and --seconds S (synchronization,
# queues and pipes), --only start|sync|queue|pipe, --queue-ring BYTES (the mproc Queue's
# ring; default the library's), --verbose.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh native
[ -d build ] || meson setup build >/dev/null
meson compile -C build >/dev/null
exec python3 bench/run.py build "$@"
