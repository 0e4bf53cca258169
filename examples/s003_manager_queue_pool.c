/* Seed 003 §1.5, 进程间通信2 — 正确方式 (Manager().Queue() passed to pool tasks): the seed's
 * fix for "Queue objects should only be shared between processes through inheritance":
 * the queue lives in a manager's server process, and each apply_async task gets a proxy
 * of it. Child 1 asks, child 2 takes the question, waits (a network delay) and answers,
 * and child 1 looks for the answer up to three times, sleeping longer each time. (mproc
 * would also take a plain Queue here: see s003_pool_queue_arg.)
 *
 * A manager's put is done when it returns, so child 1's first look, right after its own
 * put, could find its own question before child 2 took it (in the seed, child 2 was
 * already waiting in q.get() by then). So child 2 also sets an Event, of the same
 * manager, once it has the question, and child 1 starts looking only then. The seed's
 * seconds are 200 ms here (sleeps of 0.4 and 0.8 s, a delay of 0.8 s, about 1.2 s in
 * all instead of 6), so the answer still comes between the second and the third look.
 * The two tasks run at the same time, so the pool has two workers whatever the machine
 * (the seed's Pool() has one per CPU). Windows has no os.getgid(), so there the lines
 * show no GID. */
#include "example.h"

enum {
    SECOND_MS = 200, /* the seed's second */
    WAIT_MS = 30000  /* every wait has a bound */
};

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

/* The task's arguments (q, taken): proxies of the worker's own, closed by the task. */
static int unpack_args(const mproc_bytes *in, mproc_mqueue **q, mproc_mevent **taken)
{
    mproc_unpacker u;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_mqueue(&u, q) != 0)
        return 1;
    if (mproc_unpack_mevent(&u, taken) != 0) {
        mproc_proxy_destroy(*q);
        return 1;
    }
    return 0;
}

MPROC_TASK(pro_test1, in, out)
{
    mproc_mqueue *q;
    mproc_mevent *taken;
    if (unpack_args(in, &q, &taken) != 0)
        return mproc_task_fail(out, "pro_test1 wants a queue and an event");
    print_ids("[子进程1]");
    const char *question = "[子进程1]小明，今晚撸串不？";
    int rc = mproc_mqueue_put(q, question, strlen(question), WAIT_MS);
    if (rc == 0)
        rc = mproc_mevent_wait(taken, WAIT_MS); /* child 2 has the question */
    /* 设置一个简版的重试机制（三次重试） */
    for (int i = 0; i < 3 && rc == 0; i++) {
        int empty = mproc_mqueue_empty(q);
        if (empty < 0) {
            rc = empty;
        } else if (!empty) {
            mproc_bytes msg;
            if ((rc = mproc_mqueue_get(q, WAIT_MS, &msg)) == 0)
                print_msg(&msg);
            break;
        } else {
            sleep_ms((i + 1) * 2 * SECOND_MS); /* time.sleep((i + 1) * 2) */
        }
    }
    mproc_proxy_destroy(taken);
    mproc_proxy_destroy(q);
    return rc == 0 ? 0 : mproc_task_fail(out, "pro_test1: %s", mproc_strerror(rc));
}

MPROC_TASK(pro_test2, in, out)
{
    mproc_mqueue *q;
    mproc_mevent *taken;
    if (unpack_args(in, &q, &taken) != 0)
        return mproc_task_fail(out, "pro_test2 wants a queue and an event");
    print_ids("[子进程2]");
    mproc_bytes msg;
    int rc = mproc_mqueue_get(q, WAIT_MS, &msg);
    if (rc == 0)
        rc = mproc_mevent_set(taken);
    if (rc == 0) {
        print_msg(&msg);
        sleep_ms(4 * SECOND_MS); /* 模拟一下网络延迟 */
        const char *answer = "[子进程2]不去，我今天约了妹子";
        rc = mproc_mqueue_put(q, answer, strlen(answer), WAIT_MS);
    }
    mproc_proxy_destroy(taken);
    mproc_proxy_destroy(q);
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
    mproc_manager *manager; /* Manager() */
    int rc = mproc_manager_start(&manager, NULL);
    if (rc != 0) {
        fprintf(stderr, "Manager(): %s\n", mproc_strerror(rc));
        return 1;
    }
    mproc_mqueue *queue; /* Manager().Queue(), and the event */
    mproc_mevent *taken;
    if ((rc = mproc_manager_queue(manager, 0, &queue)) != 0 ||
        (rc = mproc_manager_event(manager, &taken)) != 0) {
        fprintf(stderr, "Queue()/Event(): %s\n", mproc_strerror(rc));
        return 1;
    }
    mproc_pool *p; /* Pool(2): see above */
    if ((rc = mproc_pool_create(&p, &(mproc_pool_opts){.processes = 2})) != 0) {
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
        rc2 = mproc_pool_join(p, WAIT_MS);
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
    mproc_proxy_destroy(taken);
    mproc_proxy_destroy(queue);
    mproc_manager_destroy(manager);
    return rc == 0 ? 0 : 1;
}
