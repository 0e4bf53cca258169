/* Seed 003, 进程拓展 / 1.上下文系 (start methods): set_start_method('spawn') makes every
 * process after it start as a fresh run of the program; the child puts 'hello' on a Queue
 * and the parent prints it. Only the main process prints, so stdout needs no line
 * buffering. */
#include "example.h"

MPROC_TASK_ARGS(foo, out, mproc_queue *, q)
{
    /* q is closed as the child exits, as in Python */
    return mproc_queue_put_pack(q, MPROC_ARGS("hello"), MPROC_FOREVER) != 0;
}

int main(int argc, char **argv)
{
    mproc_queue *q;
    mproc_process *p;
    mproc_bytes msg;
    const char *text;
    if (mproc_init(&argc, &argv) != 0 ||
        mproc_set_start_method(MPROC_SPAWN) != 0 || /* 不要过多使用 */
        mproc_queue_create(&q, 0) != 0 ||
        mproc_process_start_new(&p,
                                &(mproc_process_opts){.target = "foo", .args = MPROC_ARGS(q)}) ||
        mproc_queue_get(q, MPROC_FOREVER, &msg) != 0 || MPROC_UNPACK(&msg, &text) != 0)
        return 1;
    printf("%s\n", text);
    mproc_bytes_free(&msg);
    mproc_queue_destroy(q);
    return mproc_process_join(p, MPROC_FOREVER) != 0 || mproc_process_destroy(p) != 0;
}
