/* Seed 003 §1.5, 进程间通信～Queue管道通信 / 引入案例 (a first Queue): the child puts a
 * message and waits for an answer; the parent, waiting in q.get(), prints it and puts its
 * answer, which the child prints. get and put block by default.
 * In Python the parent is waiting in q.get() before the child's message is in the pipe
 * (a feeder thread sends it a moment after put returns), so the parent takes it. Here put
 * returns with the message in the queue and start returns once the child runs, so the
 * child's own q.get() could take its message back. So the parent also sets an Event once
 * it has the message, and the child waits for that Event before it reads the answer. */
#include "example.h"

MPROC_TASK(test, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_queue *q;
    mproc_event *taken;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_queue(&u, &q) != 0)
        return 1;
    if (mproc_unpack_event(&u, &taken) != 0) {
        mproc_queue_destroy(q);
        return 1;
    }
    const char *msg = "[子进程]老爸，我出去嗨了";
    mproc_bytes answer;
    int rc = mproc_queue_put(q, msg, strlen(msg), MPROC_FOREVER);
    if (rc == 0)
        rc = mproc_event_wait(taken, MPROC_FOREVER); /* the parent has it */
    if (rc == 0)
        rc = mproc_queue_get(q, MPROC_FOREVER, &answer);
    if (rc == 0) {
        printf("%.*s\n", (int)answer.len, (const char *)answer.data);
        mproc_bytes_free(&answer);
    }
    mproc_event_destroy(taken);
    mproc_queue_destroy(q);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_queue *q;
    mproc_event *taken;
    if (mproc_queue_create(&q, 0) != 0 || mproc_event_create(&taken) != 0)
        return 1;
    mproc_pack *args;
    mproc_pack_create(&args);
    mproc_pack_handle(args, q);
    mproc_pack_handle(args, taken);
    mproc_process *p = start_process(&(mproc_process_opts){.target = "test", .args = args});
    mproc_pack_destroy(args);
    mproc_bytes msg;
    if (mproc_queue_get(q, MPROC_FOREVER, &msg) != 0)
        return 1;
    mproc_event_set(taken);
    printf("%.*s\n", (int)msg.len, (const char *)msg.data);
    mproc_bytes_free(&msg);
    const char *answer = "[父进程]去吧比卡丘～";
    mproc_queue_put(q, answer, strlen(answer), MPROC_FOREVER);
    mproc_process_join(p, MPROC_FOREVER);
    mproc_process_destroy(p);
    mproc_event_destroy(taken);
    mproc_queue_destroy(q);
    return 0;
}
