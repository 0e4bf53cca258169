#!/usr/bin/env python3
"""Runs the benchmarks: the C program's figures (mproc and the raw OS primitive), then the
same operations with Python's multiprocessing in this run, on this machine. Prints one JSON
object per line: {"op", "unit", "mproc", "python", "raw", ...ratios}.

    bench/run.py BUILD_DIR [--reps N] [--sync-reps N] [--seconds S]
                           [--only start|sync|queue|pipe] [--queue-ring BYTES] [--verbose]

Process start+join is a time (unit "us", lower is better): python_over_mproc is how many
times faster mproc is than Python, mproc_over_raw how many times slower than raw.

The synchronization figures are rates (unit ".../s", higher is better): mproc_over_python
is how many times faster mproc is than Python, mproc_over_raw the fraction of raw's speed
that mproc reaches. Each run's count of operations is calibrated to last about --seconds
(default 0.3); the figure is the median of --sync-reps runs (default 5). "goals" gives the
issue's targets as pass or miss: mproc at least 10x Python on each, and the uncontended
Lock at least 50 % of the raw mutex. Python's uncontended loops call bound methods saved
in locals (its fastest spelling; `with lock:` is about 4x slower), so the ratios are
conservative.

The queue figures are rates too, measured the same way: one producer process puts n
messages, one consumer process (the parent) gets them; the clock starts when both are ready
and stops when the consumer has the last message. Queue 64-byte messages/s (goal: mproc at
least 20x Python's multiprocessing.Queue), Queue 1 MiB messages in MB/s (goal: mproc at
least 50 % of raw, a bare pipe with a 4-byte length header per message plus the copy into a
fresh buffer at the receiver; "memcpy" is one process copying 1 MiB into a fresh buffer,
for information), and, for information only, SimpleQueue 64-byte messages/s beside
Python's multiprocessing.SimpleQueue. The mproc Queue uses the library's default ring
(16 MiB) unless --queue-ring gives its size in bytes (the SimpleQueue always has the
default); Python's queues are pipes and have no such setting.

The pipe figures are rates as well, between two processes, measured the same way. One way
(mproc_pipe duplex=false beside Python's Pipe(duplex=False) send_bytes/recv_bytes): a writer
child sends n messages, the parent reads them; the clock starts when both are ready and
stops when the reader has the last. Pipe 64-byte messages/s and Pipe 1 MiB messages in MB/s;
raw is a bare socketpair (the stream under mproc's Pipe on POSIX; Windows an anonymous pipe)
with a 4-byte length header per message and the copy into a fresh buffer at the receiver,
as for the queues. No goal: the ratios are for information. Pipe ping-pong round trips/s:
a duplex pipe (Python's Pipe()), the parent sends a 64-byte message and the child sends it
back; raw is a blocking socketpair ping-pong of 64 bytes (Windows a duplex named pipe).
Goal: mproc's round trip within 2x raw's (mproc_over_raw >= 0.5); "us_per_round_trip"
gives the times. mproc's messages are numbered and each one is checked (and the end is
seen); Python's loops only check the last message, so its figures are not handicapped.
"""
import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time


def nothing():
    pass


def python_start_join_us(method, reps):
    ctx = mp.get_context(method)
    ctx.Process(target=nothing).start()  # warm-up: the forkserver starts here
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        p = ctx.Process(target=nothing)
        p.start()
        p.join(30)
        samples.append((time.perf_counter() - start) * 1e6)
        if p.exitcode != 0:
            raise SystemExit(f"python {method} child failed: {p.exitcode}")
    return statistics.median(samples)


# ---- synchronization: as bench_mproc.c does it, with the default start method ----------------
# A trial does n operations (or n per child) and returns the seconds they took, measured
# around the operations only (process start and exit are outside).

PINGPONG_WARMUP = 50


def lock_trial(n):
    lock = mp.Lock()
    acquire, release = lock.acquire, lock.release  # Python's fastest spelling
    start = time.perf_counter()
    for _ in range(n):
        acquire()
        release()
    return time.perf_counter() - start


def semaphore_trial(n):
    sem = mp.Semaphore(1)
    acquire, release = sem.acquire, sem.release
    start = time.perf_counter()
    for _ in range(n):
        acquire()
        release()
    return time.perf_counter() - start


def _join_all(procs):
    for p in procs:
        p.join(120)
        if p.exitcode != 0:
            raise SystemExit(f"python benchmark child failed: {p.exitcode}")


def _value_child(value, ends, ready, go, index, n):
    ready.release()
    go.wait()
    lock = value.get_lock()
    for _ in range(n):
        with lock:
            value.value += 1
    ends[index] = time.perf_counter()  # CLOCK_MONOTONIC / QPC: the same clock in all processes


