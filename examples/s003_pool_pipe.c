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

static int unpack_conn(const mproc_bytes *in, mproc_conn **conn)
{
    mproc_unpacker u;
    mproc_unpack_init(&u, in);
    return mproc_unpack_conn(&u, conn);
}

static int print_recv(mproc_conn *conn)
{
    mproc_bytes msg;
    int rc = mproc_conn_recv(conn, MPROC_FOREVER, &msg);
    if (rc == 0) {
        printf("%.*s\n", (int)msg.len, (const char *)msg.data);
        mproc_bytes_free(&msg);
    }
    return rc;
}

MPROC_TASK(proc_test1, in, out)
{
    mproc_conn *conn;
    if (unpack_conn(in, &conn) != 0)
        return mproc_task_fail(out, "proc_test1 wants a pipe end");
    const char *ask = "[小明]小张，今天哥们要见一女孩，你陪我呗，我24h等你回复哦～";
    int rc = mproc_conn_send(conn, ask, strlen(ask), MPROC_FOREVER);
    if (rc == 0)
        rc = print_recv(conn);
    mproc_conn_destroy(conn);
    return rc == 0 ? 0 : mproc_task_fail(out, "proc_test1: %s", mproc_strerror(rc));
}

MPROC_TASK(proc_test2, in, out)
{
    mproc_conn *conn;
    if (unpack_conn(in, &conn) != 0)
        return mproc_task_fail(out, "proc_test2 wants a pipe end");
    int rc = print_recv(conn);
    const char *answer = "[小张]不去，万一被我帅气的外表迷倒就坑了～";
    if (rc == 0)
        rc = mproc_conn_send(conn, answer, strlen(answer), MPROC_FOREVER);
    mproc_conn_destroy(conn);
    return rc == 0 ? 0 : mproc_task_fail(out, "proc_test2: %s", mproc_strerror(rc));
}

/* apply_async(task, (conn,)) */
static int apply_with_conn(mproc_pool *p, const char *task, mproc_conn *conn, mproc_async **out)
{
    mproc_pack *args;
    int rc = mproc_pack_create(&args);
    if (rc == 0 && (rc = mproc_pack_handle(args, conn)) == 0)
        rc = mproc_pool_apply_async(p, task, args, NULL, out);
    mproc_pack_destroy(args);
    return rc;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_conn *conn1, *conn2;
    if (mproc_pipe(&conn1, &conn2, true) != 0)
        return 1;
    mproc_pool *p; /* Pool(2): see above */
    int rc = mproc_pool_create(&p, &(mproc_pool_opts){.processes = 2});
    if (rc != 0) {
        fprintf(stderr, "Pool(2): %s\n", mproc_strerror(rc));
        return 1;
    }
    mproc_async *calls[2] = {NULL, NULL};
    rc = apply_with_conn(p, "proc_test1", conn1, &calls[0]);
    if (rc == 0)
        rc = apply_with_conn(p, "proc_test2", conn2, &calls[1]);
    if (rc != 0)
        fprintf(stderr, "apply_async: %s\n", mproc_strerror(rc));
    int rc2 = mproc_pool_close(p); /* 关闭池，不再接收新任务 */
    if (rc2 == 0)
        rc2 = mproc_pool_join(p, MPROC_FOREVER); /* 等待回收，必须先关才能join */
    if (rc2 != 0) {
        fprintf(stderr, "close/join: %s\n", mproc_strerror(rc2));
        rc = rc2;
    }
    for (int i = 0; i < 2; i++) {
        mproc_bytes result = {0};
        int got = calls[i] ? mproc_async_get(calls[i], 0, &result) : 0;
        if (got != 0) {
            fprintf(stderr, "proc_test%d: %s %s\n", i + 1, mproc_strerror(got),
                    got != MPROC_ETIMEDOUT && result.data ? (const char *)result.data : "");
            rc = got;
        }
        mproc_bytes_free(&result);
        mproc_async_destroy(calls[i]);
    }
    mproc_pool_destroy(p);
    mproc_conn_destroy(conn1);
    mproc_conn_destroy(conn2);
    return rc == 0 ? 0 : 1;
}
