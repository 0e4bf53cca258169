/* Seed 003 §1.5, 进程间通信2 (a Queue passed to pool tasks): the two children of
 * s003_queue_children, run as apply_async tasks of a pool with the queue among their
 * arguments. Python refuses this: each call fails with "Queue objects should only be shared
 * between processes through inheritance" (its error_callback prints that twice), and the
 * seed turns to Manager().Queue(). mproc allows it: a queue, like every shareable object,
 * travels in a pool task's argument pack, and the worker gets its own handle to the same
 * queue for the time of the task. So this port works, and prints what the seed's Manager
 * version prints. error_callback stays, to show any failure, and counts it for the exit
 * code (the handles apply_async returns are dropped, as in the seed).
 *
 * As in s003_queue_children: child 1 asks, child 2 takes the question, waits (a network
 * delay) and answers, and child 1 looks for the answer up to three times, sleeping longer
 * each time. A put here is in the queue when it returns (Python's feeder thread sends it a
 * moment later), so child 1's first look would find its own question; so child 2 also sets
 * an Event once it has the question, and child 1 starts looking only then. The seed's
 * seconds are 50 ms here (sleeps of 0.1, 0.2 and 0.3 s, a delay of 0.2 s), so the answer
 * still comes between the second and the third look. The two tasks run at the same time,
 * so the pool has two workers whatever the machine (the seed's Pool() has one per CPU).
 * Windows has no os.getgid(), so there the lines show no GID. */
#include "example.h"

enum { SECOND_MS = 50 }; /* the seed's second */

static void print_ids(const char *who)
{
#ifdef _WIN32
    printf("%sPPID=%lld,PID=%lld\n", who, (long long)mproc_getppid(), (long long)mproc_getpid());
#else
    printf("%sPPID=%lld,PID=%lld,GID=%lld\n", who, (long long)mproc_getppid(),
           (long long)mproc_getpid(), (long long)getgid());
#endif
}

static int print_get(mproc_queue *q) /* print(q.get()) */
{
    mproc_bytes msg = {0};
    const char *text;
    int rc = mproc_queue_get(q, MPROC_FOREVER, &msg);
    if (rc == 0 && (rc = MPROC_UNPACK(&msg, &text)) == 0)
        printf("%s\n", text);
    mproc_bytes_free(&msg);
    return rc;
}

MPROC_TASK_ARGS(pro_test1, out, mproc_queue *, q, mproc_event *, taken)
{
    print_ids("[子进程1]");
    int rc = mproc_queue_put_pack(q, MPROC_ARGS("[子进程1]小明，今晚撸串不？"), MPROC_FOREVER);
    if (rc == 0)
        rc = mproc_event_wait(taken, MPROC_FOREVER); /* child 2 has the question */
    /* 设置一个简版的重试机制（三次重试） */
    for (int i = 0; i < 3 && rc == 0; i++) {
        if (!mproc_queue_empty(q)) {
            rc = print_get(q);
            break;
        }
        sleep_ms((i + 1) * 2 * SECOND_MS); /* time.sleep((i + 1) * 2) */
    }
    mproc_event_destroy(taken);
    mproc_queue_destroy(q);
    return rc ? mproc_task_fail(out, "%s", mproc_strerror(rc)) : 0;
}

MPROC_TASK_ARGS(pro_test2, out, mproc_queue *, q, mproc_event *, taken)
{
    print_ids("[子进程2]");
    int rc = print_get(q);
    if (rc == 0 && (rc = mproc_event_set(taken)) == 0) {
        sleep_ms(4 * SECOND_MS); /* 模拟一下网络延迟 */
        rc = mproc_queue_put_pack(q, MPROC_ARGS("[子进程2]不去，我今天约了妹子"), MPROC_FOREVER);
    }
    mproc_event_destroy(taken);
    mproc_queue_destroy(q);
    return rc ? mproc_task_fail(out, "%s", mproc_strerror(rc)) : 0;
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
    print_ids("[父进程]");
    mproc_queue *queue;
    mproc_event *taken;
    mproc_pool *p; /* Pool(2): see above */
    int failed = 0;
    mproc_call_opts opts = {.error_callback = error_callback, .ctx = &failed};
    if (mproc_queue_create(&queue, 0) != 0 || mproc_event_create(&taken) != 0 ||
        mproc_pool_create(&p, &(mproc_pool_opts){.processes = 2}) != 0 ||
        mproc_pool_apply_async(p, "pro_test1", MPROC_ARGS(queue, taken), &opts, NULL) != 0 ||
        mproc_pool_apply_async(p, "pro_test2", MPROC_ARGS(queue, taken), &opts, NULL) != 0 ||
        mproc_pool_close(p) != 0 || mproc_pool_join(p, MPROC_FOREVER) != 0)
        return 1;
    mproc_pool_destroy(p);
    mproc_event_destroy(taken);
    mproc_queue_destroy(queue);
    return failed != 0;
}