def value_trial(n):
    value = mp.Value("i", 0)
    ends = mp.Array("d", 2, lock=False)
    ready, go = mp.Semaphore(0), mp.Event()
    procs = [mp.Process(target=_value_child, args=(value, ends, ready, go, i, n))
             for i in range(2)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    start = time.perf_counter()
    go.set()
    _join_all(procs)
    if value.value != 2 * n:
        raise SystemExit(f"python locked Value ended at {value.value}, not {2 * n}")
    return max(ends) - start


def _pingpong_child(ping, pong, n):
    for _ in range(n):
        ping.wait()
        ping.clear()
        pong.set()


def event_trial(n):
    ping, pong = mp.Event(), mp.Event()
    p = mp.Process(target=_pingpong_child, args=(ping, pong, PINGPONG_WARMUP + n))
    p.start()
    start = 0.0
    for i in range(PINGPONG_WARMUP + n):
        if i == PINGPONG_WARMUP:
            start = time.perf_counter()
        ping.set()
        pong.wait()
        pong.clear()
    elapsed = time.perf_counter() - start
    _join_all([p])
    return elapsed


# ---- queues: as bench_mproc.c does it; the producer is a child, the consumer this process ----

QUEUE_SMALL = 64
QUEUE_LARGE = 1 << 20


def _queue_producer(q, ready, go, n, size):
    msg = b"\xa5" * size  # written bytes (bytes(size) may be untouched calloc'd pages)
    put = q.put
    ready.release()
    go.wait()
    for _ in range(n):
        put(msg)


def queue_trial(n, size, simple):
    q = mp.SimpleQueue() if simple else mp.Queue()
    ready, go = mp.Semaphore(0), mp.Event()
    p = mp.Process(target=_queue_producer, args=(q, ready, go, n, size))
    p.start()
    ready.acquire()
    get = q.get
    msg = None
    start = time.perf_counter()
    go.set()
    for _ in range(n):
        msg = get()
    elapsed = time.perf_counter() - start
    _join_all([p])
    if len(msg) != size:
        raise SystemExit(f"python queue message of {len(msg)} bytes, not {size}")
    q.close()
    return elapsed


# ---- pipes: as bench_mproc.c does it; the writer (or the echoing end) is a child ------------

PIPE_SMALL = 64
PIPE_LARGE = 1 << 20


def _pipe_writer(w, ready, go, n, size):
    msg = b"\xa5" * size
    send = w.send_bytes
    ready.release()
    go.wait()
    for _ in range(n):
        send(msg)
    w.close()


def pipe_trial(n, size):
    r, w = mp.Pipe(duplex=False)  # Python's (reader, writer): POSIX os.pipe()
    ready, go = mp.Semaphore(0), mp.Event()
    p = mp.Process(target=_pipe_writer, args=(w, ready, go, n, size))
    p.start()
    w.close()  # the child's end
    ready.acquire()
    recv = r.recv_bytes
    msg = None
    start = time.perf_counter()
    go.set()
    for _ in range(n):
        msg = recv()
    elapsed = time.perf_counter() - start
    _join_all([p])
    if len(msg) != size:
        raise SystemExit(f"python pipe message of {len(msg)} bytes, not {size}")
    try:
        r.recv_bytes()
        raise SystemExit("python pipe gave a message after the last")
    except EOFError:
        pass
    r.close()
    return elapsed


def _pipe_echo(c, n):
    recv, send = c.recv_bytes, c.send_bytes
    for _ in range(n):
        send(recv())
    c.close()


def pipe_pingpong_trial(n):
    a, b = mp.Pipe()  # duplex: POSIX a socketpair
    p = mp.Process(target=_pipe_echo, args=(b, PINGPONG_WARMUP + n))
    p.start()
    b.close()
    msg = b"\xa5" * PIPE_SMALL
    send, recv = a.send_bytes, a.recv_bytes
    start = 0.0
    for i in range(PINGPONG_WARMUP + n):
        if i == PINGPONG_WARMUP:
            start = time.perf_counter()
        send(msg)
        back = recv()
    elapsed = time.perf_counter() - start
    _join_all([p])
    if back != msg:
        raise SystemExit(f"python ping-pong came back as {len(back)} other bytes")
    a.close()
    return elapsed


# name (from the C record's "python_bench") -> (trial, units per n: operations, or MB)
SYNC_TRIALS = {
    "lock": (lock_trial, 1),
    "value": (value_trial, 2),
    "event": (event_trial, 1),
    "semaphore": (semaphore_trial, 1),
    "queue64": (lambda n: queue_trial(n, QUEUE_SMALL, False), 1),
    "queue1m": (lambda n: queue_trial(n, QUEUE_LARGE, False), QUEUE_LARGE / 1e6),
    "simplequeue64": (lambda n: queue_trial(n, QUEUE_SMALL, True), 1),
    "pipe64": (lambda n: pipe_trial(n, PIPE_SMALL), 1),
    "pipe1m": (lambda n: pipe_trial(n, PIPE_LARGE), PIPE_LARGE / 1e6),
    "pipepingpong": (pipe_pingpong_trial, 1),
}

# The goals per figure (from the C record's "python_bench"): mproc's speedup over
# Python (None: no goal) and the fraction of raw's rate mproc must reach (None: no goal).
SPEEDUP_GOAL = {"queue64": 20, "queue1m": None, "simplequeue64": None,
                "pipe64": None, "pipe1m": None, "pipepingpong": None}  # default: 10
OF_RAW_GOAL = {"lock": 0.5, "queue1m": 0.5, "pipepingpong": 0.5}
# How a goal on raw reads where it is not "mproc >= N % of raw".
OF_RAW_LABEL = {"pipepingpong": "mproc round trip <= 2x raw's"}


def calibrate(trial, target):
    """The n for which a trial lasts about target seconds (as bench_mproc.c)."""
    n = 100
    while True:
        t = trial(n)
        if t >= target / 10 or n >= 1 << 40:
            return max(1, int(n * target / max(t, 1e-6)))
        n *= 10


def python_rate(name, target, reps, cache={}):  # cache: the two Value rows share one figure
    if name not in cache:
        trial, ops_per_n = SYNC_TRIALS[name]
        n = calibrate(trial, target)
        cache[name] = statistics.median(n * ops_per_n / trial(n) for _ in range(reps))
    return cache[name]


def python_figure(record, args):
    method = record.get("method")
    if method and method in mp.get_all_start_methods():
        # Python's spawn costs tens of ms a child; fewer repetitions keep the run short.
        reps = args.reps
        return python_start_join_us(method, max(5, reps // 3) if method != "fork" else reps)
    bench = record.get("python_bench")
    if bench in SYNC_TRIALS:
        return python_rate(bench, args.seconds, args.sync_reps)
    return None


def time_record(record):
    ordered = {k: record[k] for k in ("op", "unit", "mproc", "python", "raw")}
    # Lower is better for times: python/mproc is how many times faster mproc is.
    if record["python"]:
        ordered["python"] = round(record["python"], 1)
        ordered["python_over_mproc"] = round(record["python"] / record["mproc"], 1)
    ordered["mproc_over_raw"] = round(record["mproc"] / record["raw"], 2)
    return ordered


def rate_record(record):
    ordered = {k: record[k] for k in ("op", "unit", "mproc", "python", "raw")}
    if "memcpy" in record:
        ordered["memcpy"] = record["memcpy"]
    # Higher is better for rates: mproc/python is how many times faster mproc is.
    bench = record.get("python_bench")
    goals = {}
    if record["python"]:
        ordered["python"] = round(record["python"])
        speedup = record["mproc"] / record["python"]
        ordered["mproc_over_python"] = round(speedup, 1)
        goal = SPEEDUP_GOAL.get(bench, 10)
        if goal:
            goals[f"mproc >= {goal}x python"] = "pass" if speedup >= goal else "miss"
    if record["raw"]:
        of_raw = record["mproc"] / record["raw"]
        ordered["mproc_over_raw"] = round(of_raw, 2)
        goal = OF_RAW_GOAL.get(bench)
        if goal:
            label = OF_RAW_LABEL.get(bench, f"mproc >= {goal:.0%} of raw")
            goals[label] = "pass" if of_raw >= goal else "miss"
    if record["unit"] == "round trips/s":  # the time of one round trip, for reading the goal
        ordered["us_per_round_trip"] = {k: round(1e6 / ordered[k], 1)
                                        for k in ("mproc", "python", "raw") if ordered[k]}
    if record.get("memcpy"):
        ordered["mproc_over_memcpy"] = round(record["mproc"] / record["memcpy"], 3)
    ordered["goals"] = goals
    return ordered


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("build", help="the meson build directory")
    parser.add_argument("--reps", type=int, default=50, help="start+join repetitions")
    parser.add_argument("--sync-reps", type=int, default=5,
                        help="timed runs per sync, queue or pipe figure")
    parser.add_argument("--seconds", type=float, default=0.3, help="length of one timed run")
    parser.add_argument("--only", choices=("start", "sync", "queue", "pipe"),
                        help="one group of benchmarks")
    parser.add_argument("--queue-ring", type=int, default=0,
                        help="the mproc Queue's ring size in bytes (0: the library's default)")
    parser.add_argument("--verbose", action="store_true",
                        help="the C program's runs, one by one, on stderr")
    args = parser.parse_args()
    exe = os.path.join(args.build, "bench", "bench_mproc")
    cmd = [exe, "--reps", str(args.reps), "--sync-reps", str(args.sync_reps),
           "--seconds", str(args.seconds)]
    if args.only:
        cmd += ["--only", args.only]
    if args.queue_ring:
        cmd += ["--queue-ring", str(args.queue_ring)]
    if args.verbose:
        cmd.append("--verbose")
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=600)
    # Python's figures are measured after the C program ended, never beside it. When it
    # failed half-way, the figures it had finished still come out, then its status.
    for line in done.stdout.splitlines():
        record = json.loads(line)
        record["python"] = python_figure(record, args)
        rate = record["unit"].endswith("/s")
        print(json.dumps(rate_record(record) if rate else time_record(record),
                         ensure_ascii=False), flush=True)
    if done.returncode != 0:
        print(f"run.py: {exe} failed with status {done.returncode} (its error is above)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
