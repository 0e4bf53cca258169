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

static void print_msg(mproc_bytes *msg)
{
    printf("%.*s\n", (int)msg->len, (const char *)msg->data);
    mproc_bytes_free(msg);
}

/* 服务器端: args=(a Queue for the address) */
MPROC_TASK(server, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_queue *address_to_main;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_queue(&u, &address_to_main) != 0)
        return 1;
    /* 实例化一个Manager对象。绑定ip+端口, 设置验证秘钥 */
    mproc_manager *manager;
    int rc = mproc_manager_serve(&manager, &(mproc_manager_opts){
                                               .address = "127.0.0.1:0",
                                               .authkey = key,
                                               .authkey_len = strlen(key),
                                           });
    if (rc != 0) {
        fprintf(stderr, "server: %s\n", mproc_strerror(rc));
        mproc_queue_put(address_to_main, "", 0, WAIT_MS); /* no address: the main gives up */
        mproc_queue_destroy(address_to_main);
        return 1;
    }
    mproc_mqueue *get_zhang_queue = NULL, *get_ming_queue = NULL; /* 小张、小明消息队列 */
    /* 把Queue注册到网络上 */
    if ((rc = mproc_manager_queue(manager, 0, &get_zhang_queue)) == 0 &&
        (rc = mproc_manager_queue(manager, 0, &get_ming_queue)) == 0 &&
        (rc = mproc_manager_register(manager, "get_zhang_queue", get_zhang_queue)) == 0)
        rc = mproc_manager_register(manager, "get_ming_queue", get_ming_queue);
    const char *address = rc == 0 ? mproc_manager_address(manager) : "";
    int sent = mproc_queue_put(address_to_main, address, strlen(address), WAIT_MS);
    if (rc == 0 && (rc = sent) == 0)
        rc = mproc_manager_wait(manager, 2 * WAIT_MS); /* 运行serve */
    if (rc != 0)
        fprintf(stderr, "server: %s\n", mproc_strerror(rc));
    mproc_proxy_destroy(get_ming_queue);
    mproc_proxy_destroy(get_zhang_queue);
    mproc_manager_destroy(manager);
    mproc_queue_destroy(address_to_main);
    return rc == 0 ? 0 : 1;
}

/* m = BaseManager(address, authkey=key); m.connect() */
static int connect_manager(const char *who, const mproc_bytes *in, mproc_manager **m)
{
    mproc_unpacker u;
    const char *address;
    mproc_unpack_init(&u, in);
    int rc = mproc_unpack_str(&u, &address);
    if (rc == 0)
        rc = mproc_manager_connect(m, &(mproc_manager_opts){.address = address,
                                                            .authkey = key,
                                                            .authkey_len = strlen(key),
                                                            .timeout_ms = WAIT_MS});
    if (rc != 0)
        fprintf(stderr, "%s: connect: %s\n", who, mproc_strerror(rc));
    return rc;
}

/* 客户端1: args=(address,) */
MPROC_TASK(client1, in, out)
{
    (void)out;
    mproc_manager *m;
    if (connect_manager("client1", in, &m) != 0)
        return 1;
    mproc_mqueue *q1 = NULL, *q2 = NULL;
    const char *msg = "[小张]小明，老大明天是不是去外地办事啊？";
    int rc = mproc_manager_lookup_queue(m, "get_zhang_queue", &q1); /* 在自己队列里面留言 */
    if (rc == 0)
        rc = mproc_mqueue_put(q1, msg, strlen(msg), WAIT_MS);
    if (rc == 0)
        rc = mproc_manager_lookup_queue(m, "get_ming_queue", &q2); /* 获取小明说的话 */
    mproc_bytes answer;
    if (rc == 0 && (rc = mproc_mqueue_get(q2, WAIT_MS, &answer)) == 0)
        print_msg(&answer);
    if (rc != 0)
        fprintf(stderr, "client1: %s\n", mproc_strerror(rc));
    mproc_proxy_destroy(q2);
    mproc_proxy_destroy(q1);
    mproc_manager_destroy(m);
    return rc == 0 ? 0 : 1;
}

