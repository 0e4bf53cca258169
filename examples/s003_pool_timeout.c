/* Seed 003 §1.3, 源码拓展 (get with a timeout): apply_async returns a handle (Python prints
 * it as <multiprocessing.pool.ApplyResult object at 0x…>); get(timeout) on a task that
 * takes longer gives up with MPROC_ETIMEDOUT, Python's multiprocessing.TimeoutError, and
 * the program prints "超时了～" with it (Python's TimeoutError prints as nothing).
 *
 * In the seed the task sleeps 1 s and get waits 1 s, so the timeout comes from the time it
 * takes to hand the task to a worker. Here the task sleeps 0.3 s and get waits 0.1 s, so
 * the timeout always happens. As in Python, the task goes on running after the timeout;
 * its result is dropped, and destroying the pool at the end stops it. Only the main process
 * prints, so stdout needs no line buffering. */
#include "example.h"

MPROC_TASK_ARGS(test, out, int64_t, x) /* 开平方 */
{
    sleep_ms(300);
    return MPROC_PACK(out, x * x) != 0;
}

int main(int argc, char **argv)
{
    mproc_pool *pool;
    mproc_async *task;
    if (mproc_init(&argc, &argv) != 0 || mproc_pool_create(&pool, NULL) != 0 ||
        mproc_pool_apply_async(pool, "test", MPROC_ARGS(10), NULL, &task) != 0)
        return 1;
    printf("<mproc_async object at 0x%llx>\n", (unsigned long long)(uintptr_t)task);
    mproc_bytes result = {0};
    int64_t square;
    int rc = mproc_async_get(task, 100, &result); /* task.get(timeout=0.1) */
    if (rc == 0 && MPROC_UNPACK(&result, &square) == 0)
        printf("%lld\n", (long long)square);
    else if (rc == MPROC_ETIMEDOUT) /* except TimeoutError as ex */
        printf("超时了～ %s\n", mproc_errname(rc));
    else
        return 1;
    mproc_bytes_free(&result);
    mproc_async_destroy(task);
    mproc_pool_destroy(pool); /* the task still runs: terminated, as at Python's exit */
    return 0;
}
