/* Seed 003, 进程拓展 / 1.上下文系 (a context): get_context('spawn') gives a context whose
 * processes start as a fresh run of the program, leaving the default start method alone;
 * the child puts 'hello' on a Queue and the parent prints it. In C a queue works under
 * every start method, so only the process takes the context (the seed's ctx.Queue() is a
 * plain Queue here). */
#include "example.h"

MPROC_TASK(foo, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_queue *q;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_queue(&u, &q) != 0)
        return 1;
    int rc = mproc_queue_put(q, "hello", 5, MPROC_FOREVER);
    mproc_queue_destroy(q);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_context *ctx;
    if (mproc_context_get(&ctx, MPROC_SPAWN) != 0)
        return 1;
    mproc_queue *q; /* ctx.Queue() */
    if (mproc_queue_create(&q, 0) != 0)
        return 1;
    mproc_pack *args;
    mproc_pack_create(&args);
    mproc_pack_handle(args, q);
    mproc_process *p = start_process(
        &(mproc_process_opts){.target = "foo", .args = args, .ctx = ctx}); /* ctx.Process */
    mproc_pack_destroy(args);
    mproc_bytes msg;
    if (mproc_queue_get(q, MPROC_FOREVER, &msg) != 0)
        return 1;
    printf("%.*s\n", (int)msg.len, (const char *)msg.data);
    mproc_bytes_free(&msg);
    mproc_process_join(p, MPROC_FOREVER);
    mproc_process_destroy(p);
    mproc_queue_destroy(q);
    return 0;
}
