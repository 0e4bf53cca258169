/* Seed 000, the last heading: 进程池 ProcessPoolExecutor. The seed ends on the heading with
 * no code, so this is the natural ProcessPoolExecutor port of the seed's pool example just
 * before it (4. 进程中的返回值, apply_async + get):
 *
 *     with ProcessPoolExecutor() as executor:
 *         futures = [executor.submit(process_task, (v, 5)) for v in process_data]
 *         for f in futures:
 *             print(f.result())
 *     print("user_time: %s " % (time.time() - start_time))
 *
 * What differs from the Pool version (s000_pool_async_get): there is no close/join before
 * the results; result() waits for each future in turn, so a result may be printed while
 * later tasks still run, but the three results come in the order of the submits. The
 * `with` block's end is mproc_executor_destroy, which waits for the running tasks (Python's
 * shutdown(wait=True)). As in the other seed 000 pool examples the task's argument is the
 * tuple (v, 5) as a nested pack, its result the 8 bytes of an int64_t, and the seed's
 * time.sleep(1) is 0.1 s here. */
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
    int64_t process_data[] = {100, 200, 300};

    printf("主进程:%lld, 父进程:%lld\n", (long long)mproc_getpid(), (long long)mproc_getppid());

    mproc_executor *executor; /* with ProcessPoolExecutor() as executor: */
    int rc = mproc_executor_create(&executor, &(mproc_executor_opts){0});
    if (rc != 0) {
        fprintf(stderr, "ProcessPoolExecutor(): %s\n", mproc_strerror(rc));
        return 1;
    }
    mproc_future *futures[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3 && rc == 0; i++) {
        mproc_pack *args = NULL, *pair = NULL; /* executor.submit(process_task, (v, 5)) */
        if ((rc = mproc_pack_create(&args)) == 0 && (rc = mproc_pack_create(&pair)) == 0 &&
            (rc = mproc_pack_i64(pair, process_data[i])) == 0 &&
            (rc = mproc_pack_i64(pair, 5)) == 0 && (rc = mproc_pack_pack(args, pair)) == 0)
            rc = mproc_executor_submit(executor, "process_task", args, &futures[i]);
        mproc_pack_destroy(pair);
        mproc_pack_destroy(args);
    }
    if (rc != 0)
        fprintf(stderr, "submit: %s\n", mproc_strerror(rc));

    for (int i = 0; i < 3 && futures[i]; i++) {
        mproc_bytes v = {0};
        int got = mproc_future_result(futures[i], MPROC_FOREVER, &v); /* print(f.result()) */
        if (got == 0 && cube_of(&v) >= 0) {
            printf("%lld\n", cube_of(&v));
        } else {
            fprintf(stderr, "result: %s\n", mproc_strerror(got));
            rc = got != 0 ? got : MPROC_EINVAL;
        }
        mproc_bytes_free(&v);
    }
    mproc_executor_destroy(executor); /* the end of the with block: shutdown(wait=True) */
    for (int i = 0; i < 3; i++)
        mproc_future_destroy(futures[i]);

    printf("user_time: %f \n", now_s() - start_time);
    return rc == 0 ? 0 : 1;
}
