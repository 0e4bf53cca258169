/* The timing machinery (see timing.h). */
#ifndef _WIN32
#define _GNU_SOURCE
#endif
#include "timing.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <time.h>
#endif

double target_us = 300000;
int sync_reps = 5;
bool verbose;
bool calibrate_at_size;

#ifndef _WIN32
static double clock_us(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}
#endif

double now_us(void)
{
#ifdef _WIN32
    LARGE_INTEGER freq, t;
    QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart * 1e6 / (double)freq.QuadPart;
#else
    return clock_us(CLOCK_MONOTONIC);
#endif
}

double cpu_now_us(void)
{
#ifdef _WIN32
    return now_us();
#else
    return clock_us(CLOCK_THREAD_CPUTIME_ID);
#endif
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double median(double *samples, int n)
{
    qsort(samples, (size_t)n, sizeof *samples, compare_doubles);
    return n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
}

/* The n for which a trial lasts about target_us: tenfold steps until one lasts a tenth of
 * it, then scaled (these first trials also warm caches and the forkserver up). */
static int64_t calibrate(trial_fn trial)
{
    for (int64_t n = 100;; n *= 10) {
        double t = trial(n);
        if (t >= target_us / 10 || n >= (INT64_C(1) << 40)) {
            double scaled = (double)n * target_us / (t > 1 ? t : 1);
            return scaled < 1 ? 1 : (int64_t)scaled;
        }
    }
}

/* With calibrate_at_size (the thread pool rows), calibrate's n is then timed once more and
 * scaled from that trial, twice if it was still off by more than 2x: where the first use of
 * a size is much slower than the next (memory the allocator must first get from the system,
 * as for n async handles), the small calibration trials would give runs far shorter than
 * target_us; this trial at full size also warms that memory up. */
static int64_t calibrate_rate(trial_fn trial)
{
    int64_t n = calibrate(trial);
    for (int i = 0; calibrate_at_size && i < 2; i++) {
        double t = trial(n);
        double scaled = (double)n * target_us / (t > 1 ? t : 1);
        n = scaled < 1 ? 1 : (int64_t)scaled;
        if (t >= target_us / 2 && t <= target_us * 2)
            break;
    }
    return n;
}

void bench_rate_with(const char *op, const char *unit, const char *python, double per_n,
                     trial_fn with_mproc, trial_fn raw, trial_fn memcpy_ref, const char *extra_key,
                     int extra_value)
{
    trial_fn fn[3] = {with_mproc, raw, memcpy_ref};
    static const char *const name[3] = {"mproc", "raw", "memcpy"};
    double *rate[3] = {NULL, NULL, NULL};
    int64_t n[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        if (!fn[k])
            continue;
        if (!(rate[k] = calloc((size_t)sync_reps, sizeof(double))))
            exit(1);
        n[k] = calibrate_rate(fn[k]);
    }
    for (int i = 0; i < sync_reps; i++) {
        for (int k = 0; k < 3; k++) {
            if (!fn[k])
                continue;
            rate[k][i] = (double)n[k] * per_n * 1e6 / fn[k](n[k]);
            if (verbose)
                fprintf(stderr, "%s: run %d: %s %.0f %s (n=%lld)\n", op, i + 1, name[k], rate[k][i],
                        unit, (long long)n[k]);
        }
    }
    json_begin(op, unit);
    json_fixed("mproc", 0, median(rate[0], sync_reps));
    if (raw)
        json_fixed("raw", 0, median(rate[1], sync_reps));
    else
        json_null("raw");
    if (memcpy_ref)
        json_fixed("memcpy", 0, median(rate[2], sync_reps));
    if (extra_key)
        json_int(extra_key, extra_value);
    json_string("python_bench", python);
    json_fixed("seconds", 2, target_us / 1e6);
    json_int("reps", sync_reps);
    json_end();
    for (int k = 0; k < 3; k++)
        free(rate[k]);
}

void bench_rate(const char *op, const char *unit, const char *python, double per_n,
                trial_fn with_mproc, trial_fn raw, trial_fn memcpy_ref)
{
    bench_rate_with(op, unit, python, per_n, with_mproc, raw, memcpy_ref, NULL, 0);
}

double median_ms(double (*run_ms)(mproc_context *ctx), mproc_context *ctx, int reps,
                 const char *label)
{
    double *ms = calloc((size_t)reps, sizeof(double));
    if (!ms)
        exit(1);
    run_ms(ctx); /* warm-up: the forkserver starts here */
    for (int i = 0; i < reps; i++) {
        ms[i] = run_ms(ctx);
        if (verbose)
            fprintf(stderr, "%s: run %d: %.2f ms\n", label, i + 1, ms[i]);
    }
    double m = median(ms, reps);
    free(ms);
    return m;
}

void json_begin(const char *op, const char *unit)
{
    printf("{\"op\": \"%s\", \"unit\": \"%s\"", op, unit);
}

void json_fixed(const char *key, int decimals, double value)
{
    printf(", \"%s\": %.*f", key, decimals, value);
}

void json_int(const char *key, long long value)
{
    printf(", \"%s\": %lld", key, value);
}

void json_null(const char *key)
{
    printf(", \"%s\": null", key);
}

void json_string(const char *key, const char *value)
{
    printf(", \"%s\": \"%s\"", key, value);
}

void json_end(void)
{
    printf("}\n");
    fflush(stdout);
}
