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

MPROC_TASK_ARGS(worker, out, int64_t, n)
{
    printf("hello world %lld\n", (long long)n);
    printf("process name: %s\n", mproc_current_name()); /* 获取当前进程名字 */
    sleep_ms(100); /* 休眠用于执行时有时间查看当前执行的进程 (the seed: 1 s) */
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    mproc_pool *p;
    if (mproc_init(&argc, &argv) != 0 || mproc_pool_create(&p, &(mproc_pool_opts){.processes = 3}))
        return 1;
    for (int i = 0; i < 8; i++) {
        mproc_async *r;
        mproc_bytes result;
        if (mproc_pool_apply_async(p, "worker", MPROC_ARGS(i), NULL, &r) != 0 ||
            mproc_async_get(r, 5000, &result) != 0) /* 获取结果中的数据: r.get(timeout=5) */
            return 1;
        mproc_bytes_free(&result);
        mproc_async_destroy(r);
    }
    mproc_pool_close(p);
    mproc_pool_destroy(p);
    return 0;
}
