/* The timing machinery, written once: the clock, medians, the calibrated rate runs, and the
 * JSON lines that bench/run.py reads. */
#ifndef BENCH_TIMING_H
#define BENCH_TIMING_H

#include <stdbool.h>
#include <stdint.h>

#include "mproc.h"

/* The options that drive it (main.c sets them from the command line). */
extern double target_us;       /* --seconds, in µs: the length of one timed rate run */
extern int sync_reps;          /* --sync-reps: timed runs a rate is the median of */
extern bool verbose;           /* --verbose: each run's figures on stderr */
extern bool calibrate_at_size; /* see calibrate_rate in timing.c */

/* A monotonic clock, µs. */
double now_us(void);
/* The CPU time of this thread, µs (Windows: now_us, GetThreadTimes being too coarse). */
double cpu_now_us(void);
/* The median of n samples (sorts them). */
double median(double *samples, int n);

/* A trial does n operations (or n per child) and returns the microseconds they took,
 * measured around the operations only (process start and exit are outside). */
typedef double (*trial_fn)(int64_t n);

/* One JSON line: the median rate of mproc and of raw, runs interleaved. per_n: the units a
 * trial of n does in all (2 operations for 2 processes doing n each; 1.048576 MB for n
 * messages of 1 MiB). python: which of run.py's Python figures goes with it. raw may be
 * NULL (no raw figure: "raw": null); memcpy_ref, when given, is a single-process memcpy
 * reference measured the same way and printed as "memcpy", for information. */
void bench_rate(const char *op, const char *unit, const char *python, double per_n,
                trial_fn with_mproc, trial_fn raw, trial_fn memcpy_ref);
/* The same with one more member in the line, extra_key: extra_value ("workers": 2). */
void bench_rate_with(const char *op, const char *unit, const char *python, double per_n,
                     trial_fn with_mproc, trial_fn raw, trial_fn memcpy_ref, const char *extra_key,
                     int extra_value);

/* The median of reps runs of run_ms(ctx) (milliseconds), after one untimed warm-up (the
 * forkserver starts there); --verbose shows each run as "label: run i: x ms". */
double median_ms(double (*run_ms)(mproc_context *ctx), mproc_context *ctx, int reps,
                 const char *label);

/* One JSON object on one line of stdout, member by member, in the order called:
 * json_begin(op, unit), then the figures, then json_end(), which ends the line and flushes.
 * The op names and strings are the program's own, with no quote or backslash to escape. */
void json_begin(const char *op, const char *unit);
void json_fixed(const char *key, int decimals, double value); /* "%.*f" */
void json_int(const char *key, long long value);
void json_null(const char *key);
void json_string(const char *key, const char *value);
void json_end(void);

#endif
