/* Seed 003 §1.5, 进程间通信～PIPE管道通信 (a one-way Pipe): r, w = Pipe(duplex=False); the
 * child can only write on w, the parent can only read from r and prints the message. */
#include "example.h"

MPROC_TASK(test, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_conn *w;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_conn(&u, &w) != 0)
        return 1;
    const char *msg = "[子进程]老爸，咱们完了，老妈一直在门口～"; /* 只能写 */
    int rc = mproc_conn_send(w, msg, strlen(msg), MPROC_FOREVER);
    mproc_conn_destroy(w);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_conn *r, *w;
    if (mproc_pipe(&r, &w, false) != 0)
        return 1;
    mproc_pack *args;
    mproc_pack_create(&args);
    mproc_pack_handle(args, w);
    mproc_process *p1 = start_process(&(mproc_process_opts){.target = "test", .args = args});
    mproc_pack_destroy(args);

    mproc_bytes msg;
    int rc = mproc_conn_recv(r, MPROC_FOREVER, &msg); /* 只能读 */
    if (rc == 0) {
        printf("%.*s\n", (int)msg.len, (const char *)msg.data);
        mproc_bytes_free(&msg);
    }
    mproc_process_join(p1, MPROC_FOREVER);
    mproc_process_destroy(p1);
    mproc_conn_destroy(r);
    mproc_conn_destroy(w);
    return rc == 0 ? 0 : 1;
}
