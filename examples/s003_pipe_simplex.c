/* Seed 003 §1.5, 进程间通信～PIPE管道通信 (a one-way Pipe): r, w = Pipe(duplex=False); the
 * child can only write on w, the parent can only read from r and prints the message. Only
 * the main process prints, so stdout needs no line buffering. */
#include "example.h"

MPROC_TASK_ARGS(test, out, mproc_conn *, w)
{
    /* 只能写 (w is closed as the child exits, as in Python) */
    return mproc_conn_send_pack(w, MPROC_ARGS("[子进程]老爸，咱们完了，老妈一直在门口～"),
                                MPROC_FOREVER) != 0;
}

int main(int argc, char **argv)
{
    mproc_conn *r, *w;
    mproc_process *p1;
    mproc_bytes msg;
    const char *text;
    if (mproc_init(&argc, &argv) != 0 || mproc_pipe(&r, &w, false) != 0 ||
        mproc_process_start_new(
            &p1, &(mproc_process_opts){.target = "test", .args = MPROC_ARGS(w)}) != 0 ||
        mproc_conn_recv(r, MPROC_FOREVER, &msg) != 0 || MPROC_UNPACK(&msg, &text) != 0) /* 只能读 */
        return 1;
    printf("%s\n", text);
    mproc_bytes_free(&msg);
    mproc_conn_destroy(r);
    mproc_conn_destroy(w);
    return mproc_process_join(p1, MPROC_FOREVER) != 0 || mproc_process_destroy(p1) != 0;
}
