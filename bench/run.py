#!/usr/bin/env python3
"""Runs the benchmarks: the C program's figures (mproc and the raw OS primitive), then the
same operations with Python's multiprocessing in this run, on this machine. Prints one JSON
object per line: {"op", "unit", "mproc", "python", "raw", ...ratios}.

    bench/run.py BUILD_DIR [--reps N] [--sync-reps N] [--seconds S]
                           [--only start|sync|queue|pipe|pool|threadpool|manager]
                           [--queue-ring BYTES] [--verbose]

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

The pool figures (--only pool) set mproc_pool beside multiprocessing.Pool, both with N
workers, N = "workers" (the usable CPUs, as the C program counts them); there is no raw
primitive ("raw": null). First Pool(N) start + close + join in ms, lower is better (median
of --reps for mproc, of max(5, --reps // 5) for Python), measured before anything else, as
a fork's cost grows with the parent's memory: under mproc's default start method
(forkserver on POSIX, spawn on Windows) beside Python under the same method, then fork
beside fork (POSIX; Python 3.11's default on Linux). Then tiny tasks (x*x of an integer)
per second, through one pool started before (mproc: the default start method; Python: its
default) and measured like the rates above, the clock around the pool calls only: map(sq,
range(n), chunksize=1) (goal: mproc at least 20x Python), map with the automatic chunksize
(mproc's chunksize 0, Python's None; goal: at least 10x), imap_unordered with chunksize 1,
every result taken, and apply_async n times then the get of each, in order (those two
without goal). Every mproc result is checked; Python's are checked after its clock stops.
Last, the speedup of a CPU-bound task: 4N tasks (at least 8) of ~20 ms of integer work, map
with chunksize 1 on Pool(1) and on Pool(N), runs interleaved; the figure is median
time(Pool(1)) / median time(Pool(N)) (goal: at least 0.9 N), "per_worker" is it divided by
N. Python's speedup, with its own ~20 ms loop, is there for information.

The thread pool figures (--only threadpool) set mproc's thread pool (mproc_threadpool_create,
N worker threads) beside two Python thread pools of N workers: multiprocessing.dummy.Pool(N)
and concurrent.futures.ThreadPoolExecutor(max_workers=N). Tiny tasks (x*x) per second,
measured like the pool rates (but calibration ends with a trial at full size, scaled from,
on both sides: a first use of a size can be much slower than the next), each pool started
before its first trial: map(sq, range(n))
with chunksize 1, map with the automatic chunksize (dummy.Pool's None; ThreadPoolExecutor.map
has no chunks for threads, so its two map rows are the same call, list(ex.map(sq, range(n)))),
and apply_async n times then the get of each, in order (ThreadPoolExecutor: submit n times
then the result of each). "python" and "mproc_over_python" give one figure per Python
flavour; the goal on each row is mproc at least 20x each flavour. Every mproc result is
checked; Python's are checked after its clock stops.

The manager figures (--only manager) set mproc's manager (mproc/manager.h) beside Python's
Manager(). First a whole start + dict() + shutdown in ms, lower is better (median of --reps
for mproc, of max(5, --reps // 5) for Python, each after one warm-up), measured before
the section's other rows: mproc_manager_start + mproc_manager_dict + mproc_manager_shutdown/destroy
under mproc's default start method beside `with ctx.Manager() as m: m.dict()` under
Python's own default ("python_method" names it), then fork beside fork (POSIX, where fork
is not mproc's default). Then a dict's operations per second from one child process, one
operation being one set or one get: a Manager's dict (one manager and one dict for the
rows, the default start method) goes to a child Process (mproc: its proxy in the args pack,
mproc_unpack_mdict; Python: the DictProxy as an argument), which makes 50 set+get pairs
untimed (its first calls connect), then times n x (d[k] = v; d[k]) with an 8-byte key and
an 8-byte value (v: the pair's number), checking every get's value (Python calls the
proxy's __setitem__ and __getitem__ saved in locals). Measured like the rates above, the
clock in the child. Row "batch": 1 calls one by one (goal: mproc at least 10x Python);
"batch": 100 puts each 100 pairs between mproc_batch_begin and mproc_batch_end (one round
trip a batch), every get's output checked after the end; Python has no batching, so its
figure there is the same unbatched one (no goal). raw is the floor of a round trip to a
server: a blocking socketpair (Windows a duplex named pipe) between two processes, a
32-byte request answered by a 16-byte answer, each numbered and checked, n x 2 of them, one
operation per round trip; "us_per_operation" gives the times.
"""
import argparse
import concurrent.futures
import json
import multiprocessing as mp
import multiprocessing.dummy
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


