/* Seed 000, 进程池 multiprocessing.Pool(), 2. apply_async (asynchronous): the three calls
 * return at once and the tasks 100, 200 and 300 run side by side in the pool's workers
 * (as many as the usable CPUs); close() then join() wait for them (调用join()之前必须先调用
 * close()). The seed drops what apply_async returns, so a failing task would go unnoticed;
 * here the handles are kept and checked after join. The seed's time.sleep(1) in the task is
 * 0.1 s here, to keep the run short. */
#include "example.h"

enum { SECOND_MS = 100 }; /* the seed's second */

MPROC_TASK_ARGS(process_task, out, long long, data)
{
    printf("测试多进程任务：%lld, 当前进程号：%lld, 父进程号为: %lld\n", data,
           (long long)mproc_getpid(), (long long)mproc_getppid());
    volatile long long res = data * data * data; /* volatile: the loop is the work, keep it */
    while (res > 0)
        res -= 1;
    printf("多进程任务结束：%lld, 当前进程号为: %lld\n", data, (long long)mproc_getpid());
    sleep_ms(SECOND_MS);
    return 0; /* return: no result (None) */
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    double start_time = now_s();
    mproc_pool *process_pool;
    if (mproc_pool_create(&process_pool, NULL) != 0) /* Pool(): one worker per usable CPU */
        return 1;
    int64_t process_data[] = {100, 200, 300};

    printf("主进程:%lld, 父进程:%lld\n", (long long)mproc_getpid(), (long long)mproc_getppid());

    mproc_async *result_list[3];
    for (int i = 0; i < 3; i++)
        if (mproc_pool_apply_async(process_pool, "process_task", MPROC_ARGS(process_data[i]), NULL,
                                   &result_list[i]) != 0)
            return 1;

    if (mproc_pool_close(process_pool) != 0 || mproc_pool_join(process_pool, MPROC_FOREVER) != 0)
        return 1;
    for (int i = 0; i < 3; i++) {
        int ok = mproc_async_successful(result_list[i]); /* the handles the seed drops */
        mproc_async_destroy(result_list[i]);
        if (ok != 1)
            return 1;
    }
    printf("user_time: %f \n", now_s() - start_time);
    mproc_pool_destroy(process_pool);
    return 0;
}
