/* Seed 003 §1.5, 进程间通信1 / 子进程间通信 (two children talk through a Queue): child 1
 * asks, child 2 takes the question, waits (a network delay) and answers; child 1 looks for
 * the answer with a simple retry: it checks q.empty() up to three times, sleeping longer
 * each time. The seed's sleeps of 2, 4 and 6 s and the delay of 4 s are 0.3, 0.6, 0.9 and
 * 0.6 s here, so the answer comes between the second and the third look, as in the seed.
 * In Python, q.empty() just after q.put() is True: a feeder thread sends the message a
 * moment later, and child 2, waiting in q.get(), takes it. Here put returns with the
 * message in the queue, so child 1's first look would find its own question and take it
 * back. So child 2 also sets an Event once it has the question, and child 1 starts
 * looking only after that. Windows has no os.getgid(), so there
 * the lines show no GID (as the seed's Windows run). */
#include "example.h"

enum { SECOND_MS = 150 }; /* the seed's second */

static void print_ids(const char *who)
{
#ifdef _WIN32
    printf("%sPPID=%lld,PID=%lld\n", who, (long long)mproc_getppid(), (long long)mproc_getpid());
#else
    printf("%sPPID=%lld,PID=%lld,GID=%lld\n", who, (long long)mproc_getppid(),
           (long long)mproc_getpid(), (long long)getgid());
#endif
}

MPROC_TASK_ARGS(pro_test1, out, mproc_queue *, q, mproc_event *, taken)
{
    print_ids("[子进程1]");
    if (mproc_queue_put_pack(q, MPROC_ARGS("[子进程1]小明，今晚撸串不？"), MPROC_FOREVER) != 0 ||
        mproc_event_wait(taken, MPROC_FOREVER) != 0) /* child 2 has the question */
        return 1;
    /* 设置一个简版的重试机制（三次重试） */
    for (int i = 0; i < 3; i++) {
        if (!mproc_queue_empty(q)) {
            mproc_bytes msg;
            const char *text;
            if (mproc_queue_get(q, MPROC_FOREVER, &msg) != 0 || MPROC_UNPACK(&msg, &text) != 0)
                return 1;
            printf("%s\n", text);
            break;
        }
        sleep_ms((i + 1) * 2 * SECOND_MS); /* time.sleep((i + 1) * 2) */
    }
    return 0; /* what the child holds goes as it exits, as in Python */
}

MPROC_TASK_ARGS(pro_test2, out, mproc_queue *, q, mproc_event *, taken)
{
    print_ids("[子进程2]");
    mproc_bytes msg;
    const char *text;
    if (mproc_queue_get(q, MPROC_FOREVER, &msg) != 0 || MPROC_UNPACK(&msg, &text) != 0 ||
        mproc_event_set(taken) != 0)
        return 1;
    printf("%s\n", text);
    sleep_ms(4 * SECOND_MS); /* 模拟一下网络延迟 */
    return mproc_queue_put_pack(q, MPROC_ARGS("[子进程2]不去，我今天约了妹子"), MPROC_FOREVER) != 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    mproc_queue *queue;
    mproc_event *taken;
    mproc_process *p1, *p2;
    if (mproc_init(&argc, &argv) != 0 || mproc_queue_create(&queue, 0) != 0 ||
        mproc_event_create(&taken) != 0)
        return 1;
    const mproc_pack *args = MPROC_ARGS(queue, taken);
    if (mproc_process_start_new(&p1, &(mproc_process_opts){.target = "pro_test1", .args = args}) ||
        mproc_process_start_new(&p2, &(mproc_process_opts){.target = "pro_test2", .args = args}) ||
        mproc_process_join(p1, MPROC_FOREVER) != 0 || mproc_process_join(p2, MPROC_FOREVER) != 0)
        return 1;
    mproc_process_destroy(p1);
    mproc_process_destroy(p2);
    mproc_event_destroy(taken);
    mproc_queue_destroy(queue);
    return 0;
}
