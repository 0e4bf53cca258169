/* Seed 000, 进程池 multiprocessing.Pool(), 4. 进程中的返回值, apply_async 调用每个对象下的get
 * 方法去获取结果: three apply_async calls with args=((v, 5),), close, join, then get() on
 * each handle prints the task's return value data**3, in the order of the calls.
 *
 * As in the seed, the task's one argument is the tuple (v, 5), a nested pack here, which the
 * task unpacks itself (data, length = info). A task's result is bytes: here the 8 bytes of
 * an int64_t (worker and parent are the same program on the same machine, so they agree on
 * its layout). The seed's time.sleep(1) is 0.1 s here, to keep the run short. */
#include "example.h"

enum { SECOND_MS = 100 }; /* the seed's second */

MPROC_TASK(process_task, in, out)
{
    mproc_unpacker u, info;
    int64_t data, length;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_pack(&u, &info) != 0 || mproc_unpack_i64(&info, &data) != 0 ||
        mproc_unpack_i64(&info, &length) != 0) /* data, length = info */
        return mproc_task_fail(out, "process_task wants one (data, length) pair");
    printf("测试多进程任务：%lld, 当前进程号：%lld, 父进程号为: %lld\n", (long long)data,
           (long long)mproc_getpid(), (long long)mproc_getppid());
    volatile int64_t res = data * data * data; /* volatile: the loop is the work, keep it */
    while (res > 0)
        res -= 1;
    printf("多进程任务结束：%lld, 当前进程号为: %lld\n", (long long)data,
           (long long)mproc_getpid());
    sleep_ms(SECOND_MS);
    int64_t cube = data * data * data; /* return data ** 3 */
    if (MPROC_PACK(out, cube) != 0)
        return mproc_task_fail(out, "out of memory");
    return 0;
}

/* The 8 bytes of a task's int64_t result; -1 (never a cube here) if they are not that. */
static long long cube_of(const mproc_bytes *result)
{
    int64_t v;
    if (MPROC_UNPACK(result, &v) != 0)
        return -1;
    return (long long)v;
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

    printf("主进程:%lld, 父进程:%lld\n", (long long)mproc_getpid(), (long long)mproc_getppid());

    mproc_async *result_list[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3 && rc == 0; i++) {
        mproc_pack *args = NULL, *pair = NULL; /* args=((v, 5),) */
        if ((rc = mproc_pack_create(&args)) == 0 && (rc = mproc_pack_create(&pair)) == 0 &&
            (rc = mproc_pack_i64(pair, process_data[i])) == 0 &&
            (rc = mproc_pack_i64(pair, 5)) == 0 && (rc = mproc_pack_pack(args, pair)) == 0)
            rc = mproc_pool_apply_async(process_pool, "process_task", args, NULL, &result_list[i]);
        mproc_pack_destroy(pair);
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

    for (int i = 0; i < 3 && result_list[i]; i++) {
        mproc_bytes v = {0};
        int got = mproc_async_get(result_list[i], MPROC_FOREVER, &v); /* print(v.get()) */
        if (got == 0 && cube_of(&v) >= 0) {
            printf("%lld\n", cube_of(&v));
        } else {
            fprintf(stderr, "get: %s\n", mproc_strerror(got));
            rc = got != 0 ? got : MPROC_EINVAL;
        }
        mproc_bytes_free(&v);
    }
    for (int i = 0; i < 3; i++)
        mproc_async_destroy(result_list[i]);

    printf("user_time: %f \n", now_s() - start_time);
    mproc_pool_destroy(process_pool);
    return rc == 0 ? 0 : 1;
}
