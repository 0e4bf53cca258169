#!/usr/bin/env bash
# Benchmarks: mproc, Python's multiprocessing and the raw OS primitive, side by side in one
# run; one JSON object per line: process start+join, then the synchronization objects (Lock,
# locked Value, Event, Semaphore), then the queues (Queue 64-byte messages/s and 1 MiB MB/s,
# one producer process and one consumer; SimpleQueue 64-byte for information), then the
# pipes (Pipe 64-byte messages/s and 1 MiB MB/s one way, and 64-byte ping-pong round
# trips/s over a duplex pipe), then the process pool beside multiprocessing.Pool (tiny tasks/s
# through map at chunksize 1 and automatic, imap_unordered and apply_async; Pool start +
# close + join in ms; the speedup of N workers over one on a CPU-bound task), then the
# thread pool beside multiprocessing.dummy.Pool and concurrent.futures.ThreadPoolExecutor
# (tiny tasks/s through map at chunksize 1 and automatic, and apply_async), then the
# manager beside Python's Manager() (start + dict() + shutdown in ms; a dict's set and get
# operations/s from a child process, one by one and in batches of 100, beside a raw
# socketpair request/answer round trip), with the issues' goals as pass/miss. Extra
# arguments go to bench/run.py: --reps N (process and pool start+join, manager start),
# --sync-reps N and --seconds S (synchronization, queues, pipes, pools and the manager's
# rates), --only start|sync|queue|pipe|pool|threadpool|manager, --queue-ring BYTES (the
# mproc Queue's ring; default the library's), --verbose.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh native
[ -d build ] || meson setup build >/dev/null
meson compile -C build >/dev/null
exec python3 bench/run.py build "$@"
