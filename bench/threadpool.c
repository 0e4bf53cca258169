/* ThreadPool: the same tiny tasks through mproc's thread pool (mproc_threadpool_create: N
 * worker threads of this process, N = usable CPUs), started before and closed after its rows;
 * run.py puts Python's multiprocessing.dummy.Pool(N) and concurrent.futures.ThreadPoolExecutor(N)
 * beside each row. The trials are rows 1, 2 and 4 of the pool section (pool.c) on this pool:
 * every result is checked. Calibration ends with a trial at full size (calibrate_at_size). */
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "sections.h"
#include "timing.h"

void bench_threadpool(void)
{
    int workers = usable_workers();
    mproc_pool *pool;
    int rc = mproc_threadpool_create(&pool, &(mproc_pool_opts){.processes = workers});
    if (rc != 0)
        pool_failed("mproc_threadpool_create", rc, NULL);
    if (mproc_pool_size(pool) != workers) {
        fprintf(stderr, "bench_mproc: the thread pool has %d workers, not %d\n",
                mproc_pool_size(pool), workers);
        exit(1);
    }
    calibrate_at_size = true;
    bench_tiny_tasks(pool, workers, true);
    calibrate_at_size = false;
    close_pool(pool);
}
