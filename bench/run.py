#!/usr/bin/env python3
"""Runs the benchmarks: the C program's figures (mproc and the raw OS primitive), then the
same operations with Python's multiprocessing in this run, on this machine. Prints one JSON
object per line: {"op", "unit", "mproc", "python", "raw", ...ratios}.

    bench/run.py BUILD_DIR [--reps N]
"""
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


def python_figure(record, reps):
    method = record.get("method")
    if method and method in mp.get_all_start_methods():
        # Python's spawn costs tens of ms a child; fewer repetitions keep the run short.
        return python_start_join_us(method, max(5, reps // 3) if method != "fork" else reps)
    return None


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    build = sys.argv[1]
    reps = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[2] == "--reps" else 50
    exe = os.path.join(build, "bench", "bench_mproc")
    out = subprocess.run([exe, "--reps", str(reps)], check=True, capture_output=True,
                         text=True, timeout=600).stdout
    for line in out.splitlines():
        record = json.loads(line)
        record["python"] = python_figure(record, reps)
        ordered = {k: record[k] for k in ("op", "unit", "mproc", "python", "raw")}
        # Lower is better for times: python/mproc is how many times faster mproc is.
        if record["python"]:
            ordered["python_over_mproc"] = round(record["python"] / record["mproc"], 1)
            record["python"] = round(record["python"], 1)
            ordered["python"] = record["python"]
        ordered["mproc_over_raw"] = round(record["mproc"] / record["raw"], 2)
        print(json.dumps(ordered, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