# ---- synchronization: as sync.c does it, with the default start method -----------------------
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


# ---- queues: as queue.c does it; the producer is a child, the consumer this process ----------

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


# ---- pipes: as pipe.c does it; the writer (or the echoing end) is a child -------------------

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


# ---- pools: as pool.c does it ----------------------------------------------------------------
# One Pool(N) of Python's default start method serves the tiny-task rates; it is started
# before the first trial (whose calibration warms it up) and ended before the speedup row
# (and before any start+join row, though the C program prints those first).

_POOLS = {}


def sq(x):
    return x * x


def _pool(workers):
    if workers not in _POOLS:
        _POOLS[workers] = mp.Pool(workers)
    return _POOLS[workers]


def _end_pools():
    for pool in _POOLS.values():
        pool.close()
        pool.join()
    _POOLS.clear()


def _check_squares(results, n, what):
    if results != [i * i for i in range(n)]:
        raise SystemExit(f"python {what} gave wrong results")


def pool_map_trial(n, workers, chunksize):
    pool = _pool(workers)
    start = time.perf_counter()
    results = pool.map(sq, range(n), chunksize)
    elapsed = time.perf_counter() - start
    _check_squares(results, n, "Pool.map")
    return elapsed


def pool_imap_unordered_trial(n, workers):
    pool = _pool(workers)
    start = time.perf_counter()
    results = list(pool.imap_unordered(sq, range(n), 1))
    elapsed = time.perf_counter() - start
    results.sort()
    _check_squares(results, n, "Pool.imap_unordered")
    return elapsed


def pool_apply_async_trial(n, workers):
    pool = _pool(workers)
    start = time.perf_counter()
    calls = [pool.apply_async(sq, (i,)) for i in range(n)]
    results = [c.get() for c in calls]
    elapsed = time.perf_counter() - start
    _check_squares(results, n, "Pool.apply_async")
    return elapsed


POOL_TRIALS = {
    "poolmap1": lambda n, workers: pool_map_trial(n, workers, 1),
    "poolmapauto": lambda n, workers: pool_map_trial(n, workers, None),
    "poolimapunordered": pool_imap_unordered_trial,
    "poolapplyasync": pool_apply_async_trial,
}


# ---- thread pools: as threadpool.c does it ----------------------------------------------------
# One pool of each flavour and worker count, started before its first trial (whose
# calibration warms it up: ThreadPoolExecutor starts its threads as work comes) and ended at
# the end of the run.

THREAD_FLAVOURS = ("dummy.Pool", "ThreadPoolExecutor")
_THREAD_POOLS = {}


def _thread_pool(flavour, workers):
    key = (flavour, workers)
    if key not in _THREAD_POOLS:
        if flavour == "dummy.Pool":
            _THREAD_POOLS[key] = multiprocessing.dummy.Pool(workers)
        else:
            _THREAD_POOLS[key] = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
    return _THREAD_POOLS[key]


def _end_thread_pools():
    for (flavour, _), pool in _THREAD_POOLS.items():
        if flavour == "dummy.Pool":
            pool.close()
            pool.join()
        else:
            pool.shutdown(wait=True)
    _THREAD_POOLS.clear()


def dummy_map_trial(n, workers, chunksize):
    pool = _thread_pool("dummy.Pool", workers)
    start = time.perf_counter()
    results = pool.map(sq, range(n), chunksize)
    elapsed = time.perf_counter() - start
    _check_squares(results, n, "multiprocessing.dummy.Pool.map")
    return elapsed


def dummy_apply_async_trial(n, workers):
    pool = _thread_pool("dummy.Pool", workers)
    start = time.perf_counter()
    calls = [pool.apply_async(sq, (i,)) for i in range(n)]
    results = [c.get() for c in calls]
    elapsed = time.perf_counter() - start
    _check_squares(results, n, "multiprocessing.dummy.Pool.apply_async")
    return elapsed


def executor_map_trial(n, workers):
    ex = _thread_pool("ThreadPoolExecutor", workers)
    start = time.perf_counter()
    results = list(ex.map(sq, range(n)))  # chunksize: for processes only
    elapsed = time.perf_counter() - start
    _check_squares(results, n, "ThreadPoolExecutor.map")
    return elapsed


def executor_submit_trial(n, workers):
    ex = _thread_pool("ThreadPoolExecutor", workers)
    start = time.perf_counter()
    futures = [ex.submit(sq, i) for i in range(n)]
    results = [f.result() for f in futures]
    elapsed = time.perf_counter() - start
    _check_squares(results, n, "ThreadPoolExecutor.submit")
    return elapsed


