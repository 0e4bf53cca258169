/* Seed 000, 3. Managers — Managers实现数据共享 (a Manager dict shared by three children):
 * Queue and Pipe move data between processes, a Manager shares it. The main process
 * starts a manager (a server process) and makes a dict {"count": 10} in it; each of three
 * children, for data 100, 200 and 300, takes one from count and stores data**3 under
 * data; the main process prints the dict at the end:
 *     {'count': 7, 100: 1000000, 200: 8000000, 300: 27000000}
 * (the three data keys in the order the children stored them).
 *
 * Keys and values of a Manager dict are packs (MPROC_ARGS): the key "count" a STR, the
 * children's keys their data (I64), the values I64, and print_dict writes them as Python
 * prints the dict.
 *
 * share_data["count"] -= 1 is two calls to the manager in Python (a get, then a set), so
 * two children doing it at the same moment can lose one; mproc_mdict_add_i64 does it in
 * one step on the server, so count always ends at 7 (s000_no_lock shows the two calls
 * racing). The seed's unused queue argument is kept. */
#include "example.h"

enum { WAIT_MS = 30000 }; /* every wait has a bound */

/* The bytes a nested pack's cursor reads, for MPROC_UNPACK. */
static mproc_bytes bytes_of(const mproc_unpacker *u)
{
    mproc_bytes b = {(void *)u->data, u->len};
    return b;
}

/* print(share_data): a STR key quoted, a number as it is, as Python prints the dict. */
static int print_dict(mproc_mdict *d)
{
    mproc_bytes items;
    int rc = mproc_mdict_items(d, &items);
    if (rc != 0)
        return rc;
    char line[512] = "{";
    size_t n = 1;
    mproc_unpacker u, pair, key, value;
    mproc_unpack_init(&u, &items);
    while (rc == 0 && n < sizeof line && mproc_unpack_pack(&u, &pair) == 0) {
        mproc_bytes p = bytes_of(&pair), k, v;
        const char *text;
        int64_t number, x = 0;
        if ((rc = MPROC_UNPACK(&p, &key, &value)) != 0)
            break;
        k = bytes_of(&key), v = bytes_of(&value);
        if ((rc = MPROC_UNPACK(&v, &x)) != 0)
            break;
        const char *sep = n > 1 ? ", " : "";
        if (MPROC_UNPACK(&k, &text) == 0)
            n += (size_t)snprintf(line + n, sizeof line - n, "%s'%s': %lld", sep, text,
                                  (long long)x);
        else if ((rc = MPROC_UNPACK(&k, &number)) == 0)
            n += (size_t)snprintf(line + n, sizeof line - n, "%s%lld: %lld", sep, (long long)number,
                                  (long long)x);
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
    int rc = mproc_mdict_add_i64(share_data, MPROC_ARGS("count"), -1, NULL); /* -= 1 */
    if (rc == 0) /* share_data[data] = res */
        rc = mproc_mdict_set(share_data, MPROC_ARGS(data), MPROC_ARGS((int64_t)res));
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
        (rc = mproc_mdict_set(process_share_data, MPROC_ARGS("count"), MPROC_ARGS(10))) != 0 ||
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
