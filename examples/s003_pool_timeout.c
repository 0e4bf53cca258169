/* Seed 003 §1.3, 源码拓展 (get with a timeout): apply_async returns a handle (Python prints
 * it as <multiprocessing.pool.ApplyResult object at 0x…>); get(timeout) on a task that
 * takes longer gives up with MPROC_ETIMEDOUT, Python's multiprocessing.TimeoutError, and
 * the program prints "超时了～" with it (Python's TimeoutError prints as nothing).
 *
 * In the seed the task sleeps 1 s and get waits 1 s, so the timeout comes from the time it
 * takes to hand the task to a worker. Here the task sleeps 0.3 s and get waits 0.1 s, so
 * the timeout always happens. As in Python, the task goes on running after the timeout;
 * its result is dropped, and destroying the pool at the end stops it. */
#include "example.h"

MPROC_TASK(test, in, out)
{
    mproc_unpacker u;
    int64_t x;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_i64(&u, &x) != 0)
        return mproc_task_fail(out, "test wants one integer");
    sleep_ms(300);
    int64_t square = x * x; /* 开平方: return x * x */
    if (MPROC_PACK(out, square) != 0)
        return mproc_task_fail(out, "out of memory");
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_pool *pool;
    int rc = mproc_pool_create(&pool, NULL); /* Pool() */
    if (rc != 0) {
        fprintf(stderr, "Pool(): %s\n", mproc_strerror(rc));
        return 1;
    }
    mproc_pack *args;
    mproc_async *task = NULL;
    if ((rc = mproc_pack_create(&args)) == 0) {
        if ((rc = mproc_pack_i64(args, 10)) == 0)
            rc = mproc_pool_apply_async(pool, "test", args, NULL, &task);
        mproc_pack_destroy(args);
    }
    if (rc == 0) {
        printf("<mproc_async object at 0x%llx>\n", (unsigned long long)(uintptr_t)task);
        mproc_bytes result = {0};
        rc = mproc_async_get(task, 100, &result); /* task.get(timeout=0.1) */
        int64_t square;
        if (rc == 0 && MPROC_UNPACK(&result, &square) == 0) {
            printf("%lld\n", (long long)square);
        } else if (rc == MPROC_ETIMEDOUT) { /* except TimeoutError as ex */
            printf("超时了～ %s\n", mproc_errname(rc));
            rc = 0;
        } else {
            fprintf(stderr, "get: %s\n", mproc_strerror(rc));
            rc = rc != 0 ? rc : MPROC_EINVAL;
        }
        mproc_bytes_free(&result);
    } else {
        fprintf(stderr, "apply_async: %s\n", mproc_strerror(rc));
    }
    mproc_async_destroy(task);
    mproc_pool_destroy(pool); /* the task still runs: terminated, as at Python's exit */
    return rc == 0 ? 0 : 1;
}
