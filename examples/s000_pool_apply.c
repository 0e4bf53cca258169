/* Seed 000, 进程池 multiprocessing.Pool(), 1. apply (synchronous): a pool of the default
 * size (the usable CPUs) runs the tasks 100, 200 and 300 one after the other, because
 * apply waits for each result before the next call (第一个子进程执行完func之后，第二个子进程
 * 才会开启). The seed's time.sleep(1) in the task is 0.1 s here, to keep the run short. */
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
    return 0; /* return: no result (None) */
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    double start_time = now_s();
    mproc_pool *process_pool;
    int rc = mproc_pool_create(&process_pool, NULL); /* Pool(): one worker per usable CPU */
    if (rc != 0) {
        fprintf(stderr, "Pool(): %s\n", mproc_strerror(rc));
        return 1;
    }
    int64_t process_data[] = {100, 200, 300};

    printf("主进程:%lld, 父进程:%lld\n", (long long)mproc_getpid(), (long long)mproc_getppid());

    for (int i = 0; i < 3 && rc == 0; i++) {
        mproc_pack *args;
        if ((rc = mproc_pack_create(&args)) != 0)
            break;
        if ((rc = mproc_pack_i64(args, process_data[i])) == 0) {
            mproc_bytes result = {0}; /* the task's None: no bytes, freed all the same */
            rc = mproc_pool_apply(process_pool, "process_task", args, MPROC_FOREVER, &result);
            if ((rc == MPROC_ETASK || rc == MPROC_EWORKER) && result.data)
                fprintf(stderr, "apply: %s\n", (const char *)result.data); /* its error text */
            mproc_bytes_free(&result);
        }
        mproc_pack_destroy(args);
    }
    if (rc != 0)
        fprintf(stderr, "apply failed: %s\n", mproc_strerror(rc));

    printf("user_time: %f \n", now_s() - start_time);
    mproc_pool_destroy(process_pool); /* the pool goes away with main() in the seed */
    return rc == 0 ? 0 : 1;
}
