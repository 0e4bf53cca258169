/* Seed 003 §1.7, 分布式进程的案例 (a BaseManager on the network): a server publishes two
 * queues, "get_zhang_queue" (小张's messages) and "get_ming_queue" (小明's), on host:port
 * with a shared key; client 1 (小张) connects, leaves a message in his queue and waits
 * for 小明's; client 2 (小明) connects, takes 小张's message, and answers in his queue:
 *     [小张]小明，老大明天是不是去外地办事啊？          (printed by client 2)
 *     [小明]这几天咱们终于可以不加班了(>_<)              (printed by client 1)
 *
 * The seed runs three programs, on the server's address 192.168.36.235:5438. Here one
 * program runs all three as processes: the main process starts the server, which serves on
 * a free port of the loopback ("127.0.0.1:0": a fixed port could be taken, by another run
 * of this program for one) and sends the address it got back over a Queue; the main
 * process then starts the two clients with that address, waits for them, and stops the
 * server as any client may (a connection with the key, then shutdown). The server's
 * serve_forever() is a wait with a bound here, as every wait of these examples. */
#include "example.h"

enum { WAIT_MS = 30000 }; /* every wait has a bound */

/* 用来身份验证的 */
static const char key[] = "8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92";

/* m = BaseManager(address, authkey=key); m.connect() */
static int connect_manager(const char *address, mproc_manager **m)
{
    return mproc_manager_connect(m, &(mproc_manager_opts){.address = address,
                                                          .authkey = key,
                                                          .authkey_len = strlen(key),
                                                          .timeout_ms = WAIT_MS});
}

/* 服务器端: args=(a Queue for the address). What each process of this program holds goes as
 * it exits, as in Python. */
MPROC_TASK_ARGS(server, out, mproc_queue *, address_to_main)
{
    mproc_manager *manager;
    mproc_mqueue *get_zhang_queue, *get_ming_queue; /* 小张、小明消息队列 */
    /* 实例化一个Manager对象。绑定ip+端口, 设置验证秘钥; 把Queue注册到网络上 */
    if (mproc_manager_serve(&manager, &(mproc_manager_opts){.address = "127.0.0.1:0",
                                                            .authkey = key,
                                                            .authkey_len = strlen(key)}) != 0 ||
        mproc_manager_queue(manager, 0, &get_zhang_queue) != 0 ||
        mproc_manager_queue(manager, 0, &get_ming_queue) != 0 ||
        mproc_manager_register(manager, "get_zhang_queue", get_zhang_queue) != 0 ||
        mproc_manager_register(manager, "get_ming_queue", get_ming_queue) != 0 ||
        mproc_queue_put_pack(address_to_main, MPROC_ARGS(mproc_manager_address(manager)),
                             WAIT_MS) != 0)
        return 1;
    return mproc_manager_wait(manager, 2 * WAIT_MS) != 0; /* 运行serve */
}

/* 客户端1: args=(address,) */
MPROC_TASK_ARGS(client1, out, const char *, address)
{
    mproc_manager *m;
    mproc_mqueue *q1, *q2;
    mproc_bytes msg;
    const char *text;
    if (connect_manager(address, &m) != 0 ||
        mproc_manager_lookup_queue(m, "get_zhang_queue", &q1) != 0 || /* 在自己队列里面留言 */
        mproc_mqueue_put_pack(q1, MPROC_ARGS("[小张]小明，老大明天是不是去外地办事啊？"),
                              WAIT_MS) ||
        mproc_manager_lookup_queue(m, "get_ming_queue", &q2) != 0 || /* 获取小明说的话 */
        mproc_mqueue_get(q2, WAIT_MS, &msg) != 0 || MPROC_UNPACK(&msg, &text) != 0)
        return 1;
    printf("%s\n", text);
    return 0;
}

/* 客户端2: args=(address,) */
MPROC_TASK_ARGS(client2, out, const char *, address)
{
    mproc_manager *m;
    mproc_mqueue *q1, *q2;
    mproc_bytes msg;
    const char *text;
    if (connect_manager(address, &m) != 0 ||
        mproc_manager_lookup_queue(m, "get_zhang_queue", &q1) != 0 || /* 获取小张说的话 */
        mproc_mqueue_get(q1, WAIT_MS, &msg) != 0 || MPROC_UNPACK(&msg, &text) != 0)
        return 1;
    printf("%s\n", text);
    if (mproc_manager_lookup_queue(m, "get_ming_queue", &q2) != 0 || /* 在自己队列里面留言 */
        mproc_mqueue_put_pack(q2, MPROC_ARGS("[小明]这几天咱们终于可以不加班了(>_<)"), WAIT_MS))
        return 1;
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    mproc_queue *address_from_server;
    mproc_process *server, *client1, *client2;
    mproc_manager *m;
    mproc_bytes msg;
    const char *address;
    int code1, code2;
    if (mproc_init(&argc, &argv) != 0 || mproc_queue_create(&address_from_server, 0) != 0 ||
        mproc_process_start_new(
            &server, &(mproc_process_opts){.target = "server",
                                           .args = MPROC_ARGS(address_from_server)}) != 0 ||
        mproc_queue_get(address_from_server, WAIT_MS, &msg) != 0 || MPROC_UNPACK(&msg, &address))
        return 1;
    const mproc_pack *args = MPROC_ARGS(address);
    /* the clients, then the server stopped as any client may: connect with the key, shutdown */
    if (mproc_process_start_new(&client1,
                                &(mproc_process_opts){.target = "client1", .args = args}) ||
        mproc_process_start_new(&client2,
                                &(mproc_process_opts){.target = "client2", .args = args}) ||
        mproc_process_join(client1, WAIT_MS) != 0 || mproc_process_exitcode(client1, &code1) ||
        mproc_process_join(client2, WAIT_MS) != 0 || mproc_process_exitcode(client2, &code2) ||
        connect_manager(address, &m) != 0 || mproc_manager_shutdown(m, WAIT_MS) != 0 ||
        mproc_process_join(server, WAIT_MS) != 0)
        return 1;
    mproc_manager_destroy(m);
    mproc_bytes_free(&msg);
    mproc_process_destroy(client2);
    mproc_process_destroy(client1);
    mproc_process_destroy(server);
    mproc_queue_destroy(address_from_server);
    return code1 != 0 || code2 != 0;
}
