/* Seed 003 §1.2, 进程池: Pool(5) runs ten apply_async tasks, at most five at a time, in its
 * five workers; close() takes no more tasks, join() waits for them (调用join()之前必须先调用
 * close()), then "over". Each task prints its number, its pid and its parent's: the main
 * process for every task. The seed drops the handles apply_async returns, so a failing
 * task would go unnoticed; here they are kept and checked after join. The seed's
 * time.sleep(1) is 0.1 s here, to keep the run short. */
#include "example.h"

enum { SECOND_MS = 100, TASKS = 10 }; /* the seed's second */

MPROC_TASK(test, in, out)
{
    mproc_unpacker u;
    int64_t name;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_i64(&u, &name) != 0)
        return mproc_task_fail(out, "test wants one integer");
    printf("[子进程-%lld]PID=%lld，PPID=%lld\n", (long long)name, (long long)mproc_getpid(),
           (long long)mproc_getppid());
    sleep_ms(SECOND_MS);
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    printf("[父进程]PID=%lld，PPID=%lld\n", (long long)mproc_getpid(), (long long)mproc_getppid());
    mproc_pool *p; /* 设置最多5个进程（不设置就默认为CPU核数） */
    int rc = mproc_pool_create(&p, &(mproc_pool_opts){.processes = 5});
    if (rc != 0) {
        fprintf(stderr, "Pool(5): %s\n", mproc_strerror(rc));
        return 1;
    }
    mproc_async *calls[TASKS] = {NULL};
    for (int i = 0; i < TASKS && rc == 0; i++) {
        mproc_pack *args;
        if ((rc = mproc_pack_create(&args)) != 0)
            break;
        if ((rc = mproc_pack_i64(args, i)) == 0) /* 异步执行 (同步用apply) */
            rc = mproc_pool_apply_async(p, "test", args, NULL, &calls[i]);
        mproc_pack_destroy(args);
    }
    if (rc != 0)
        fprintf(stderr, "apply_async: %s\n", mproc_strerror(rc));
    int rc2 = mproc_pool_close(p); /* 关闭池，不再加入新任务 */
    if (rc2 == 0)
        rc2 = mproc_pool_join(p, MPROC_FOREVER); /* 等待所有子进程执行完毕回收资源 */
    if (rc2 != 0) {
        fprintf(stderr, "close/join: %s\n", mproc_strerror(rc2));
        rc = rc2;
    }
    for (int i = 0; i < TASKS; i++) {
        if (calls[i] && mproc_async_successful(calls[i]) != 1) {
            fprintf(stderr, "test(%d) did not succeed\n", i);
            rc = MPROC_ETASK;
        }
        mproc_async_destroy(calls[i]);
    }
    printf("over\n");
    mproc_pool_destroy(p);
    return rc == 0 ? 0 : 1;
}
