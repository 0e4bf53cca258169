/* Seed 003 §1.5, 进程间通信～PIPE管道通信 (a two-way Pipe): r, w = Pipe() are both readable
 * and writable. The child sends on w and prints the answer it then receives on w; the
 * parent prints the child's message from r and answers on r. The seed's printed result
 * lacks the "[子进程]" and "[父进程]" that begin the two messages; Python prints them, and
 * so does this. */
#include "example.h"

MPROC_TASK(test, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_conn *w;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_conn(&u, &w) != 0)
        return 1;
    const char *ask = "[子进程]老爸，老妈回来记得喊我一下～";
    int rc = mproc_conn_send(w, ask, strlen(ask), MPROC_FOREVER);
    mproc_bytes msg;
    if (rc == 0 && (rc = mproc_conn_recv(w, MPROC_FOREVER, &msg)) == 0) {
        printf("%.*s\n", (int)msg.len, (const char *)msg.data);
        mproc_bytes_free(&msg);
    }
    mproc_conn_destroy(w);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_conn *r, *w;
    if (mproc_pipe(&r, &w, true) != 0)
        return 1;
    mproc_pack *args;
    mproc_pack_create(&args);
    mproc_pack_handle(args, w);
    mproc_process *p1 = start_process(&(mproc_process_opts){.target = "test", .args = args});
    mproc_pack_destroy(args);

    mproc_bytes msg;
    int rc = mproc_conn_recv(r, MPROC_FOREVER, &msg);
    if (rc == 0) {
        printf("%.*s\n", (int)msg.len, (const char *)msg.data);
        mproc_bytes_free(&msg);
        const char *answer = "[父进程]滚犊子，赶紧写作业，不然我得跪方便面！";
        rc = mproc_conn_send(r, answer, strlen(answer), MPROC_FOREVER);
    }
    mproc_process_join(p1, MPROC_FOREVER);
    mproc_process_destroy(p1);
    mproc_conn_destroy(r);
    mproc_conn_destroy(w);
    return rc == 0 ? 0 : 1;
}
