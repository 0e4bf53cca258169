/* The C half of the benchmarks: for each operation, the median time with mproc and with
 * the raw OS primitive, as one JSON object per line. bench/run.py adds Python's figures,
 * measured in the same run, and the ratios.
 *
 *   bench_mproc [--reps N]       all operations
 *   bench_mproc --raw-exit       (internal) the trivial program for the raw spawn figure */
#ifndef _WIN32
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mproc.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
extern char **environ;
#endif

static double now_us(void)
{
#ifdef _WIN32
    LARGE_INTEGER freq, t;
    QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart * 1e6 / (double)freq.QuadPart;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
#endif
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *samples, int n)
{
    qsort(samples, (size_t)n, sizeof *samples, compare_doubles);
    return n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
}

#ifndef _WIN32
static char self_path[4096];
#endif

MPROC_TASK(nothing, in, out)
{
    (void)in;
    (void)out;
    return 0;
}

/* One start+join with mproc; returns microseconds, or -1 on failure. */
static double mproc_start_join_us(mproc_context *ctx)
{
    mproc_process *p;
    double start = now_us();
    if (mproc_process_create(&p, &(mproc_process_opts){.target = "nothing", .ctx = ctx}) != 0)
        return -1;
    int rc = mproc_process_start(p);
    if (rc == 0)
        rc = mproc_process_join(p, 30000);
    double elapsed = now_us() - start;
    int code = 1;
    if (rc == 0)
        rc = mproc_process_exitcode(p, &code);
    mproc_process_destroy(p);
    return rc == 0 && code == 0 ? elapsed : -1;
}

/* The raw primitive under each method: fork+waitpid of a child that exits at once, or
 * starting this same executable (which exits before doing anything) and waiting for it. */
static double raw_start_join_us(mproc_start_method method)
{
    double start = now_us();
#ifdef _WIN32
    (void)method;
    wchar_t exe[MAX_PATH], cmd[MAX_PATH + 32];
    GetModuleFileNameW(NULL, exe, MAX_PATH);
    _snwprintf(cmd, sizeof cmd / sizeof cmd[0], L"\"%ls\" --raw-exit", exe);
    STARTUPINFOW si = {0};
    si.cb = sizeof si;
    PROCESS_INFORMATION pi;
    if (!CreateProcessW(exe, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
        return -1;
    WaitForSingleObject(pi.hProcess, 30000);
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
#else
    pid_t pid;
    if (method == MPROC_SPAWN) {
        char *argv[] = {self_path, "--raw-exit", NULL};
        if (posix_spawn(&pid, self_path, NULL, NULL, argv, environ) != 0)
            return -1;
    } else {
        pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid < 0)
            return -1;
    }
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
#endif
    return now_us() - start;
}

static void bench_start_join(mproc_start_method method, int reps)
{
    mproc_context *ctx;
    if (!mproc_start_method_available(method) || mproc_context_get(&ctx, method) != 0)
        return;
    double *with_mproc = calloc((size_t)reps, sizeof(double));
    double *raw = calloc((size_t)reps, sizeof(double));
    if (!with_mproc || !raw)
        exit(1);
    mproc_start_join_us(ctx); /* warm-up: the forkserver starts here, pages fault in */
    raw_start_join_us(method);
    for (int i = 0; i < reps; i++) { /* interleaved, so both see the same machine load */
        with_mproc[i] = mproc_start_join_us(ctx);
        raw[i] = raw_start_join_us(method);
        if (with_mproc[i] < 0 || raw[i] < 0) {
            fprintf(stderr, "start+join with %s failed\n", mproc_start_method_name(method));
            exit(1);
        }
    }
    printf("{\"op\": \"process start+join (%s)\", \"unit\": \"us\", \"mproc\": %.1f, "
           "\"raw\": %.1f, \"method\": \"%s\"}\n",
           mproc_start_method_name(method), median(with_mproc, reps), median(raw, reps),
           mproc_start_method_name(method));
    fflush(stdout);
    free(with_mproc);
    free(raw);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--raw-exit") == 0)
        return 0;
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    int reps = 50;
    if (argc > 2 && strcmp(argv[1], "--reps") == 0)
        reps = atoi(argv[2]);
    if (reps < 1) {
        fprintf(stderr, "usage: %s [--reps N]\n", argv[0]);
        return 2;
    }
#ifndef _WIN32
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (n <= 0)
        snprintf(self_path, sizeof self_path, "%s", argv[0]);
#endif
    bench_start_join(MPROC_FORK, reps);
    bench_start_join(MPROC_SPAWN, reps);
    bench_start_join(MPROC_FORKSERVER, reps);
    return 0;
}
