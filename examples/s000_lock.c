/* Seed 000, 进程锁 Lock — 加锁 (with a lock): the same two children as s000_no_lock, each
 * adding its number to the count of a Manager dict {"count": 500} five times, 0.1 s apart,
 * but each holds a multiprocessing Lock for its whole task, so one child's five additions
 * all come before the other's (the seed: 进程锁保证了进程p1的完整运行，然后才进行了进程p2的
 * 运行) and the count always ends at 2000:
 *     {'count': 2000, 100: 1000000, 200: 8000000}
 * (200 first when child 200 got the lock first).
 *
 * Keys and values of a Manager dict are packs (MPROC_ARGS): the key "count" a STR, the
 * children's keys their data (I64), the values I64, and print_dict writes them as Python
 * prints the dict. The lock is the process-shared mproc_lock (multiprocessing.Lock), as in
 * the seed, not one of the manager's. */
#include "example.h"

enum { WAIT_MS = 30000 }; /* every wait has a bound */

/* d[key] as an integer: the value's pack, read with MPROC_UNPACK. */
static int get_i64(mproc_mdict *d, const mproc_pack *key, int64_t *v)
{
    mproc_bytes b;
    int rc = mproc_mdict_get(d, key, &b);
    if (rc == 0) {
        rc = MPROC_UNPACK(&b, v);
        mproc_bytes_free(&b);
    }
    return rc;
}

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
    mproc_mdict *share_data;
    mproc_lock *lc;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_i64(&u, &data) != 0 || mproc_unpack_mdict(&u, &share_data) != 0)
        return 1;
    if (mproc_unpack_lock(&u, &lc) != 0) {
        mproc_proxy_destroy(share_data);
        return 1;
    }
    int rc = mproc_lock_acquire(lc, WAIT_MS); /* 锁住 */
    if (rc != 0) {
        fprintf(stderr, "lc.acquire(): %s\n", mproc_strerror(rc));
        mproc_lock_destroy(lc);
        mproc_proxy_destroy(share_data);
        return 1;
    }
    rc = mproc_mdict_set(share_data, MPROC_ARGS(data), MPROC_ARGS(data * data * data));
    for (int i = 0; i < 5 && rc == 0; i++) {
        sleep_ms(100);
        int64_t count = 0; /* share_data["count"] += data: a get, then a set */
        if ((rc = get_i64(share_data, MPROC_ARGS("count"), &count)) == 0 &&
            (rc = mproc_mdict_set(share_data, MPROC_ARGS("count"), MPROC_ARGS(count + data))) ==
                0 &&
            (rc = get_i64(share_data, MPROC_ARGS("count"), &count)) == 0)
            printf("share_data count is %lld \n", (long long)count);
    }
    mproc_lock_release(lc); /* 释放 */
    if (rc != 0)
        fprintf(stderr, "share_data: %s\n", mproc_strerror(rc));
    mproc_lock_destroy(lc);
    mproc_proxy_destroy(share_data);
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
    if ((rc = mproc_manager_dict(process_m, &process_share_data)) != 0 ||
        (rc = mproc_mdict_set(process_share_data, MPROC_ARGS("count"), MPROC_ARGS(500))) != 0) {
        fprintf(stderr, "dict({\"count\": 500}): %s\n", mproc_strerror(rc));
        return 1;
    }
    mproc_lock *lc; /* multiprocessing.Lock() */
    if ((rc = mproc_lock_create(&lc)) != 0) {
        fprintf(stderr, "Lock(): %s\n", mproc_strerror(rc));
        return 1;
    }
    int64_t process_data[] = {100, 200};
    mproc_process *task_list[2];
    for (int i = 0; i < 2; i++) {
        mproc_pack *args;
        mproc_pack_create(&args);
        mproc_pack_i64(args, process_data[i]);
        mproc_pack_handle(args, process_share_data);
        mproc_pack_handle(args, lc);
        task_list[i] = start_process(&(mproc_process_opts){.target = "process_task", .args = args});
        mproc_pack_destroy(args);
    }
    int failed = 0;
    for (int i = 0; i < 2; i++)
        failed |= join_child(task_list[i]);
    if ((rc = print_dict(process_share_data)) != 0) {
        fprintf(stderr, "print(share_data): %s\n", mproc_strerror(rc));
        failed = 1;
    }
    mproc_lock_destroy(lc);
    mproc_proxy_destroy(process_share_data);
    mproc_manager_destroy(process_m);
    return failed ? 1 : 0;
}
