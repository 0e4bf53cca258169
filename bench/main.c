/* The C half of the benchmarks: for each operation, the mproc figure and the raw OS
 * primitive's, as one JSON object per line. bench/run.py adds Python's figures, measured
 * in the same run, and the ratios.
 *
 *   bench_mproc [--reps N] [--sync-reps N] [--seconds S]
 *               [--only start|sync|queue|pipe|pool|threadpool|manager]
 *               [--queue-ring BYTES] [--verbose]
 *       --reps N       process and pool start+join, manager start: median of N repetitions
 *                      (default 50)
 *       --sync-reps N  synchronization, queues, pipes, pool, thread pool and manager rates,
 *                      pool speedup: median of N timed runs (default 5)
 *       --seconds S    synchronization, queues, pipes, pool, thread pool and manager rates:
 *                      length of one timed run (default 0.3)
 *       --queue-ring B queues: the Queue's ring size (default 0: the library's, 16 MiB)
 *       --verbose      all but process start+join: each run's figures on stderr
 *   bench_mproc --raw-exit       (internal) the trivial program for the raw spawn figure
 *   bench_mproc --raw-child ...  (internal, Windows) the child side of a raw figure
 *
 * Process start+join is a time per operation (µs, lower is better). The synchronization,
 * queue and pipe figures are rates (operations, messages, round trips or MB per second,
 * higher is better): each run's count of operations is calibrated so that it lasts about
 * --seconds, then the median of the runs is taken, mproc and raw runs interleaved. The pool
 * has no raw primitive: its rates are tasks per second, its start + close + join a time
 * (ms), and its speedup a ratio; nor has the thread pool, whose rates are tasks per second.
 * The manager: a dict's set and get operations per second from a child process, one by one
 * and batched, beside a raw request/answer round trip over a socketpair, and a manager's
 * start + shutdown time (ms).
 *
 * One file a section: start.c, sync.c, queue.c, pipe.c, pool.c, threadpool.c, manager.c
 * (sections.h); timing.c the clock, calibration, medians and JSON lines; raw.c the raw OS
 * primitives; common.c what the sections share on mproc's side. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mproc.h"
#include "raw.h"
#include "sections.h"
#include "timing.h"

static const char *const section_names[] = {"start", "sync",       "queue",  "pipe",
                                            "pool",  "threadpool", "manager"}; /* --only */

static bool is_section(const char *name)
{
    for (size_t i = 0; i < sizeof section_names / sizeof section_names[0]; i++)
        if (strcmp(name, section_names[i]) == 0)
            return true;
    return false;
}

#ifdef _WIN32
/* bench_mproc --raw-child value MAP MUTEX INDEX N | pingpong PING PONG N
 *                         | queue WRITE-END READY GO N SIZE | echo PIPE-END N
 *                         | rpc PIPE-END N */
static int raw_child_main(int argc, char **argv)
{
    static const struct {
        const char *kind;
        int args;
        int (*run)(char **args);
    } children[] = {
        {"value", 4, raw_value_child},
        {"pingpong", 3, raw_pingpong_child},
        {"queue", 5, raw_stream_child},
    };
    static const raw_exchange *const exchanges[] = {&pipe_pingpong_exchange, &manager_rpc_exchange};
    for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
        if (argc == 3 + children[i].args && strcmp(argv[2], children[i].kind) == 0)
            return children[i].run(argv + 3);
    for (size_t i = 0; i < sizeof exchanges / sizeof exchanges[0]; i++)
        if (argc == 5 && strcmp(argv[2], exchanges[i]->kind) == 0)
            return raw_exchange_child(exchanges[i], argv + 3);
    return 2;
}
#endif

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--raw-exit") == 0)
        return 0;
#ifdef _WIN32
    if (argc > 1 && strcmp(argv[1], "--raw-child") == 0)
        return raw_child_main(argc, argv);
#endif
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    int reps = 50;
    const char *only = NULL;
    for (int i = 1; i < argc;) {
        const char *arg = argv[i++], *val = i < argc ? argv[i] : NULL;
        if (strcmp(arg, "--verbose") == 0) {
            verbose = true;
            continue;
        }
        if (!val) {
            reps = 0;
            break;
        }
        i++;
        if (strcmp(arg, "--reps") == 0)
            reps = atoi(val);
        else if (strcmp(arg, "--sync-reps") == 0)
            sync_reps = atoi(val);
        else if (strcmp(arg, "--seconds") == 0)
            target_us = atof(val) * 1e6;
        else if (strcmp(arg, "--queue-ring") == 0)
            queue_ring = (size_t)strtoull(val, NULL, 10);
        else if (strcmp(arg, "--only") == 0 && is_section(val))
            only = val;
        else
            reps = 0;
    }
    if (reps < 1 || sync_reps < 1 || !(target_us >= 1000)) {
        fprintf(stderr,
                "usage: %s [--reps N] [--sync-reps N] [--seconds S>=0.001] "
                "[--only start|sync|queue|pipe|pool|threadpool|manager] "
                "[--queue-ring BYTES] [--verbose]\n",
                argv[0]);
        return 2;
    }
    raw_init(argv[0]);
    if (!only || strcmp(only, "start") == 0)
        bench_start(reps);
    if (!only || strcmp(only, "sync") == 0)
        bench_sync();
    if (!only || strcmp(only, "queue") == 0)
        bench_queue();
    if (!only || strcmp(only, "pipe") == 0)
        bench_pipe();
    if (!only || strcmp(only, "pool") == 0)
        bench_pool(reps);
    if (!only || strcmp(only, "threadpool") == 0)
        bench_threadpool();
    if (!only || strcmp(only, "manager") == 0)
        bench_manager(reps);
    return 0;
}
