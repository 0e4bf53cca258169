/* Seed 003, 进程拓展 / 1.上下文系 (a context): get_context('spawn') gives a context whose
 * processes start as a fresh run of the program, leaving the default start method alone;
 * the child puts 'hello' on a Queue and the parent prints it. In C a queue works under
 * every start method, so only the process takes the context (the seed's ctx.Queue() is a
 * plain Queue here). Only the main process
 * prints, so stdout needs no line buffering. */
#include "example.h"

MPROC_TASK_ARGS(foo, out, mproc_queue *, q)
{
    /* q is closed as the child exits, as in Python */
    return mproc_queue_put_pack(q, MPROC_ARGS("hello"), MPROC_FOREVER) != 0;
}

int main(int argc, char **argv)
{
    mproc_context *ctx;
    mproc_queue *q;   /* ctx.Queue() */
    mproc_process *p; /* ctx.Process */
    mproc_bytes msg;
    const char *text;
    if (mproc_init(&argc, &argv) != 0 || mproc_context_get(&ctx, MPROC_SPAWN) != 0 ||
        mproc_queue_create(&q, 0) != 0 ||
        mproc_process_start_new(
            &p, &(mproc_process_opts){.target = "foo", .args = MPROC_ARGS(q), .ctx = ctx}) != 0 ||
        mproc_queue_get(q, MPROC_FOREVER, &msg) != 0 || MPROC_UNPACK(&msg, &text) != 0)
        return 1;
    printf("%s\n", text);
    mproc_bytes_free(&msg);
    mproc_queue_destroy(q);
    return mproc_process_join(p, MPROC_FOREVER) != 0 || mproc_process_destroy(p) != 0;
}