# name (from the C record's "python_bench") -> {flavour: trial(n, workers)}
THREAD_TRIALS = {
    "threadmap1": {"dummy.Pool": lambda n, workers: dummy_map_trial(n, workers, 1),
                   "ThreadPoolExecutor": executor_map_trial},
    "threadmapauto": {"dummy.Pool": lambda n, workers: dummy_map_trial(n, workers, None),
                      "ThreadPoolExecutor": executor_map_trial},
    "threadapplyasync": {"dummy.Pool": dummy_apply_async_trial,
                         "ThreadPoolExecutor": executor_submit_trial},
}
# The calls each flavour's figure is made of, printed with the row.
THREAD_CALLS = {
    "threadmap1": {"dummy.Pool": "map(sq, range(n), 1)",
                   "ThreadPoolExecutor": "list(map(sq, range(n)))"},
    "threadmapauto": {"dummy.Pool": "map(sq, range(n))",
                      "ThreadPoolExecutor": "list(map(sq, range(n)))"},
    "threadapplyasync": {"dummy.Pool": "[apply_async(sq, (i,))...], then get() of each",
                         "ThreadPoolExecutor": "[submit(sq, i)...], then result() of each"},
}
THREAD_SPEEDUP_GOAL = 20


def python_thread_rates(bench, workers, target, reps):
    """{flavour: tasks/s}: each flavour calibrated, then their runs interleaved."""
    _end_pools()  # no process pool's threads beside these
    trials = THREAD_TRIALS[bench]
    n = {f: calibrate_at_size(lambda n, f=f: trials[f](n, workers), target)
         for f in THREAD_FLAVOURS}
    rates = {f: [] for f in THREAD_FLAVOURS}
    for _ in range(reps):
        for f in THREAD_FLAVOURS:
            rates[f].append(n[f] / trials[f](n[f], workers))
    return {f: statistics.median(rates[f]) for f in THREAD_FLAVOURS}


def python_pool_start_ms(method, workers, reps):
    ctx = mp.get_context(method)
    samples = []
    for i in range(reps + 1):  # the first is a warm-up: the forkserver starts there
        start = time.perf_counter()
        pool = ctx.Pool(workers)
        pool.close()
        pool.join()
        if i:
            samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


def spin(iters):
    x = 1
    for _ in range(iters):
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
    return x


def python_pool_speedup(workers, tasks, reps, task_s=0.02):
    """Pool(1) time / Pool(workers) time for `tasks` spins of about task_s each."""
    # CPU time, the least of 3 runs, so other processes count as little as can be (Windows:
    # the clock, its thread_time being too coarse).
    clock = time.perf_counter if sys.platform == "win32" else time.thread_time

    def least_time(iters):
        times = []
        for _ in range(3):
            start = clock()
            spin(iters)
            times.append(clock() - start)
        return min(times)

    iters = 1 << 12
    while (t := least_time(iters)) < task_s / 4:
        iters *= 2
    iters = int(iters * task_s / t)
    expected = spin(iters)
    items = [iters] * tasks
    one, all_ = mp.Pool(1), mp.Pool(workers)
    try:
        def run(pool):
            start = time.perf_counter()
            results = pool.map(spin, items, 1)
            elapsed = time.perf_counter() - start
            if results != [expected] * tasks:
                raise SystemExit("python spin gave wrong results")
            return elapsed
        run(one), run(all_)  # warm-up
        t1, tn = [], []
        for _ in range(reps):
            t1.append(run(one))
            tn.append(run(all_))
    finally:
        for pool in (one, all_):
            pool.close()
            pool.join()
    return statistics.median(t1) / statistics.median(tn)


# ---- managers: as manager.c does it; one Manager and one dict serve the rate rows -----------
# (started before the first trial, shut down before any start row and at the end of the run).

MDICT_KEY = b"benchkey"
MANAGER_WARMUP = 50
_MANAGER = {}


def _manager_dict():
    if "dict" not in _MANAGER:
        _MANAGER["manager"] = mp.Manager()
        _MANAGER["dict"] = _MANAGER["manager"].dict()
    return _MANAGER["dict"]


def _end_manager():
    if "manager" in _MANAGER:
        _MANAGER["manager"].shutdown()
    _MANAGER.clear()


