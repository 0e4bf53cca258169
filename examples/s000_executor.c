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
 * tuple (v, 5) as a nested pack, its result a pack of one integer, and the seed's
 * time.sleep(1) is 0.1 s here. */
#include "example.h"

enum { SECOND_MS = 100 }; /* the seed's second */

MPROC_TASK_ARGS(process_task, out, mproc_unpacker, info)
{
    int64_t data, length; /* data, length = info */
    if (mproc_unpack_i64(&info, &data) != 0 || mproc_unpack_i64(&info, &length) != 0)
        return mproc_task_fail(out, "process_task wants one (data, length) pair");
    printf("测试多进程任务：%lld, 当前进程号：%lld, 父进程号为: %lld\n", (long long)data,
           (long long)mproc_getpid(), (long long)mproc_getppid());
    volatile long long res = data * data * data; /* volatile: the loop is the work, keep it */
    while (res > 0)
        res -= 1;
    printf("多进程任务结束：%lld, 当前进程号为: %lld\n", (long long)data,
           (long long)mproc_getpid());
    sleep_ms(SECOND_MS);
    return MPROC_PACK(out, data * data * data) != 0; /* return data ** 3 */
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
    mproc_future *futures[3];
    if (mproc_executor_create(&executor, NULL) != 0)
        return 1;
    for (int i = 0; i < 3; i++) {
        const mproc_pack *args = MPROC_ARGS(MPROC_ARGS(process_data[i], 5)); /* submit(f, (v, 5)) */
        if (mproc_executor_submit(executor, "process_task", args, &futures[i]) != 0)
            return 1;
    }
    for (int i = 0; i < 3; i++) {
        mproc_bytes v;
        int64_t cube;
        if (mproc_future_result(futures[i], MPROC_FOREVER, &v) != 0 || MPROC_UNPACK(&v, &cube) != 0)
            return 1;
        printf("%lld\n", (long long)cube); /* print(f.result()) */
        mproc_bytes_free(&v);
        mproc_future_destroy(futures[i]);
    }
    mproc_executor_destroy(executor); /* the end of the with block: shutdown(wait=True) */

    printf("user_time: %f \n", now_s() - start_time);
    return 0;
}
