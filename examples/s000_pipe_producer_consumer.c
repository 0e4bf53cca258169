/* Seed 000, 2. 管道 Pipe / Pipe 实现生产者消费者模型 (producer and consumer on a Pipe): both
 * children get both ends. The producer closes conn2, sends "doing：0" to "doing：4" on conn1
 * and closes it; the consumer closes conn1 and prints what comes from conn2 until recv
 * fails, then prints its line of "=". The parent closes its own two ends right after
 * starting them and, as the seed, does not join: the program waits for its children at
 * exit. The failure that ends the consumer is Python's EOFError: every copy of conn1 (the
 * producer's, the consumer's, the parent's) is closed and all was read; MPROC_ECLOSED here.
 * The consumer still prints its line on any other failure (the seed catches every
 * Exception), but then ends with exit code 1. The tuple (conn1, conn2) travels as two
 * arguments. */
#include "example.h"

MPROC_TASK_ARGS(consumer, out, const char *, name, mproc_conn *, conn1, mproc_conn *, conn2)
{
    mproc_conn_destroy(conn1);
    mproc_bytes ret;
    int rc;
    while ((rc = mproc_conn_recv(conn2, MPROC_FOREVER, &ret)) == 0) {
        printf("%s work is %.*s\n", name, (int)ret.len, (const char *)ret.data);
        mproc_bytes_free(&ret);
    }
    printf("===============\n"); /* except Exception */
    mproc_conn_destroy(conn2);
    return rc != MPROC_ECLOSED;
}

MPROC_TASK_ARGS(producer, out, mproc_conn *, conn1, mproc_conn *, conn2)
{
    mproc_conn_destroy(conn2);
    int rc = 0;
    for (int i = 0; i < 5 && rc == 0; i++) {
        char work[32];
        int n = snprintf(work, sizeof work, "doing：%d", i);
        rc = mproc_conn_send(conn1, work, (size_t)n, MPROC_FOREVER);
    }
    mproc_conn_destroy(conn1);
    return rc != 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_conn *conn1, *conn2;
    mproc_process *p_t1, *p_t2;
    if (mproc_pipe(&conn1, &conn2, true) != 0)
        return 1;
    const char *data = "process pipe";
    mproc_process_opts consumer = {.target = "consumer", .args = MPROC_ARGS(data, conn1, conn2)};
    mproc_process_opts producer = {.target = "producer", .args = MPROC_ARGS(conn1, conn2)};
    if (mproc_process_start_new(&p_t1, &consumer) != 0 ||
        mproc_process_start_new(&p_t2, &producer) != 0)
        return 1;

    mproc_conn_destroy(conn1);
    mproc_conn_destroy(conn2);
    return 0; /* at exit: the non-daemon children are joined */
}
