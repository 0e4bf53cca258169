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

static int print_get(mproc_mqueue *q) /* print(q.get()) */
{
    mproc_bytes msg = {0};
    const char *text;
    int rc = mproc_mqueue_get(q, WAIT_MS, &msg);
    if (rc == 0 && (rc = MPROC_UNPACK(&msg, &text)) == 0)
        printf("%s\n", text);
    mproc_bytes_free(&msg);
    return rc;
}

MPROC_TASK_ARGS(pro_test1, out, mproc_mqueue *, q, mproc_mevent *, taken)
{
    print_ids("[子进程1]");
    int rc = mproc_mqueue_put_pack(q, MPROC_ARGS("[子进程1]小明，今晚撸串不？"), WAIT_MS);
    if (rc == 0)
        rc = mproc_mevent_wait(taken, WAIT_MS); /* child 2 has the question */
    /* 设置一个简版的重试机制（三次重试） */
    for (int i = 0; i < 3 && rc == 0; i++) {
        int empty = mproc_mqueue_empty(q);
        if (empty != 1) { /* not empty, or the server's error */
            rc = empty < 0 ? empty : print_get(q);
            break;
        }
        sleep_ms((i + 1) * 2 * SECOND_MS); /* time.sleep((i + 1) * 2) */
    }
    mproc_proxy_destroy(taken);
    mproc_proxy_destroy(q);
    return rc ? mproc_task_fail(out, "%s", mproc_strerror(rc)) : 0;
}

MPROC_TASK_ARGS(pro_test2, out, mproc_mqueue *, q, mproc_mevent *, taken)
{
    print_ids("[子进程2]");
    int rc = print_get(q);
    if (rc == 0 && (rc = mproc_mevent_set(taken)) == 0) {
        sleep_ms(4 * SECOND_MS); /* 模拟一下网络延迟 */
        rc = mproc_mqueue_put_pack(q, MPROC_ARGS("[子进程2]不去，我今天约了妹子"), WAIT_MS);
    }
    mproc_proxy_destroy(taken);
    mproc_proxy_destroy(q);
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
    mproc_manager *manager;
    mproc_mqueue *queue; /* Manager().Queue(), and the event */
    mproc_mevent *taken;
    mproc_pool *p; /* Pool(2): see above */
    int failed = 0;
    mproc_call_opts opts = {.error_callback = error_callback, .ctx = &failed};
    if (mproc_manager_start(&manager, NULL) != 0 || mproc_manager_queue(manager, 0, &queue) != 0 ||
        mproc_manager_event(manager, &taken) != 0 ||
        mproc_pool_create(&p, &(mproc_pool_opts){.processes = 2}) != 0 ||
        mproc_pool_apply_async(p, "pro_test1", MPROC_ARGS(queue, taken), &opts, NULL) != 0 ||
        mproc_pool_apply_async(p, "pro_test2", MPROC_ARGS(queue, taken), &opts, NULL) != 0 ||
        mproc_pool_close(p) != 0 || mproc_pool_join(p, WAIT_MS) != 0)
        return 1;
    mproc_pool_destroy(p);
    mproc_proxy_destroy(taken);
    mproc_proxy_destroy(queue);
    mproc_manager_destroy(manager);
    return failed != 0;
}
