/* Seed 000, 2. 管道 Pipe / Pipe 实现数据交互 (data both ways through a Pipe): the child gets
 * both ends (data, (conn1, conn2)), closes conn2, which it does not use, sends its greeting
 * on conn1 and prints the parent's answer; the parent prints the greeting from conn2,
 * answers and prints its line of "=". The child's greeting always comes first; the child's
 * printing of the answer and the parent's "=" line may come in either order. */
#include "example.h"

MPROC_TASK(process_task, in, out)
{
    (void)out;
    mproc_unpacker u;
    int64_t data = 0;
    mproc_conn *conn1, *conn2;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_i64(&u, &data) != 0 || mproc_unpack_conn(&u, &conn1) != 0)
        return 1;
    if (mproc_unpack_conn(&u, &conn2) != 0) {
        mproc_conn_destroy(conn1);
        return 1;
    }
    mproc_conn_destroy(conn2); /* conn1,conn2都传过去。不用的就给关闭掉 */

    char greeting[64];
    int n = snprintf(greeting, sizeof greeting, "你好主进程, the data is %lld", (long long)data);
    int rc = mproc_conn_send(conn1, greeting, (size_t)n, MPROC_FOREVER);
    mproc_bytes msg;
    if (rc == 0 && (rc = mproc_conn_recv(conn1, MPROC_FOREVER, &msg)) == 0) {
        printf("%.*s\n", (int)msg.len, (const char *)msg.data); /* print(conn1.recv()) */
        mproc_bytes_free(&msg);
    }
    mproc_conn_destroy(conn1);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_conn *conn1, *conn2;
    if (mproc_pipe(&conn1, &conn2, true) != 0)
        return 1;
    mproc_pack *args; /* args=(data, (conn1, conn2)) */
    mproc_pack_create(&args);
    mproc_pack_i64(args, 100);
    mproc_pack_handle(args, conn1);
    mproc_pack_handle(args, conn2);
    mproc_process *p_t =
        start_process(&(mproc_process_opts){.target = "process_task", .args = args});
    mproc_pack_destroy(args);

    mproc_bytes msg;
    int rc = mproc_conn_recv(conn2, MPROC_FOREVER, &msg);
    if (rc == 0) {
        printf("%.*s\n", (int)msg.len, (const char *)msg.data); /* print(conn2.recv()) */
        mproc_bytes_free(&msg);
        const char *answer = "你好子进程";
        rc = mproc_conn_send(conn2, answer, strlen(answer), MPROC_FOREVER);
    }
    printf("======================================\n");
    mproc_process_join(p_t, MPROC_FOREVER);
    mproc_process_destroy(p_t);

    mproc_conn_destroy(conn1);
    mproc_conn_destroy(conn2);
    return rc == 0 ? 0 : 1;
}
