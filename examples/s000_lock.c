/* Seed 000, 进程锁 Lock — 加锁 (with a lock): the same two children as s000_no_lock, each
 * adding its number to the count of a Manager dict {"count": 500} five times, 0.1 s apart,
 * but each holds a multiprocessing Lock for its whole task, so one child's five additions
 * all come before the other's (the seed: 进程锁保证了进程p1的完整运行，然后才进行了进程p2的
 * 运行) and the count always ends at 2000:
 *     {'count': 2000, 100: 1000000, 200: 8000000}
 * (200 first when child 200 got the lock first).
 *
 * Keys and values of a Manager dict are bytes here: the keys are text ("count", "100"),
 * the values 8-byte integers (mproc_mdict_set_i64), and print_dict writes them as Python
 * prints the dict. The lock is the process-shared mproc_lock (multiprocessing.Lock), as in
 * the seed, not one of the manager's. */
#include "example.h"

enum { WAIT_MS = 30000 }; /* every wait has a bound */

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

/* print(share_data): a key that is a number's digits unquoted, any other quoted. */
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
    char key[24]; /* the key data: its digits */
    snprintf(key, sizeof key, "%lld", (long long)data);
    rc = mproc_mdict_set_i64(share_data, MPROC_KEY(key), data * data * data);
    for (int i = 0; i < 5 && rc == 0; i++) {
        sleep_ms(100);
        int64_t count = 0; /* share_data["count"] += data: a get, then a set */
        if ((rc = mproc_mdict_get_i64(share_data, MPROC_KEY("count"), &count)) == 0 &&
            (rc = mproc_mdict_set_i64(share_data, MPROC_KEY("count"), count + data)) == 0 &&
            (rc = mproc_mdict_get_i64(share_data, MPROC_KEY("count"), &count)) == 0)
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
        (rc = mproc_mdict_set_i64(process_share_data, MPROC_KEY("count"), 500)) != 0) {
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
