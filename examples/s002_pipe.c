/* Seed 002, 基于Pipe的parmap (the documentation's basic Pipe example): the child sends
 * ['hello'] on its end and closes it; the parent prints what it receives. A list travels
 * as a pack of its strings here, and the parent prints it as Python prints a list. */
#include "example.h"

MPROC_TASK(f, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_conn *conn;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_conn(&u, &conn) != 0)
        return 1;
    mproc_pack *list; /* conn.send(['hello']) */
    mproc_bytes bytes;
    mproc_pack_create(&list);
    mproc_pack_str(list, "hello");
    mproc_pack_view(list, &bytes);
    int rc = mproc_conn_send(conn, bytes.data, bytes.len, MPROC_FOREVER);
    mproc_pack_destroy(list);
    mproc_conn_destroy(conn);
    return rc == 0 ? 0 : 1;
}

/* print(a list of strings) */
static void print_str_list(const mproc_bytes *msg)
{
    mproc_unpacker u;
    const char *s;
    mproc_unpack_init(&u, msg);
    printf("[");
    for (int i = 0; mproc_unpack_str(&u, &s) == 0; i++)
        printf("%s'%s'", i ? ", " : "", s);
    printf("]\n");
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_conn *parent_conn, *child_conn;
    if (mproc_pipe(&parent_conn, &child_conn, true) != 0)
        return 1;
    mproc_pack *args;
    mproc_pack_create(&args);
    mproc_pack_handle(args, child_conn);
    mproc_process *p = start_process(&(mproc_process_opts){.target = "f", .args = args});
    mproc_pack_destroy(args);

    mproc_bytes msg;
    int rc = mproc_conn_recv(parent_conn, MPROC_FOREVER, &msg);
    if (rc == 0) {
        print_str_list(&msg); /* print(parent_conn.recv()) */
        mproc_bytes_free(&msg);
    }
    mproc_process_join(p, MPROC_FOREVER);
    mproc_process_destroy(p);
    mproc_conn_destroy(parent_conn);
    mproc_conn_destroy(child_conn);
    return rc == 0 ? 0 : 1;
}
