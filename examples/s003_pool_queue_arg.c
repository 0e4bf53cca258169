/* Seed 003 §1.5, 进程间通信2 (a Queue passed to pool tasks): the two children of
 * s003_queue_children, run as apply_async tasks of a pool with the queue among their
 * arguments. Python refuses this: each call fails with "Queue objects should only be shared
 * between processes through inheritance" (its error_callback prints that twice), and the
 * seed turns to Manager().Queue(). mproc allows it: a queue, like every shareable object,
 * travels in a pool task's argument pack, and the worker gets its own handle to the same
 * queue for the time of the task. So this port works, and prints what the seed's Manager
 * version prints. error_callback stays, to show any failure.
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

static void print_msg(mproc_bytes *msg)
{
    printf("%.*s\n", (int)msg->len, (const char *)msg->data);
    mproc_bytes_free(msg);
}

/* The task's arguments (q, taken): handles of the worker's own, destroyed by the task. */
static int unpack_args(const mproc_bytes *in, mproc_queue **q, mproc_event **taken)
{
    mproc_unpacker u;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_queue(&u, q) != 0)
        return 1;
    if (mproc_unpack_event(&u, taken) != 0) {
        mproc_queue_destroy(*q);
        return 1;
    }
    return 0;
}

MPROC_TASK(pro_test1, in, out)
{
    mproc_queue *q;
    mproc_event *taken;
    if (unpack_args(in, &q, &taken) != 0)
        return mproc_task_fail(out, "pro_test1 wants a queue and an event");
    print_ids("[子进程1]");
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
    mproc_event_destroy(taken);
    mproc_queue_destroy(q);
    return rc == 0 ? 0 : mproc_task_fail(out, "pro_test1: %s", mproc_strerror(rc));
}

MPROC_TASK(pro_test2, in, out)
{
    mproc_queue *q;
    mproc_event *taken;
    if (unpack_args(in, &q, &taken) != 0)
        return mproc_task_fail(out, "pro_test2 wants a queue and an event");
    print_ids("[子进程2]");
    mproc_bytes msg;
    int rc = mproc_queue_get(q, MPROC_FOREVER, &msg);
    if (rc == 0) {
        mproc_event_set(taken);
        print_msg(&msg);
        sleep_ms(4 * SECOND_MS); /* 模拟一下网络延迟 */
        const char *answer = "[子进程2]不去，我今天约了妹子";
        rc = mproc_queue_put(q, answer, strlen(answer), MPROC_FOREVER);
    }
    mproc_event_destroy(taken);
    mproc_queue_destroy(q);
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
    print_ids("[父进程]");
    mproc_queue *queue;
    mproc_event *taken;
    if (mproc_queue_create(&queue, 0) != 0 || mproc_event_create(&taken) != 0)
        return 1;
    mproc_pool *p; /* Pool(2): see above */
    int rc = mproc_pool_create(&p, &(mproc_pool_opts){.processes = 2});
    if (rc != 0) {
        fprintf(stderr, "Pool(2): %s\n", mproc_strerror(rc));
        return 1;
    }
    mproc_pack *args; /* args=(queue, ) and the event */
    if ((rc = mproc_pack_create(&args)) != 0)
        return 1;
    mproc_async *calls[2] = {NULL, NULL};
    mproc_call_opts opts = {.error_callback = error_callback};
    if ((rc = mproc_pack_handle(args, queue)) == 0 && (rc = mproc_pack_handle(args, taken)) == 0 &&
        (rc = mproc_pool_apply_async(p, "pro_test1", args, &opts, &calls[0])) == 0)
        rc = mproc_pool_apply_async(p, "pro_test2", args, &opts, &calls[1]);
    mproc_pack_destroy(args);
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
    mproc_event_destroy(taken);
    mproc_queue_destroy(queue);
    return rc == 0 ? 0 : 1;
}
