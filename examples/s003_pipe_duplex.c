/* Seed 003 §1.5, 进程间通信～PIPE管道通信 (a two-way Pipe): r, w = Pipe() are both readable
 * and writable. The child sends on w and prints the answer it then receives on w; the
 * parent prints the child's message from r and answers on r. The seed's printed result
 * lacks the "[子进程]" and "[父进程]" that begin the two messages; Python prints them, and
 * so does this. */
#include "example.h"

MPROC_TASK_ARGS(test, out, mproc_conn *, w)
{
    mproc_bytes msg;
    const char *text;
    if (mproc_conn_send_pack(w, MPROC_ARGS("[子进程]老爸，老妈回来记得喊我一下～"),
                             MPROC_FOREVER) != 0 ||
        mproc_conn_recv(w, MPROC_FOREVER, &msg) != 0 || MPROC_UNPACK(&msg, &text) != 0)
        return 1;
    printf("%s\n", text);
    return 0; /* what the child holds goes as it exits, as in Python */
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    mproc_conn *r, *w;
    mproc_process *p1;
    mproc_bytes msg;
    const char *text;
    if (mproc_init(&argc, &argv) != 0 || mproc_pipe(&r, &w, true) != 0 ||
        mproc_process_start_new(
            &p1, &(mproc_process_opts){.target = "test", .args = MPROC_ARGS(w)}) != 0 ||
        mproc_conn_recv(r, MPROC_FOREVER, &msg) != 0 || MPROC_UNPACK(&msg, &text) != 0)
        return 1;
    printf("%s\n", text);
    mproc_bytes_free(&msg);
    if (mproc_conn_send_pack(r, MPROC_ARGS("[父进程]滚犊子，赶紧写作业，不然我得跪方便面！"),
                             MPROC_FOREVER) != 0 ||
        mproc_process_join(p1, MPROC_FOREVER) != 0)
        return 1;
    mproc_conn_destroy(r);
    mproc_conn_destroy(w);
    return mproc_process_destroy(p1) != 0;
}
