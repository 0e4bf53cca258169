/* Seed 002, 基于Pipe的parmap (the documentation's basic Pipe example): the child sends
 * ['hello'] on its end and closes it; the parent prints what it receives. A list travels
 * as a pack of its strings here, and the parent prints it as Python prints a list. */
#include "example.h"

MPROC_TASK_ARGS(f, out, mproc_conn *, conn)
{
    /* conn.send(['hello']); conn.close() */
    int rc = mproc_conn_send_pack(conn, MPROC_ARGS("hello"), MPROC_FOREVER);
    mproc_conn_destroy(conn);
    return rc != 0;
}

int main(int argc, char **argv)
{
    mproc_conn *parent_conn, *child_conn;
    if (mproc_init(&argc, &argv) != 0 || mproc_pipe(&parent_conn, &child_conn, true) != 0)
        return 1;
    mproc_process *p;
    mproc_process_opts opts = {.target = "f", .args = MPROC_ARGS(child_conn)};
    mproc_bytes msg;
    const char *s;
    if (mproc_process_start_new(&p, &opts) != 0 ||
        mproc_conn_recv(parent_conn, MPROC_FOREVER, &msg) != 0 || MPROC_UNPACK(&msg, &s) != 0)
        return 1;
    printf("['%s']\n", s); /* print(parent_conn.recv()) */
    mproc_bytes_free(&msg);
    return mproc_process_join(p, MPROC_FOREVER) != 0;
}
