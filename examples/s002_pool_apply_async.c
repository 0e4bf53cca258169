/* Seed 002, 进程池: Pool(processes=3) and eight apply_async(worker, (i,)) calls, each followed
 * by r.get(timeout=5), so the tasks run one at a time, in order: each prints "hello world i"
 * and the name of the worker that runs it. Which of the three workers takes which task is
 * up to the pool (the seed's run shows them taking turns).
 *
 * Workers are named "<Method>PoolWorker-N" after the start method, as in Python: the seed
 * ran on Windows (SpawnPoolWorker-N); the default on Linux here is the forkserver
 * (ForkServerPoolWorker-N). Python prints the two print() arguments with a space between
 * them. The seed's time.sleep(1) is 0.1 s here, to keep the run short. The seed only
 * closes the pool and lets the program end; here destroy then joins the idle workers. */
#include "example.h"

enum { SECOND_MS = 100 }; /* the seed's second */

MPROC_TASK(worker, in, out)
{
    mproc_unpacker u;
    int64_t n;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_i64(&u, &n) != 0)
        return mproc_task_fail(out, "worker wants one integer");
    printf("hello world %lld\n", (long long)n);
    printf("process name: %s\n", mproc_current_name()); /* current_process().name */
    sleep_ms(SECOND_MS); /* 休眠用于执行时有时间查看当前执行的进程 */
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_pool *p;
    int rc = mproc_pool_create(&p, &(mproc_pool_opts){.processes = 3});
    if (rc != 0) {
        fprintf(stderr, "Pool(processes=3): %s\n", mproc_strerror(rc));
        return 1;
    }
    for (int i = 0; i < 8 && rc == 0; i++) {
        mproc_pack *args;
        mproc_async *r = NULL;
        if ((rc = mproc_pack_create(&args)) != 0)
            break;
        if ((rc = mproc_pack_i64(args, i)) == 0)
            rc = mproc_pool_apply_async(p, "worker", args, NULL, &r);
        mproc_pack_destroy(args);
        if (rc == 0) {
            mproc_bytes result = {0};
            rc = mproc_async_get(r, 5000, &result); /* 获取结果中的数据: r.get(timeout=5) */
            if ((rc == MPROC_ETASK || rc == MPROC_EWORKER) && result.data)
                fprintf(stderr, "worker(%d): %s\n", i, (const char *)result.data);
            mproc_bytes_free(&result);
        }
        mproc_async_destroy(r);
    }
    if (rc != 0)
        fprintf(stderr, "apply_async/get: %s\n", mproc_strerror(rc));
    int rc2 = mproc_pool_close(p);
    if (rc2 != 0) {
        fprintf(stderr, "close: %s\n", mproc_strerror(rc2));
        rc = rc2;
    }
    mproc_pool_destroy(p);
    return rc == 0 ? 0 : 1;
}
