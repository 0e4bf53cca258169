/* Seed 000, 2. 管道 Pipe / Pipe 实现数据交互 (data both ways through a Pipe): the child gets
 * both ends (data, (conn1, conn2)), closes conn2, which it does not use, sends its greeting
 * on conn1 and prints the parent's answer; the parent prints the greeting from conn2,
 * answers and prints its line of "=". The child's greeting always comes first; the child's
 * printing of the answer and the parent's "=" line may come in either order. The tuple
 * (conn1, conn2) travels as two more arguments. */
#include "example.h"

MPROC_TASK_ARGS(process_task, out, long long, data, mproc_conn *, conn1, mproc_conn *, conn2)
{
    mproc_conn_destroy(conn2); /* conn1,conn2都传过去。不用的就给关闭掉 */
    char greeting[64];
    int n = snprintf(greeting, sizeof greeting, "你好主进程, the data is %lld", data);
    mproc_bytes msg;
    if (mproc_conn_send(conn1, greeting, (size_t)n, MPROC_FOREVER) != 0 ||
        mproc_conn_recv(conn1, MPROC_FOREVER, &msg) != 0)
        return 1;
    printf("%.*s\n", (int)msg.len, (const char *)msg.data); /* print(conn1.recv()) */
    mproc_bytes_free(&msg);
    mproc_conn_destroy(conn1);
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_conn *conn1, *conn2;
    mproc_process *p_t;
    if (mproc_pipe(&conn1, &conn2, true) != 0)
        return 1;
    mproc_process_opts opts = {.target = "process_task", .args = MPROC_ARGS(100, conn1, conn2)};
    if (mproc_process_start_new(&p_t, &opts) != 0)
        return 1;
    mproc_bytes msg;
    if (mproc_conn_recv(conn2, MPROC_FOREVER, &msg) != 0)
        return 1;
    printf("%.*s\n", (int)msg.len, (const char *)msg.data); /* print(conn2.recv()) */
    mproc_bytes_free(&msg);
    const char *answer = "你好子进程";
    if (mproc_conn_send(conn2, answer, strlen(answer), MPROC_FOREVER) != 0)
        return 1;
    printf("======================================\n");
    mproc_process_join(p_t, MPROC_FOREVER);
    mproc_process_destroy(p_t);

    mproc_conn_destroy(conn1);
    mproc_conn_destroy(conn2);
    return 0;
}
