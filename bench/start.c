/* Process start+join: a time per operation (µs, lower is better), the median of --reps,
 * mproc and raw interleaved, under each start method. */
#ifndef _WIN32
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "raw.h"
#include "sections.h"
#include "timing.h"

#ifndef _WIN32
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
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
    HANDLE process = raw_spawn_self(L"--raw-exit", false);
    if (!process)
        return -1;
    WaitForSingleObject(process, 30000);
    CloseHandle(process);
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
    mproc_context *ctx = method_context(method);
    if (!ctx)
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
    const char *name = mproc_start_method_name(method);
    char op[64];
    snprintf(op, sizeof op, "process start+join (%s)", name);
    json_begin(op, "us");
    json_fixed("mproc", 1, median(with_mproc, reps));
    json_fixed("raw", 1, median(raw, reps));
    json_string("method", name);
    json_end();
    free(with_mproc);
    free(raw);
}

void bench_start(int reps)
{
    bench_start_join(MPROC_FORK, reps);
    bench_start_join(MPROC_SPAWN, reps);
    bench_start_join(MPROC_FORKSERVER, reps);
}