def _mdict_child(d, elapsed, n):
    setitem, getitem = d.__setitem__, d.__getitem__  # Python's fastest spelling
    for i in range(MANAGER_WARMUP):  # the first calls connect to the manager
        v = (i - MANAGER_WARMUP).to_bytes(8, "little", signed=True)
        setitem(MDICT_KEY, v)
        if getitem(MDICT_KEY) != v:
            raise SystemExit(f"python dict proxy: get after set {i} gave another value")
    values = [i.to_bytes(8, "little") for i in range(n)]  # made before the clock
    k = MDICT_KEY
    start = time.perf_counter()
    for v in values:
        setitem(k, v)
        if getitem(k) != v:
            raise SystemExit("python dict proxy: get after set gave another value")
    elapsed.value = time.perf_counter() - start


def mdict_trial(n):
    d = _manager_dict()
    elapsed = mp.RawValue("d", 0.0)
    p = mp.Process(target=_mdict_child, args=(d, elapsed, n))
    p.start()
    _join_all([p])
    if d[MDICT_KEY] != (n - 1).to_bytes(8, "little"):
        raise SystemExit("python dict proxy: the last value set is not in the dict")
    return elapsed.value


def python_manager_start_ms(method, reps):
    ctx = mp.get_context(method)
    samples = []
    for i in range(reps + 1):  # the first is a warm-up: the forkserver starts there
        start = time.perf_counter()
        with ctx.Manager() as m:  # shutdown at the end of the block
            d = m.dict()
        if i:
            samples.append((time.perf_counter() - start) * 1e3)
        del d  # after the shutdown: no decref round trip
    return statistics.median(samples)


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
    "mdict": (mdict_trial, 2),
}
# Rows whose Python figure is another row's (the same call: Python has no batching).
PYTHON_SAME_AS = {"mdictbatch": "mdict"}
# What Python's figure is, where the row does not say.
PYTHON_NOTE = {"mdictbatch": "unbatched: Python's manager proxies have no batching"}

# The goals per figure (from the C record's "python_bench"): mproc's speedup over
# Python (None: no goal) and the fraction of raw's rate mproc must reach (None: no goal).
SPEEDUP_GOAL = {"queue64": 20, "queue1m": None, "simplequeue64": None,
                "pipe64": None, "pipe1m": None, "pipepingpong": None,
                "poolmap1": 20, "poolmapauto": 10, "poolimapunordered": None,
                "poolapplyasync": None, "mdictbatch": None}  # default: 10
# The CPU-bound pool speedup must reach this fraction of the number of workers.
POOL_SPEEDUP_GOAL = 0.9
OF_RAW_GOAL = {"lock": 0.5, "queue1m": 0.5, "pipepingpong": 0.5}
# How a goal on raw reads where it is not "mproc >= N % of raw".
OF_RAW_LABEL = {"pipepingpong": "mproc round trip <= 2x raw's"}


def calibrate(trial, target):
    """The n for which a trial lasts about target seconds (as bench/timing.c)."""
    n = 100
    while True:
        t = trial(n)
        if t >= target / 10 or n >= 1 << 40:
            return max(1, int(n * target / max(t, 1e-6)))
        n *= 10


def calibrate_at_size(trial, target):
    """calibrate's n, then timed once more and scaled, twice if still off by more than 2x
    (as timing.c's calibrate_at_size, used for the thread pool rows)."""
    n = calibrate(trial, target)
    for _ in range(2):
        t = trial(n)
        n = max(1, int(n * target / max(t, 1e-6)))
        if target / 2 <= t <= target * 2:
            break
    return n


def python_rate(name, target, reps, cache={}):  # cache: the two Value rows share one figure
    if name not in cache:
        trial, ops_per_n = SYNC_TRIALS[name]
        n = calibrate(trial, target)
        cache[name] = statistics.median(n * ops_per_n / trial(n) for _ in range(reps))
    return cache[name]


