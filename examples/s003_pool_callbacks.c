/* Seed 003 §1.3, 源码拓展 (apply_async's callback and error_callback): tasks 0, 1 and 2 succeed
 * and their callback prints "[子进程N]执行完毕" with the value the task returned (N); tasks 3
 * and 4 fail, and their error_callback prints the failure's text. Both run in the main
 * process, on the pool's result thread, after the task ended; "over" comes after join.
 *
 * Python's task raises Exception("[子进程N]啊，我挂了～") and error_callback gets the
 * exception; a C task fails by returning non-zero, with the text given by
 * mproc_task_fail, and error_callback gets that text. The seed uses Pool() (one worker per
 * CPU); nothing here depends on how many there are. The seed's time.sleep(1) is 0.1 s
 * here, to keep the run short. */
#include "example.h"

MPROC_TASK_ARGS(test, out, int64_t, name)
{
    printf("[子进程%lld]PID=%lld，PPID=%lld\n", (long long)name, (long long)mproc_getpid(),
           (long long)mproc_getppid());
    sleep_ms(100);                     /* time.sleep(1) */
    return MPROC_PACK(out, name) != 0; /* return name */
}

MPROC_TASK_ARGS(error_test, out, int64_t, name)
{
    printf("[子进程%lld]PID=%lld，PPID=%lld\n", (long long)name, (long long)mproc_getpid(),
           (long long)mproc_getppid());
    return mproc_task_fail(out, "[子进程%lld]啊，我挂了～", (long long)name); /* raise Exception */
}

/* 成功之后的回调函数 */
static void callback(void *ctx, const mproc_bytes *results, size_t n)
{
    (void)ctx;
    int64_t name;
    if (n == 1 && MPROC_UNPACK(&results[0], &name) == 0)
        printf("[子进程%lld]执行完毕\n", (long long)name);
}

/* 错误之后的回调函数: code is MPROC_ETASK when the task failed (MPROC_EWORKER if its worker
 * had died) */
static void error_callback(void *ctx, int code, const char *text)
{
    (void)ctx;
    printf("%s\n", text ? text : mproc_strerror(code));
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    printf("[父进程]PID=%lld，PPID=%lld\n", (long long)mproc_getpid(), (long long)mproc_getppid());
    mproc_pool *p;
    if (mproc_pool_create(&p, NULL) != 0) /* Pool(): CPU默认核数 */
        return 1;
    mproc_async *calls[5];
    for (int i = 0; i < 5; i++) {
        /* 搞2个出错的看看 (i > 2); the others: 异步执行，成功后执行callback函数 */
        mproc_call_opts opts = {.callback = callback,
                                .error_callback = i > 2 ? error_callback : NULL};
        if (mproc_pool_apply_async(p, i > 2 ? "error_test" : "test", MPROC_ARGS(i), &opts,
                                   &calls[i]) != 0)
            return 1;
    }
    if (mproc_pool_close(p) != 0 || mproc_pool_join(p, MPROC_FOREVER) != 0)
        return 1;
    int unexpected = 0; /* the failures were the point: only another outcome is an error */
    for (int i = 0; i < 5; i++) {
        unexpected += mproc_async_successful(calls[i]) != (i > 2 ? 0 : 1);
        mproc_async_destroy(calls[i]);
    }
    printf("over\n");
    mproc_pool_destroy(p);
    return unexpected != 0;
}
