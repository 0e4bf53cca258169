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
 * value an I64 (read with mproc_mdict_get_i64), and mproc_mdict_repr prints the dict as
 * Python does. Only the main process prints, so stdout needs no line buffering. */
#include "example.h"

enum { WAIT_MS = 30000 }; /* every wait has a bound */

MPROC_TASK_ARGS(test, out, mproc_mdict *, dict1, mproc_lock *, lock)
{
    for (int i = 0; i < 100; i++) {
        int64_t year; /* with lock: dict1["year"] += 1 */
        if (mproc_lock_acquire(lock, WAIT_MS) != 0 ||
            mproc_mdict_get_i64(dict1, MPROC_ARGS("year"), &year) != 0 ||
            mproc_mdict_set(dict1, MPROC_ARGS("year"), MPROC_ARGS(year + 1)) != 0 ||
            mproc_lock_release(lock) != 0)
            return 1;
    }
    return 0; /* the handles are closed as the child exits, as in Python */
}

/* The same additions, each one step on the manager: no lock. */
MPROC_TASK_ARGS(test_add, out, mproc_mdict *, dict1)
{
    for (int i = 0; i < 100; i++)
        if (mproc_mdict_add_i64(dict1, MPROC_ARGS("year"), 1, NULL) != 0)
            return 1;
    return 0;
}

/* p_list = [Process(target=task, args=args) for i in range(5)], started, joined (a child
 * that fails fails the run), then print(dict1). */
static int run_five(const char *task, const mproc_pack *args, mproc_mdict *dict1)
{
    mproc_process *p_list[5];
    mproc_bytes text;
    int code;
    for (int i = 0; i < 5; i++)
        if (mproc_process_start_new(&p_list[i],
                                    &(mproc_process_opts){.target = task, .args = args}))
            return 1;
    for (int i = 0; i < 5; i++)
        if (mproc_process_join(p_list[i], WAIT_MS) != 0 ||
            mproc_process_exitcode(p_list[i], &code) != 0 || code != 0 ||
            mproc_process_destroy(p_list[i]) != 0)
            return 1;
    if (mproc_mdict_repr(dict1, &text) != 0)
        return 1;
    printf("%s\n", (const char *)text.data);
    mproc_bytes_free(&text);
    return 0;
}

int main(int argc, char **argv)
{
    mproc_manager *m; /* with Manager() as m: */
    mproc_lock *lock;
    mproc_mdict *dict1;
    if (mproc_init(&argc, &argv) != 0 || mproc_manager_start(&m, NULL) != 0 ||
        mproc_lock_create(&lock) != 0 || mproc_manager_dict(m, &dict1) != 0 ||
        mproc_mdict_set(dict1, MPROC_ARGS("year"), MPROC_ARGS(2000)) != 0 ||
        run_five("test", MPROC_ARGS(dict1, lock), dict1) != 0 || /* 2500 */
        run_five("test_add", MPROC_ARGS(dict1), dict1) != 0)     /* 3000 */
        return 1;
    mproc_proxy_destroy(dict1);
    mproc_lock_destroy(lock);
    mproc_manager_destroy(m);
    return 0;
}
