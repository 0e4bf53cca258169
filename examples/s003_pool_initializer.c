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

MPROC_TASK_ARGS(init, out, mproc_queue *, queue, mproc_event *, event)
{
    q = queue; /* global q; q = queue */
    taken = event;
    return 0;
}

static int print_get(mproc_queue *from) /* print(q.get()) */
{
    mproc_bytes msg = {0};
    const char *text;
    int rc = mproc_queue_get(from, MPROC_FOREVER, &msg);
    if (rc == 0 && (rc = MPROC_UNPACK(&msg, &text)) == 0)
        printf("%s\n", text);
    mproc_bytes_free(&msg);
    return rc;
}

MPROC_TASK_NOARGS(pro_test1, out)
{
    printf("[子进程1]PPID=%lld,PID=%lld\n", (long long)mproc_getppid(), (long long)mproc_getpid());
    if (mproc_queue_put_pack(q, MPROC_ARGS("[子进程1]小明，今晚撸串不？"), MPROC_FOREVER) != 0 ||
        mproc_event_wait(taken, MPROC_FOREVER) != 0) /* child 2 has the question */
        return 1;
    /* 设置一个简版的重试机制（三次重试） */
    for (int i = 0; i < 3; i++) {
        if (!mproc_queue_empty(q))
            return print_get(q) != 0;
        sleep_ms((i + 1) * 2 * SECOND_MS); /* time.sleep((i + 1) * 2) */
    }
    return 0;
}

MPROC_TASK_NOARGS(pro_test2, out)
{
    printf("[子进程2]PPID=%lld,PID=%lld\n", (long long)mproc_getppid(), (long long)mproc_getpid());
    if (print_get(q) != 0 || mproc_event_set(taken) != 0)
        return 1;
    sleep_ms(4 * SECOND_MS); /* 模拟一下网络延迟 */
    return mproc_queue_put_pack(q, MPROC_ARGS("[子进程2]不去，我今天约了妹子"), MPROC_FOREVER) != 0;
}

static void error_callback(void *ctx, int code, const char *msg)
{
    *(int *)ctx += 1; /* main's exit code */
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
    mproc_pool *p; /* Pool(2, initializer=init, initargs=(queue, event)) */
    int failed = 0;
    mproc_call_opts opts = {.error_callback = error_callback, .ctx = &failed};
    if (mproc_queue_create(&queue, 0) != 0 || mproc_event_create(&event) != 0 ||
        mproc_pool_create(&p, &(mproc_pool_opts){.processes = 2,
                                                 .initializer = "init",
                                                 .initargs = MPROC_ARGS(queue, event)}) != 0 ||
        mproc_pool_apply_async(p, "pro_test1", NULL, &opts, NULL) != 0 ||
        mproc_pool_apply_async(p, "pro_test2", NULL, &opts, NULL) != 0 ||
        mproc_pool_close(p) != 0 || mproc_pool_join(p, MPROC_FOREVER) != 0)
        return 1;
    mproc_pool_destroy(p);
    mproc_event_destroy(event);
    mproc_queue_destroy(queue);
    return failed != 0;
}
