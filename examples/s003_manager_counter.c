/* Seed 003 §1.6 2, 同步问题依然需要注意一下 (a Manager dict still needs a lock): five
 * children each add 1 to dict1["year"] a hundred times. dict1["year"] += 1 is two calls to
 * the manager, a get and then a set, so without the lock two children could both read
 * 2000 and both write 2001; with a multiprocessing Lock held around both calls
 * (你可以把这句话注释掉，然后就知道为什么加了) the year always ends at 2500:
 *     {'year': 2500}
 *
 * Then the mproc way, which needs no lock: mproc_mdict_add_i64 sends the addition itself
 * to the manager, which does the read and the write in one step, so five more children
 * adding 1 a hundred times each, with no lock, always bring the year to 3000:
 *     {'year': 3000}
 *
 * Keys and values of a Manager dict are packs (MPROC_ARGS): the key the STR "year", the
 * value an I64, read with MPROC_UNPACK and printed as Python prints the dict. */
#include "example.h"

enum { WAIT_MS = 30000 }; /* every wait has a bound */

/* dict1["year"] */
static int get_year(mproc_mdict *dict1, int64_t *year)
{
    mproc_bytes b;
    int rc = mproc_mdict_get(dict1, MPROC_ARGS("year"), &b);
    if (rc == 0) {
        rc = MPROC_UNPACK(&b, year);
        mproc_bytes_free(&b);
    }
    return rc;
}

MPROC_TASK(test, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_mdict *dict1;
    mproc_lock *lock;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_mdict(&u, &dict1) != 0)
        return 1;
    if (mproc_unpack_lock(&u, &lock) != 0) {
        mproc_proxy_destroy(dict1);
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < 100 && rc == 0; i++) {
        if ((rc = mproc_lock_acquire(lock, WAIT_MS)) != 0) /* with lock: */
            break;
        int64_t year = 0; /* dict1["year"] += 1 */
        if ((rc = get_year(dict1, &year)) == 0)
            rc = mproc_mdict_set(dict1, MPROC_ARGS("year"), MPROC_ARGS(year + 1));
        mproc_lock_release(lock);
    }
    if (rc != 0)
        fprintf(stderr, "test: %s\n", mproc_strerror(rc));
    mproc_lock_destroy(lock);
    mproc_proxy_destroy(dict1);
    return rc == 0 ? 0 : 1;
}

/* The same additions, each one step on the manager: no lock. */
MPROC_TASK(test_add, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_mdict *dict1;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_mdict(&u, &dict1) != 0)
        return 1;
    int rc = 0;
    for (int i = 0; i < 100 && rc == 0; i++)
        rc = mproc_mdict_add_i64(dict1, MPROC_ARGS("year"), 1, NULL);
    if (rc != 0)
        fprintf(stderr, "test_add: %s\n", mproc_strerror(rc));
    mproc_proxy_destroy(dict1);
    return rc == 0 ? 0 : 1;
}

/* p_list = [Process(target=task, args=args) for i in range(5)], started, then joined (with a
 * bound; one still running then is terminated). 0 if all five ended with 0. */
static int run_five(const char *task, const mproc_pack *args)
{
    mproc_process *p_list[5];
    for (int i = 0; i < 5; i++)
        p_list[i] = start_process(&(mproc_process_opts){.target = task, .args = args});
    int failed = 0;
    for (int i = 0; i < 5; i++) {
        int code = -1, rc = mproc_process_join(p_list[i], WAIT_MS);
        if (rc != 0) {
            fprintf(stderr, "join: %s\n", mproc_strerror(rc));
            mproc_process_terminate(p_list[i]);
            mproc_process_join(p_list[i], WAIT_MS);
        }
        mproc_process_exitcode(p_list[i], &code);
        mproc_process_destroy(p_list[i]);
        failed |= rc != 0 || code != 0;
    }
    return failed;
}

/* print(dict1) */
static int print_year(mproc_mdict *dict1)
{
    int64_t year = 0, len = 0;
    int rc = get_year(dict1, &year);
    if (rc == 0 && (rc = mproc_mdict_len(dict1, &len)) == 0 && len == 1) {
        printf("{'year': %lld}\n", (long long)year);
        return 0;
    }
    fprintf(stderr, "print(dict1): %s\n", rc < 0 ? mproc_strerror(rc) : "not one key");
    return 1;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_manager *m; /* with Manager() as m: */
    int rc = mproc_manager_start(&m, NULL);
    if (rc != 0) {
        fprintf(stderr, "Manager(): %s\n", mproc_strerror(rc));
        return 1;
    }
    mproc_lock *lock;
    mproc_mdict *dict1;
    mproc_pack *args;
    if ((rc = mproc_lock_create(&lock)) != 0 || (rc = mproc_manager_dict(m, &dict1)) != 0 ||
        (rc = mproc_mdict_set(dict1, MPROC_ARGS("year"), MPROC_ARGS(2000))) != 0 ||
        (rc = mproc_pack_create(&args)) != 0) {
        fprintf(stderr, "Lock()/dict({\"year\": 2000}): %s\n", mproc_strerror(rc));
        return 1;
    }
    int failed = 0;
    mproc_pack_handle(args, dict1); /* args=(dict1, lock) */
    mproc_pack_handle(args, lock);
    failed |= run_five("test", args);
    failed |= print_year(dict1);

    mproc_pack_reset(args); /* args=(dict1,) */
    mproc_pack_handle(args, dict1);
    failed |= run_five("test_add", args);
    failed |= print_year(dict1);

    mproc_pack_destroy(args);
    mproc_proxy_destroy(dict1);
    mproc_lock_destroy(lock);
    mproc_manager_destroy(m);
    return failed ? 1 : 0;
}
