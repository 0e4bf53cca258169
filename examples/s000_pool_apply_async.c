/* Seed 000, 进程池 multiprocessing.Pool(), 2. apply_async (asynchronous): the three calls
 * return at once and the tasks 100, 200 and 300 run side by side in the pool's workers
 * (as many as the usable CPUs); close() then join() wait for them (调用join()之前必须先调用
 * close()). The seed drops what apply_async returns, so a failing task would go unnoticed;
 * here the handles are kept and checked after join. The seed's time.sleep(1) in the task is
 * 0.1 s here, to keep the run short. */
#include "example.h"

enum { SECOND_MS = 100 }; /* the seed's second */

MPROC_TASK(process_task, in, out)
{
    mproc_unpacker u;
    int64_t data;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_i64(&u, &data) != 0) /* args=(v,) */
        return mproc_task_fail(out, "process_task wants one integer");
    printf("测试多进程任务：%lld, 当前进程号：%lld, 父进程号为: %lld\n", (long long)data,
           (long long)mproc_getpid(), (long long)mproc_getppid());
    volatile int64_t res = data * data * data; /* volatile: the loop is the work, keep it */
    while (res > 0)
        res -= 1;
    printf("多进程任务结束：%lld, 当前进程号为: %lld\n", (long long)data,
           (long long)mproc_getpid());
    sleep_ms(SECOND_MS);
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    double start_time = now_s();
    mproc_pool *process_pool;
    int rc = mproc_pool_create(&process_pool, NULL); /* Pool() */
    if (rc != 0) {
        fprintf(stderr, "Pool(): %s\n", mproc_strerror(rc));
        return 1;
    }
    int64_t process_data[] = {100, 200, 300};
    mproc_async *calls[3] = {NULL, NULL, NULL};

    printf("主进程:%lld, 父进程:%lld\n", (long long)mproc_getpid(), (long long)mproc_getppid());

    for (int i = 0; i < 3 && rc == 0; i++) {
        mproc_pack *args;
        if ((rc = mproc_pack_create(&args)) != 0)
            break;
        if ((rc = mproc_pack_i64(args, process_data[i])) == 0) /* the call copies args */
            rc = mproc_pool_apply_async(process_pool, "process_task", args, NULL, &calls[i]);
        mproc_pack_destroy(args);
    }
    if (rc != 0)
        fprintf(stderr, "apply_async: %s\n", mproc_strerror(rc));

    int rc2 = mproc_pool_close(process_pool);
    if (rc2 == 0)
        rc2 = mproc_pool_join(process_pool, MPROC_FOREVER);
    if (rc2 != 0) {
        fprintf(stderr, "close/join: %s\n", mproc_strerror(rc2));
        rc = rc2;
    }
    for (int i = 0; i < 3; i++) {
        if (calls[i] && mproc_async_successful(calls[i]) != 1) {
            fprintf(stderr, "task %lld did not succeed\n", (long long)process_data[i]);
            rc = MPROC_ETASK;
        }
        mproc_async_destroy(calls[i]);
    }
    printf("user_time: %f \n", now_s() - start_time);
    mproc_pool_destroy(process_pool);
    return rc == 0 ? 0 : 1;
}
