/* Seed 000, 2. 管道 Pipe / Pipe 实现生产者消费者模型 (producer and consumer on a Pipe): both
 * children get both ends. The producer closes conn2, sends "doing：0" to "doing：4" on conn1
 * and closes it; the consumer closes conn1 and prints what comes from conn2 until recv
 * fails, then prints its line of "=". The parent closes its own two ends right after
 * starting them and, as the seed, does not join: the program waits for its children at
 * exit. The failure that ends the consumer is Python's EOFError: every copy of conn1 (the
 * producer's, the consumer's, the parent's) is closed and all was read; MPROC_ECLOSED here.
 * The consumer still prints its line on any other failure (the seed catches every
 * Exception), but then ends with exit code 1. */
#include "example.h"

static int unpack_ends(mproc_unpacker *u, mproc_conn **conn1, mproc_conn **conn2)
{
    if (mproc_unpack_conn(u, conn1) != 0)
        return 1;
    if (mproc_unpack_conn(u, conn2) != 0) {
        mproc_conn_destroy(*conn1);
        return 1;
    }
    return 0;
}

MPROC_TASK(consumer, in, out)
{
    (void)out;
    mproc_unpacker u;
    const char *name;
    mproc_conn *conn1, *conn2;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_str(&u, &name) != 0 || unpack_ends(&u, &conn1, &conn2) != 0)
        return 1;
    mproc_conn_destroy(conn1);
    int rc;
    for (;;) {
        mproc_bytes ret;
        if ((rc = mproc_conn_recv(conn2, MPROC_FOREVER, &ret)) != 0) { /* except Exception */
            printf("===============\n");
            break;
        }
        printf("%s work is %.*s\n", name, (int)ret.len, (const char *)ret.data);
        mproc_bytes_free(&ret);
    }
    mproc_conn_destroy(conn2);
    return rc == MPROC_ECLOSED ? 0 : 1;
}

MPROC_TASK(producer, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_conn *conn1, *conn2;
    mproc_unpack_init(&u, in);
    if (unpack_ends(&u, &conn1, &conn2) != 0)
        return 1;
    mproc_conn_destroy(conn2);
    int rc = 0;
    for (int i = 0; i < 5 && rc == 0; i++) {
        char work[32];
        int n = snprintf(work, sizeof work, "doing：%d", i);
        rc = mproc_conn_send(conn1, work, (size_t)n, MPROC_FOREVER);
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
    const char *data = "process pipe";
    mproc_pack *args1, *args2; /* args=(data, (conn1, conn2)) and args=((conn1, conn2), ) */
    mproc_pack_create(&args1);
    mproc_pack_str(args1, data);
    mproc_pack_handle(args1, conn1);
    mproc_pack_handle(args1, conn2);
    mproc_pack_create(&args2);
    mproc_pack_handle(args2, conn1);
    mproc_pack_handle(args2, conn2);
    mproc_process *p_t1 = start_process(&(mproc_process_opts){.target = "consumer", .args = args1});
    mproc_process *p_t2 = start_process(&(mproc_process_opts){.target = "producer", .args = args2});
    mproc_pack_destroy(args1); /* the packs' copies of the ends go too */
    mproc_pack_destroy(args2);

    mproc_conn_destroy(conn1);
    mproc_conn_destroy(conn2);
    (void)p_t1;
    (void)p_t2;
    return 0; /* at exit: the non-daemon children are joined */
}
