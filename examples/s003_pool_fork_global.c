/* Seed 003 §1.5, 进程间通信2, 再抛个思考题（Linux）: the tasks of s003_pool_queue_arg take no
 * arguments and use a global queue, created before the pool. It works because the workers
 * are started with fork (为啥这样也可以【提示：fork】): each is a copy of the main process,
 * globals included, so it inherits the queue. (The seed creates a second, unused queue in
 * main(); the one the tasks use is the global.) mproc's default on POSIX is the
 * forkserver, whose workers are copies of a server process that is a new run of the
 * program and never had main()'s globals, so this pool asks for fork explicitly.
 *
 * Windows has no fork: a worker is a new run of the program, where the global is still
 * NULL (in Python, a new queue of its own: the two tasks would never meet). There this
 * program says so and ends; s003_pool_initializer shows the way that works everywhere.
 *
 * The rest is as in s003_pool_queue_arg: a global Event, inherited too, tells child 1 that
 * child 2 has the question (a put here is in the queue at once, and child 1's first look
 * would find its own question); the seed's seconds are 50 ms; the two tasks run at the same
 * time, so the pool has two workers whatever the machine. */
#include "example.h"

enum { SECOND_MS = 50 }; /* the seed's second */

static mproc_queue *q;     /* q = Queue() */
static mproc_event *taken; /* set by child 2 once it has the question */

static void print_ids(const char *who)
{
#ifdef _WIN32
    printf("%sPPID=%lld,PID=%lld\n", who, (long long)mproc_getppid(), (long long)mproc_getpid());
#else
    printf("%sPPID=%lld,PID=%lld,GID=%lld\n", who, (long long)mproc_getppid(),
           (long long)mproc_getpid(), (long long)getgid());
#endif
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
    if (!q || !taken) /* not a fork of the main process */
        return mproc_task_fail(out, "no global queue in this worker");
    print_ids("[子进程1]");
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
    if (!q || !taken) /* not a fork of the main process */
        return mproc_task_fail(out, "no global queue in this worker");
    print_ids("[子进程2]");
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
    if (!mproc_start_method_available(MPROC_FORK)) {
        printf("no fork on this platform: pool workers cannot inherit a global queue "
               "(see s003_pool_initializer)\n");
        return 0;
    }
    print_ids("[父进程]");
    mproc_context *fork_ctx;
    mproc_pool *p; /* Pool(2), its workers forked after the queue was made */
    int failed = 0;
    mproc_call_opts opts = {.error_callback = error_callback, .ctx = &failed};
    if (mproc_queue_create(&q, 0) != 0 || mproc_event_create(&taken) != 0 ||
        mproc_context_get(&fork_ctx, MPROC_FORK) != 0 ||
        mproc_pool_create(&p, &(mproc_pool_opts){.processes = 2, .ctx = fork_ctx}) != 0 ||
        mproc_pool_apply_async(p, "pro_test1", NULL, &opts, NULL) != 0 ||
        mproc_pool_apply_async(p, "pro_test2", NULL, &opts, NULL) != 0 ||
        mproc_pool_close(p) != 0 || mproc_pool_join(p, MPROC_FOREVER) != 0)
        return 1;
    mproc_pool_destroy(p);
    mproc_event_destroy(taken);
    mproc_queue_destroy(q);
    return failed != 0;
}
