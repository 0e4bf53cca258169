/* Seed 003 §1.5 (进程间通信～PIPE管道通信, the Pool example): conn1, conn2 = Pipe() and two
 * apply_async tasks, each given one end: proc_test1 sends 小明's question on conn1 and
 * prints the answer it receives; proc_test2 prints the question it receives on conn2 and
 * answers. So the question is always printed first.
 *
 * The seed uses Pool(), one worker per CPU. With one worker (a machine with one CPU) the
 * two tasks would wait for each other forever, in Python too: proc_test1 holds the only
 * worker waiting for an answer that proc_test2, queued behind it, never gets to send. So
 * the pool here has two workers, whatever the machine. A pipe end travels to a pool task
 * in its argument pack: the worker gets its own copy of the end for the time of the task. */
#include "example.h"

MPROC_TASK_ARGS(proc_test1, out, mproc_conn *, conn)
{
    mproc_bytes msg;
    const char *text;
    if (mproc_conn_send_pack(
            conn, MPROC_ARGS("[小明]小张，今天哥们要见一女孩，你陪我呗，我24h等你回复哦～"),
            MPROC_FOREVER) != 0 ||
        mproc_conn_recv(conn, MPROC_FOREVER, &msg) != 0 || MPROC_UNPACK(&msg, &text) != 0)
        return 1;
    printf("%s\n", text);
    mproc_bytes_free(&msg);
    mproc_conn_destroy(conn);
    return 0;
}

MPROC_TASK_ARGS(proc_test2, out, mproc_conn *, conn)
{
    mproc_bytes msg;
    const char *text;
    if (mproc_conn_recv(conn, MPROC_FOREVER, &msg) != 0 || MPROC_UNPACK(&msg, &text) != 0)
        return 1;
    printf("%s\n", text);
    mproc_bytes_free(&msg);
    int rc = mproc_conn_send_pack(conn, MPROC_ARGS("[小张]不去，万一被我帅气的外表迷倒就坑了～"),
                                  MPROC_FOREVER);
    mproc_conn_destroy(conn);
    return rc != 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    mproc_conn *conn1, *conn2;
    mproc_pool *p; /* Pool(2): see above */
    mproc_async *calls[2];
    /* 关闭池，不再接收新任务; 等待回收，必须先关才能join */
    if (mproc_init(&argc, &argv) != 0 || mproc_pipe(&conn1, &conn2, true) != 0 ||
        mproc_pool_create(&p, &(mproc_pool_opts){.processes = 2}) != 0 ||
        mproc_pool_apply_async(p, "proc_test1", MPROC_ARGS(conn1), NULL, &calls[0]) != 0 ||
        mproc_pool_apply_async(p, "proc_test2", MPROC_ARGS(conn2), NULL, &calls[1]) != 0 ||
        mproc_pool_close(p) != 0 || mproc_pool_join(p, MPROC_FOREVER) != 0)
        return 1;
    int failed = 0; /* the seed drops the handles; here a failed task is noticed */
    for (int i = 0; i < 2; i++) {
        failed += mproc_async_successful(calls[i]) != 1;
        mproc_async_destroy(calls[i]);
    }
    mproc_pool_destroy(p);
    mproc_conn_destroy(conn1);
    mproc_conn_destroy(conn2);
    return failed != 0;
}