def python_figure(record, args):
    bench = record.get("python_bench")
    if bench in THREAD_TRIALS:
        return python_thread_rates(bench, record["workers"], args.seconds, args.sync_reps)
    if bench in POOL_TRIALS:
        trial = POOL_TRIALS[bench]
        workers = record["workers"]
        n = calibrate(lambda n: trial(n, workers), args.seconds)
        return statistics.median(n / trial(n, workers) for _ in range(args.sync_reps))
    if bench == "poolstart":
        _end_pools()
        if record["method"] not in mp.get_all_start_methods():
            return None
        return python_pool_start_ms(record["method"], record["workers"],
                                    max(5, args.reps // 5))
    if bench == "poolspeedup":
        _end_pools()
        return python_pool_speedup(record["workers"], record["tasks"], args.sync_reps)
    if bench == "managerstart":
        _end_manager()
        if record["python_method"] == "default":
            record["python_method"] = mp.get_start_method()
        if record["python_method"] not in mp.get_all_start_methods():
            return None
        return python_manager_start_ms(record["python_method"], max(5, args.reps // 5))
    bench = PYTHON_SAME_AS.get(bench, bench)
    method = record.get("method")
    if method and method in mp.get_all_start_methods():
        # Python's spawn costs tens of ms a child; fewer repetitions keep the run short.
        reps = args.reps
        return python_start_join_us(method, max(5, reps // 3) if method != "fork" else reps)
    if bench in SYNC_TRIALS:
        return python_rate(bench, args.seconds, args.sync_reps)
    return None


def time_record(record):
    ordered = {k: record[k] for k in ("op", "unit", "mproc", "python", "raw")}
    # Lower is better for times: python/mproc is how many times faster mproc is.
    if record["python"]:
        ordered["python"] = round(record["python"], 1 if record["unit"] == "us" else 2)
        ordered["python_over_mproc"] = round(record["python"] / record["mproc"], 1)
    if record["raw"]:
        ordered["mproc_over_raw"] = round(record["mproc"] / record["raw"], 2)
    if "python_method" in record:
        ordered["method"] = record["method"]
        ordered["python_method"] = record["python_method"]
    return ordered


def speedup_record(record):
    """The CPU-bound pool speedup: Pool(1) time / Pool(N) time, mproc's and Python's."""
    workers = record["workers"]
    ordered = {k: record[k] for k in ("op", "unit", "mproc", "python", "raw")}
    ordered["mproc_per_worker"] = round(record["mproc"] / workers, 2)
    if record["python"]:
        ordered["python"] = round(record["python"], 2)
        ordered["python_per_worker"] = round(record["python"] / workers, 2)
        ordered["mproc_over_python"] = round(record["mproc"] / record["python"], 2)
    for k in ("workers", "tasks", "task_ms", "t1_ms", "tn_ms"):
        ordered[k] = record[k]
    goal = POOL_SPEEDUP_GOAL * workers
    ordered["goals"] = {f"mproc speedup >= {POOL_SPEEDUP_GOAL} x {workers} workers":
                        "pass" if record["mproc"] >= goal else "miss"}
    return ordered


def thread_rate_record(record):
    """A thread pool row: one Python figure, ratio and goal per flavour."""
    bench = record["python_bench"]
    ordered = {k: record[k] for k in ("op", "unit", "mproc", "python", "raw")}
    ordered["python"] = {f: round(r) for f, r in record["python"].items()}
    ordered["mproc_over_python"] = {f: round(record["mproc"] / r, 1)
                                    for f, r in record["python"].items()}
    ordered["python_calls"] = THREAD_CALLS[bench]
    ordered["workers"] = record["workers"]
    ordered["goals"] = {
        f"mproc >= {THREAD_SPEEDUP_GOAL}x python {f}":
            "pass" if record["mproc"] >= THREAD_SPEEDUP_GOAL * r else "miss"
        for f, r in record["python"].items()}
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
    if record["unit"] == "operations/s":
        ordered["us_per_operation"] = {k: round(1e6 / ordered[k], 2)
                                       for k in ("mproc", "python", "raw") if ordered[k]}
    if bench in PYTHON_NOTE:
        ordered["python_note"] = PYTHON_NOTE[bench]
    if "batch" in record:
        ordered["batch"] = record["batch"]
    if record.get("memcpy"):
        ordered["mproc_over_memcpy"] = round(record["mproc"] / record["memcpy"], 3)
    if "workers" in record:
        ordered["workers"] = record["workers"]
    ordered["goals"] = goals
    return ordered


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("build", help="the meson build directory")
    parser.add_argument("--reps", type=int, default=50,
                        help="process and pool start+join, manager start repetitions")
    parser.add_argument("--sync-reps", type=int, default=5,
                        help="timed runs per sync, queue, pipe, pool, thread pool or manager "
                        "rate")
    parser.add_argument("--seconds", type=float, default=0.3, help="length of one timed run")
    parser.add_argument("--only",
                        choices=("start", "sync", "queue", "pipe", "pool", "threadpool",
                                 "manager"),
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
        if record.get("python_bench") == "poolspeedup":
            out = speedup_record(record)
        elif record.get("python_bench") in THREAD_TRIALS:
            out = thread_rate_record(record)
        elif record["unit"].endswith("/s"):
            out = rate_record(record)
        else:
            out = time_record(record)
        print(json.dumps(out, ensure_ascii=False), flush=True)
    _end_pools()
    _end_thread_pools()
    _end_manager()
    if done.returncode != 0:
        print(f"run.py: {exe} failed with status {done.returncode} (its error is above)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
