/* Seed 000, 3. Managers — Managers实现数据共享 (a Manager dict shared by three children):
 * Queue and Pipe move data between processes, a Manager shares it. The main process
 * starts a manager (a server process) and makes a dict {"count": 10} in it; each of three
 * children, for data 100, 200 and 300, takes one from count and stores data**3 under
 * data; the main process prints the dict at the end:
 *     {'count': 7, 100: 1000000, 200: 8000000, 300: 27000000}
 * (the three data keys in the order the children stored them).
 *
 * Keys and values of a Manager dict are bytes here: the keys are text ("count", "100"),
 * the values 8-byte integers (mproc_mdict_set_i64), and print_dict writes them as Python
 * prints the dict (a key that is a number's digits unquoted, any other quoted).
 *
 * share_data["count"] -= 1 is two calls to the manager in Python (a get, then a set), so
 * two children doing it at the same moment can lose one; mproc_mdict_add_i64 does it in
 * one step on the server, so count always ends at 7 (s000_no_lock shows the two calls
 * racing). The seed's unused queue argument is kept. */
#include "example.h"

enum { WAIT_MS = 30000 }; /* every wait has a bound */

/* The dict's key for a number: its digits. */
static void number_key(int64_t n, char key[24])
{
    snprintf(key, 24, "%lld", (long long)n);
}

static int64_t le_i64(const unsigned char *p)
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = x << 8 | p[i];
    return (int64_t)x;
}

static int is_number(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* print(share_data) */
static int print_dict(mproc_mdict *d)
{
    mproc_bytes items;
    int rc = mproc_mdict_items(d, &items);
    if (rc != 0)
        return rc;
    char line[512] = "{";
    size_t n = 1;
    mproc_unpacker u;
    const void *k, *v;
    size_t klen, vlen;
    mproc_unpack_init(&u, &items);
    while (n < sizeof line && mproc_unpack_bytes(&u, &k, &klen) == 0 &&
           mproc_unpack_bytes(&u, &v, &vlen) == 0) {
        if (vlen != 8) {
            rc = MPROC_ETYPE;
            break;
        }
        const char *quote = is_number(k, klen) ? "" : "'";
        n += (size_t)snprintf(line + n, sizeof line - n, "%s%s%.*s%s: %lld", n > 1 ? ", " : "",
                              quote, (int)klen, (const char *)k, quote, (long long)le_i64(v));
    }
    mproc_bytes_free(&items);
    if (rc == 0)
        printf("%s}\n", line);
    return rc;
}

/* p.join(), with a bound: a child still running then is terminated. 0 if it ended with 0. */
static int join_child(mproc_process *p)
{
    int code = -1, rc = mproc_process_join(p, WAIT_MS);
    if (rc != 0) {
        fprintf(stderr, "join: %s\n", mproc_strerror(rc));
        mproc_process_terminate(p);
        mproc_process_join(p, WAIT_MS);
    }
    mproc_process_exitcode(p, &code);
    mproc_process_destroy(p);
    return rc == 0 && code == 0 ? 0 : 1;
}

MPROC_TASK(process_task, in, out)
{
    (void)out;
    mproc_unpacker u;
    int64_t data = 0;
    mproc_queue *queue; /* queue: 队列 */
    mproc_mdict *share_data;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_i64(&u, &data) != 0 || mproc_unpack_queue(&u, &queue) != 0)
        return 1;
    if (mproc_unpack_mdict(&u, &share_data) != 0) {
        mproc_queue_destroy(queue);
        return 1;
    }
    printf("测试多进程任务：%lld, 当前进程号：%lld, 父进程号为: %lld\n", (long long)data,
           (long long)mproc_getpid(), (long long)mproc_getppid());
    volatile int64_t res = data * data * data;
    char key[24];
    number_key(data, key);
    int rc = mproc_mdict_add_i64(share_data, MPROC_KEY("count"), -1, NULL); /* -= 1 */
    if (rc == 0)
        rc = mproc_mdict_set_i64(share_data, MPROC_KEY(key), res); /* share_data[data] = res */
    if (rc != 0)
        fprintf(stderr, "share_data: %s\n", mproc_strerror(rc));
    while (res > 0)
        res -= 1;
    printf("多进程任务结束：%lld, 当前进程号为: %lld\n", (long long)data,
           (long long)mproc_getpid());
    mproc_proxy_destroy(share_data);
    mproc_queue_destroy(queue);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_manager *process_m;
    int rc = mproc_manager_start(&process_m, NULL); /* multiprocessing.Manager() */
    if (rc != 0) {
        fprintf(stderr, "Manager(): %s\n", mproc_strerror(rc));
        return 1;
    }
    mproc_mdict *process_share_data;
    mproc_queue *queue;
    if ((rc = mproc_manager_dict(process_m, &process_share_data)) != 0 ||
        (rc = mproc_mdict_set_i64(process_share_data, MPROC_KEY("count"), 10)) != 0 ||
        (rc = mproc_queue_create(&queue, 0)) != 0) {
        fprintf(stderr, "dict({\"count\": 10}): %s\n", mproc_strerror(rc));
        return 1;
    }
    int64_t process_data[] = {100, 200, 300};
    mproc_process *task_list[3];
    printf("主进程:%lld, 父进程:%lld\n", (long long)mproc_getpid(), (long long)mproc_getppid());
    for (int i = 0; i < 3; i++) {
        mproc_pack *args;
        mproc_pack_create(&args);
        mproc_pack_i64(args, process_data[i]);
        mproc_pack_handle(args, queue);
        mproc_pack_handle(args, process_share_data);
        task_list[i] = start_process(&(mproc_process_opts){.target = "process_task", .args = args});
        mproc_pack_destroy(args);
    }
    int failed = 0;
    for (int i = 0; i < 3; i++)
        failed |= join_child(task_list[i]);
    if ((rc = print_dict(process_share_data)) != 0) {
        fprintf(stderr, "print(share_data): %s\n", mproc_strerror(rc));
        failed = 1;
    }
    mproc_queue_destroy(queue);
    mproc_proxy_destroy(process_share_data);
    mproc_manager_destroy(process_m);
    return failed ? 1 : 0;
}
