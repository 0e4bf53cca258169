/* Seed 003 §1.5, 进程间通信～Queue管道通信 / 引入案例 (a first Queue): the child puts a
 * message and waits for an answer; the parent, waiting in q.get(), prints it and puts its
 * answer, which the child prints. get and put block by default.
 * In Python the parent is waiting in q.get() before the child's message is in the pipe
 * (a feeder thread sends it a moment after put returns), so the parent takes it. Here put
 * returns with the message in the queue and start returns once the child runs, so the
 * child's own q.get() could take its message back. So the parent also sets an Event once
 * it has the message, and the child waits for that Event before it reads the answer. */
#include "example.h"

MPROC_TASK_ARGS(test, out, mproc_queue *, q, mproc_event *, taken)
{
    mproc_bytes answer;
    const char *text;
    if (mproc_queue_put_pack(q, MPROC_ARGS("[子进程]老爸，我出去嗨了"), MPROC_FOREVER) != 0 ||
        mproc_event_wait(taken, MPROC_FOREVER) != 0 || /* the parent has it */
        mproc_queue_get(q, MPROC_FOREVER, &answer) != 0 || MPROC_UNPACK(&answer, &text) != 0)
        return 1;
    printf("%s\n", text);
    return 0; /* what the child holds goes as it exits, as in Python */
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    mproc_queue *q;
    mproc_event *taken;
    mproc_process *p;
    mproc_bytes msg;
    const char *text;
    if (mproc_init(&argc, &argv) != 0 || mproc_queue_create(&q, 0) != 0 ||
        mproc_event_create(&taken) != 0 ||
        mproc_process_start_new(
            &p, &(mproc_process_opts){.target = "test", .args = MPROC_ARGS(q, taken)}) != 0 ||
        mproc_queue_get(q, MPROC_FOREVER, &msg) != 0 || MPROC_UNPACK(&msg, &text) != 0 ||
        mproc_event_set(taken) != 0)
        return 1;
    printf("%s\n", text);
    mproc_bytes_free(&msg);
    if (mproc_queue_put_pack(q, MPROC_ARGS("[父进程]去吧比卡丘～"), MPROC_FOREVER) != 0 ||
        mproc_process_join(p, MPROC_FOREVER) != 0)
        return 1;
    mproc_process_destroy(p);
    mproc_event_destroy(taken);
    mproc_queue_destroy(q);
    return 0;
}
