/* Seed 003 §1.2, 进程池: Pool(5) runs ten apply_async tasks, at most five at a time, in its
 * five workers; close() takes no more tasks, join() waits for them (调用join()之前必须先调用
 * close()), then "over". Each task prints its number, its pid and its parent's: the main
 * process for every task. The seed drops the handles apply_async returns, so a failing
 * task would go unnoticed; here they are kept and checked after join. The seed's
 * time.sleep(1) is 0.1 s here, to keep the run short. */
#include "example.h"

MPROC_TASK_ARGS(test, out, int64_t, name)
{
    printf("[子进程-%lld]PID=%lld，PPID=%lld\n", (long long)name, (long long)mproc_getpid(),
           (long long)mproc_getppid());
    sleep_ms(100); /* time.sleep(1) */
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    printf("[父进程]PID=%lld，PPID=%lld\n", (long long)mproc_getpid(), (long long)mproc_getppid());
    mproc_pool *p; /* 设置最多5个进程（不设置就默认为CPU核数） */
    if (mproc_pool_create(&p, &(mproc_pool_opts){.processes = 5}) != 0)
        return 1;
    mproc_async *calls[10];
    for (int i = 0; i < 10; i++) /* 异步执行 (同步用apply) */
        if (mproc_pool_apply_async(p, "test", MPROC_ARGS(i), NULL, &calls[i]) != 0)
            return 1;
    /* 关闭池，不再加入新任务; 等待所有子进程执行完毕回收资源 */
    if (mproc_pool_close(p) != 0 || mproc_pool_join(p, MPROC_FOREVER) != 0)
        return 1;
    int failed = 0;
    for (int i = 0; i < 10; i++) {
        failed += mproc_async_successful(calls[i]) != 1;
        mproc_async_destroy(calls[i]);
    }
    printf("over\n");
    mproc_pool_destroy(p);
    return failed != 0;
}