/* 客户端2: args=(address,) */
MPROC_TASK(client2, in, out)
{
    (void)out;
    mproc_manager *m;
    if (connect_manager("client2", in, &m) != 0)
        return 1;
    mproc_mqueue *q1 = NULL, *q2 = NULL;
    const char *msg = "[小明]这几天咱们终于可以不加班了(>_<)";
    mproc_bytes question;
    int rc = mproc_manager_lookup_queue(m, "get_zhang_queue", &q1); /* 获取小张说的话 */
    if (rc == 0 && (rc = mproc_mqueue_get(q1, WAIT_MS, &question)) == 0)
        print_msg(&question);
    if (rc == 0)
        rc = mproc_manager_lookup_queue(m, "get_ming_queue", &q2); /* 在自己队列里面留言 */
    if (rc == 0)
        rc = mproc_mqueue_put(q2, msg, strlen(msg), WAIT_MS);
    if (rc != 0)
        fprintf(stderr, "client2: %s\n", mproc_strerror(rc));
    mproc_proxy_destroy(q2);
    mproc_proxy_destroy(q1);
    mproc_manager_destroy(m);
    return rc == 0 ? 0 : 1;
}

/* p.join(), with a bound: a child still running then is terminated. 0 if it ended with 0. */
static int join_child(mproc_process *p)
{
    int code = -1, rc = mproc_process_join(p, WAIT_MS);
    if (rc != 0) {
        fprintf(stderr, "join %s: %s\n", mproc_process_name(p), mproc_strerror(rc));
        mproc_process_terminate(p);
        mproc_process_join(p, WAIT_MS);
    }
    mproc_process_exitcode(p, &code);
    mproc_process_destroy(p);
    return rc == 0 && code == 0 ? 0 : 1;
}

/* Stops the server at address as a client may: connect with the key, shutdown. */
static int stop_server(const char *address)
{
    mproc_manager *m;
    int rc = mproc_manager_connect(&m, &(mproc_manager_opts){.address = address,
                                                             .authkey = key,
                                                             .authkey_len = strlen(key),
                                                             .timeout_ms = WAIT_MS});
    if (rc == 0) {
        rc = mproc_manager_shutdown(m, WAIT_MS);
        mproc_manager_destroy(m);
    }
    if (rc != 0)
        fprintf(stderr, "shutdown: %s\n", mproc_strerror(rc));
    return rc;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_queue *address_from_server;
    mproc_pack *args;
    if (mproc_queue_create(&address_from_server, 0) != 0 || mproc_pack_create(&args) != 0)
        return 1;
    mproc_pack_handle(args, address_from_server);
    mproc_process *server =
        start_process(&(mproc_process_opts){.target = "server", .name = "server", .args = args});
    mproc_bytes address = {0};
    int rc = mproc_queue_get(address_from_server, WAIT_MS, &address);
    if (rc != 0 || address.len == 0 || address.len > 200) {
        fprintf(stderr, "no address from the server: %s\n", mproc_strerror(rc));
        mproc_bytes_free(&address);
        join_child(server);
        return 1;
    }
    char addr[256];
    snprintf(addr, sizeof addr, "%.*s", (int)address.len, (const char *)address.data);
    mproc_bytes_free(&address);

    mproc_pack_reset(args); /* args=(address,) */
    mproc_pack_str(args, addr);
    mproc_process *client1 =
        start_process(&(mproc_process_opts){.target = "client1", .name = "client1", .args = args});
    mproc_process *client2 =
        start_process(&(mproc_process_opts){.target = "client2", .name = "client2", .args = args});
    int failed = join_child(client1);
    failed |= join_child(client2);
    failed |= stop_server(addr) != 0;
    failed |= join_child(server);
    mproc_pack_destroy(args);
    mproc_queue_destroy(address_from_server);
    return failed ? 1 : 0;
}
