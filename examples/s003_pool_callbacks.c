/* Seed 003 §1.3, 源码拓展 (apply_async's callback and error_callback): tasks 0, 1 and 2 succeed
 * and their callback prints "[子进程N]执行完毕" with the value the task returned (N); tasks 3
 * and 4 fail, and their error_callback prints the failure's text. Both run in the main
 * process, on the pool's result thread, after the task ended; "over" comes after join.
 *
 * Python's task raises Exception("[子进程N]啊，我挂了～") and error_callback gets the
 * exception; a C task fails by returning non-zero, with the text given by
 * mproc_task_fail, and error_callback gets that text. A task's result is bytes: here the 8
 * bytes of an int64_t. The seed uses Pool() (one worker per CPU); nothing here depends on
 * how many there are. The seed's time.sleep(1) is 0.1 s here, to keep the run short. */
#include "example.h"

enum { SECOND_MS = 100, TASKS = 5 }; /* the seed's second */

static int unpack_name(const mproc_bytes *in, int64_t *name)
{
    mproc_unpacker u;
    mproc_unpack_init(&u, in);
    return mproc_unpack_i64(&u, name);
}

MPROC_TASK(test, in, out)
{
    int64_t name;
    if (unpack_name(in, &name) != 0)
        return mproc_task_fail(out, "test wants one integer");
    printf("[子进程%lld]PID=%lld，PPID=%lld\n", (long long)name, (long long)mproc_getpid(),
           (long long)mproc_getppid());
    sleep_ms(SECOND_MS);
    if (MPROC_PACK(out, name) != 0) /* return name */
        return mproc_task_fail(out, "out of memory");
    return 0;
}

MPROC_TASK(error_test, in, out)
{
    int64_t name;
    if (unpack_name(in, &name) != 0)
        return mproc_task_fail(out, "error_test wants one integer");
    printf("[子进程%lld]PID=%lld，PPID=%lld\n", (long long)name, (long long)mproc_getpid(),
           (long long)mproc_getppid());
    return mproc_task_fail(out, "[子进程%lld]啊，我挂了～", (long long)name); /* raise Exception */
}

/* 成功之后的回调函数 */
static void callback(void *ctx, const mproc_bytes *results, size_t n)
{
    (void)ctx;
    int64_t name;
    if (n != 1 || MPROC_UNPACK(&results[0], &name) != 0) {
        printf("callback: unexpected result\n");
        return;
    }
    printf("[子进程%lld]执行完毕\n", (long long)name);
}

/* 错误之后的回调函数 */
static void error_callback(void *ctx, int code, const char *text)
{
    (void)ctx;
    /* code: MPROC_ETASK when the task failed (MPROC_EWORKER if its worker had died) */
    printf("%s\n", text ? text : mproc_strerror(code));
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    printf("[父进程]PID=%lld，PPID=%lld\n", (long long)mproc_getpid(), (long long)mproc_getppid());
    mproc_pool *p;
    int rc = mproc_pool_create(&p, NULL); /* Pool(): CPU默认核数 */
    if (rc != 0) {
        fprintf(stderr, "Pool(): %s\n", mproc_strerror(rc));
        return 1;
    }
    mproc_async *calls[TASKS] = {NULL};
    for (int i = 0; i < TASKS && rc == 0; i++) {
        mproc_pack *args;
        if ((rc = mproc_pack_create(&args)) != 0)
            break;
        if ((rc = mproc_pack_i64(args, i)) == 0) {
            if (i > 2) /* 搞2个出错的看看 */
                rc = mproc_pool_apply_async(
                    p, "error_test", args,
                    &(mproc_call_opts){.callback = callback, .error_callback = error_callback},
                    &calls[i]);
            else /* 异步执行，成功后执行callback函数 */
                rc = mproc_pool_apply_async(p, "test", args,
                                            &(mproc_call_opts){.callback = callback}, &calls[i]);
        }
        mproc_pack_destroy(args);
    }
    if (rc != 0)
        fprintf(stderr, "apply_async: %s\n", mproc_strerror(rc));
    int rc2 = mproc_pool_close(p);
    if (rc2 == 0)
        rc2 = mproc_pool_join(p, MPROC_FOREVER);
    if (rc2 != 0) {
        fprintf(stderr, "close/join: %s\n", mproc_strerror(rc2));
        rc = rc2;
    }
    /* The failures were the point: only a task that failed otherwise is an error. */
    for (int i = 0; i < TASKS; i++) {
        if (calls[i] && mproc_async_successful(calls[i]) != (i > 2 ? 0 : 1)) {
            fprintf(stderr, "task %d: not the outcome the seed shows\n", i);
            rc = MPROC_ETASK;
        }
        mproc_async_destroy(calls[i]);
    }
    printf("over\n");
    mproc_pool_destroy(p);
    return rc == 0 ? 0 : 1;
}
