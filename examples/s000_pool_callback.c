/* Seed 000, 进程池 multiprocessing.Pool(), 5. apply_async 的回调函数: each apply_async call has
 * a callback that gets the task's return value (回调函数接受的参数就是执行函数的返回值) and runs
 * in the main process (回调函数就是是在主进程执行的): it prints the value and its own pid,
 * which is the pid the first line shows for the main process. After close and join, get()
 * prints the three values again, in the order of the calls.
 *
 * The seed writes print("当前进程号为: %s", os.getpid()), which Python prints as
 * "当前进程号为: %s 1234" (two arguments, no formatting); here the pid is formatted in.
 * The callback runs on a thread of the main process (the pool's result thread); it gets the
 * call's result as a pack's bytes (one integer here), and the ctx pointer given with
 * the call (none here). As in the seed, the task's one argument is the tuple (v, 5), a
 * nested pack. The seed's time.sleep(1) is 0.1 s here, to keep the run short. */
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

/* Gets the call's one result (an apply); -1 shows one that is not a number. */
static void process_callback(void *ctx, const mproc_bytes *results, size_t n)
{
    int64_t data = -1;
    (void)ctx;
    (void)n;
    (void)MPROC_UNPACK(&results[0], &data);
    printf("----------- the data is %lld\n", (long long)data);
    printf("当前进程号为: %lld\n", (long long)mproc_getpid());
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
    mproc_call_opts opts = {.callback = process_callback};
    int64_t process_data[] = {100, 200, 300};

    printf("主进程:%lld, 父进程:%lld\n", (long long)mproc_getpid(), (long long)mproc_getppid());

    mproc_async *result_list[3];
    for (int i = 0; i < 3; i++) {
        const mproc_pack *args = MPROC_ARGS(MPROC_ARGS(process_data[i], 5)); /* args=((v, 5),) */
        if (mproc_pool_apply_async(process_pool, "process_task", args, &opts, &result_list[i]) != 0)
            return 1;
    }

    if (mproc_pool_close(process_pool) != 0 || mproc_pool_join(process_pool, MPROC_FOREVER) != 0)
        return 1;

    for (int i = 0; i < 3; i++) {
        mproc_bytes v;
        int64_t cube;
        if (mproc_async_get(result_list[i], MPROC_FOREVER, &v) != 0 || MPROC_UNPACK(&v, &cube) != 0)
            return 1;
        printf("%lld\n", (long long)cube); /* print(v.get()) */
        mproc_bytes_free(&v);
        mproc_async_destroy(result_list[i]);
    }

    printf("user_time: %f \n", now_s() - start_time);
    mproc_pool_destroy(process_pool);
    return 0;
}
