/* Seed 000, 进程池 multiprocessing.Pool(), 1. apply (synchronous): a pool of the default
 * size (the usable CPUs) runs the tasks 100, 200 and 300 one after the other, because
 * apply waits for each result before the next call (第一个子进程执行完func之后，第二个子进程
 * 才会开启). The seed's time.sleep(1) in the task is 0.1 s here, to keep the run short. */
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

    for (int i = 0; i < 3; i++) {
        mproc_bytes result; /* the task's None: no bytes, freed all the same */
        if (mproc_pool_apply(process_pool, "process_task", MPROC_ARGS(process_data[i]),
                             MPROC_FOREVER, &result) != 0)
            return 1;
        mproc_bytes_free(&result);
    }

    printf("user_time: %f \n", now_s() - start_time);
    mproc_pool_destroy(process_pool); /* the pool goes away with main() in the seed */
    return 0;
}
