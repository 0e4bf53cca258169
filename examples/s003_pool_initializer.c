/* Seed 003, 扩展补充 (Pool's initializer and initargs): the portable answer to "Queue objects
 * should only be shared between processes through inheritance". Pool(initializer=init,
 * initargs=(queue,)) runs init(queue) in every worker before its first task, and init
 * keeps the queue in a global of the worker (global q; q = queue); the tasks, which take no
 * arguments, use that global. This works under every start method (Win下亦通用), unlike
 * s003_pool_fork_global, which needs fork.
 *
 * In C the initializer is a task like any other: it unpacks the queue from initargs and
 * stores the worker's own handle in the global, where it stays for the worker's life. The
 * rest is as in s003_pool_queue_arg: an Event, passed the same way, tells child 1 that
 * child 2 has the question (a put here is in the queue at once, and child 1's first look
 * would find its own question); the seed's seconds are 50 ms; the two tasks run at the
 * same time, so the pool has two workers whatever the machine (the seed's Pool() has one
 * per CPU). The seed prints no GID in this version. */
#include "example.h"

enum { SECOND_MS = 50 }; /* the seed's second */

static mproc_queue *q;     /* set by init in each worker */
static mproc_event *taken; /* set by child 2 once it has the question */

MPROC_TASK(init, in, out)
{
    mproc_unpacker u;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_queue(&u, &q) != 0) /* global q; q = queue */
        return mproc_task_fail(out, "init wants a queue and an event");
    if (mproc_unpack_event(&u, &taken) != 0) {
        mproc_queue_destroy(q);
        q = NULL;
        return mproc_task_fail(out, "init wants a queue and an event");
    }
    return 0;
}

static void print_msg(mproc_bytes *msg)
{
    printf("%.*s\n", (int)msg->len, (const char *)msg->data);
    mproc_bytes_free(msg);
}

MPROC_TASK(pro_test1, in, out)
{
    (void)in;
    if (!q || !taken)
        return mproc_task_fail(out, "pro_test1: init did not run");
    printf("[子进程1]PPID=%lld,PID=%lld\n", (long long)mproc_getppid(), (long long)mproc_getpid());
    const char *question = "[子进程1]小明，今晚撸串不？";
    int rc = mproc_queue_put(q, question, strlen(question), MPROC_FOREVER);
    if (rc == 0)
        rc = mproc_event_wait(taken, MPROC_FOREVER); /* child 2 has the question */
    /* 设置一个简版的重试机制（三次重试） */
    for (int i = 0; i < 3 && rc == 0; i++) {
        if (!mproc_queue_empty(q)) {
            mproc_bytes msg;
            if ((rc = mproc_queue_get(q, MPROC_FOREVER, &msg)) == 0)
                print_msg(&msg);
            break;
        }
        sleep_ms((i + 1) * 2 * SECOND_MS); /* time.sleep((i + 1) * 2) */
    }
    return rc == 0 ? 0 : mproc_task_fail(out, "pro_test1: %s", mproc_strerror(rc));
}

MPROC_TASK(pro_test2, in, out)
{
    (void)in;
    if (!q || !taken)
        return mproc_task_fail(out, "pro_test2: init did not run");
    printf("[子进程2]PPID=%lld,PID=%lld\n", (long long)mproc_getppid(), (long long)mproc_getpid());
    mproc_bytes msg;
    int rc = mproc_queue_get(q, MPROC_FOREVER, &msg);
    if (rc == 0) {
        mproc_event_set(taken);
        print_msg(&msg);
        sleep_ms(4 * SECOND_MS); /* 模拟一下网络延迟 */
        const char *answer = "[子进程2]不去，我今天约了妹子";
        rc = mproc_queue_put(q, answer, strlen(answer), MPROC_FOREVER);
    }
    return rc == 0 ? 0 : mproc_task_fail(out, "pro_test2: %s", mproc_strerror(rc));
}

static void error_callback(void *ctx, int code, const char *msg)
{
    (void)ctx;
    printf("%s\n", msg ? msg : mproc_strerror(code));
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    printf("[父进程]PPID=%lld,PID=%lld\n", (long long)mproc_getppid(), (long long)mproc_getpid());
    mproc_queue *queue;
    mproc_event *event;
    if (mproc_queue_create(&queue, 0) != 0 || mproc_event_create(&event) != 0)
        return 1;
    mproc_pack *initargs; /* initargs=(queue, ) and the event */
    if (mproc_pack_create(&initargs) != 0)
        return 1;
    int rc = mproc_pack_handle(initargs, queue);
    if (rc == 0)
        rc = mproc_pack_handle(initargs, event);
    mproc_pool *p = NULL; /* Pool(2, initializer=init, initargs=(queue, event)) */
    if (rc == 0)
        rc = mproc_pool_create(
            &p, &(mproc_pool_opts){.processes = 2, .initializer = "init", .initargs = initargs});
    mproc_pack_destroy(initargs);
    if (rc != 0) {
        fprintf(stderr, "Pool(initializer=init): %s\n", mproc_strerror(rc));
        return 1;
    }
    mproc_async *calls[2] = {NULL, NULL};
    mproc_call_opts opts = {.error_callback = error_callback};
    rc = mproc_pool_apply_async(p, "pro_test1", NULL, &opts, &calls[0]);
    if (rc == 0)
        rc = mproc_pool_apply_async(p, "pro_test2", NULL, &opts, &calls[1]);
    if (rc != 0)
        fprintf(stderr, "apply_async: %s\n", mproc_strerror(rc));
    int rc2 = mproc_pool_close(p);
    if (rc2 == 0)
        rc2 = mproc_pool_join(p, MPROC_FOREVER);
    if (rc2 != 0) {
        fprintf(stderr, "close/join: %s\n", mproc_strerror(rc2));
        rc = rc2;
    }
    for (int i = 0; i < 2; i++) {
        if (calls[i] && mproc_async_successful(calls[i]) != 1)
            rc = MPROC_ETASK; /* error_callback has printed why */
        mproc_async_destroy(calls[i]);
    }
    mproc_pool_destroy(p);
    mproc_event_destroy(event);
    mproc_queue_destroy(queue);
    return rc == 0 ? 0 : 1;
}
