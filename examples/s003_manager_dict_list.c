/* Seed 003 §1.6 2, 服务器进程（Manager） (a dict and a list of a Manager, used by pool
 * tasks): `with Manager() as manager:` makes a dict and list(range(10)) in the manager's
 * server process; pool task test1 stores three entries in the dict and reverses the list,
 * task test2 prints both:
 *     {1: '1', '2': 2, 0.25: None}
 *     [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
 *
 * Keys, values and list items are packs (MPROC_ARGS) of the seed's objects: 1 an I64, '1'
 * a STR, 0.25 an F64, None the empty pack; printing each as Python's repr, joined as Python
 * joins a dict's or a list's items, gives the seed's lines.
 *
 * In the seed, both tasks are submitted at once, and test2 may run (in another worker)
 * before test1 is done, printing {} and [0, 1, ...]; the seed's output is the run where
 * test1 came first. Here the main process waits for test1's result (apply_async(...).get())
 * before it submits test2, so the output is always the seed's. */
#include "example.h"

enum { WAIT_MS = 30000 }; /* every wait has a bound */

MPROC_TASK_ARGS(test1, out, mproc_mdict *, d, mproc_mlist *, l)
{
    mproc_pack *none; /* None: a pack of no field */
    int failed = mproc_pack_create(&none) != 0 ||
                 mproc_mdict_set(d, MPROC_ARGS(1), MPROC_ARGS("1")) != 0 || /* d[1] = '1' */
                 mproc_mdict_set(d, MPROC_ARGS("2"), MPROC_ARGS(2)) != 0 || /* d['2'] = 2 */
                 mproc_mdict_set(d, MPROC_ARGS(0.25), none) != 0 ||         /* d[0.25] = None */
                 mproc_mlist_reverse(l) != 0;                               /* l.reverse() */
    mproc_pack_destroy(none);
    mproc_proxy_destroy(l);
    mproc_proxy_destroy(d);
    return failed;
}

/* Prints sep, then the Python repr of the object a pack holds (one field, or none: None). */
static void print_repr(const char *sep, mproc_unpacker *obj)
{
    int64_t i;
    double f;
    const char *s;
    if (mproc_unpack_peek(obj) == 0)
        printf("%sNone", sep);
    else if (mproc_unpack_i64(obj, &i) == 0)
        printf("%s%lld", sep, (long long)i);
    else if (mproc_unpack_f64(obj, &f) == 0)
        printf("%s%g", sep, f);
    else if (mproc_unpack_str(obj, &s) == 0)
        printf("%s'%s'", sep, s);
}

/* Only this task prints while it runs, so a line may be printed in pieces. d is printed item
 * by item: its None is the empty pack, which mproc_mdict_repr would show as (). */
MPROC_TASK_ARGS(test2, out, mproc_mdict *, d, mproc_mlist *, l)
{
    mproc_bytes items, text;
    mproc_unpacker u, pair, key, value;
    if (mproc_mdict_items(d, &items) != 0 || mproc_mlist_repr(l, &text) != 0)
        return 1;
    printf("{"); /* print(d) */
    mproc_unpack_init(&u, &items);
    for (int i = 0; mproc_unpack_pack(&u, &pair) == 0; i++)
        if (mproc_unpack_pack(&pair, &key) == 0 && mproc_unpack_pack(&pair, &value) == 0) {
            print_repr(i ? ", " : "", &key);
            print_repr(": ", &value);
        }
    printf("}\n%s\n", (const char *)text.data); /* print(l) */
    mproc_bytes_free(&items);
    mproc_bytes_free(&text);
    mproc_proxy_destroy(l);
    mproc_proxy_destroy(d);
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    mproc_manager *manager; /* with Manager() as manager: */
    mproc_mdict *dict_test;
    mproc_mlist *list_test;
    mproc_pool *pool;   /* Pool(): two workers are enough for two tasks */
    mproc_bytes r1, r2; /* apply_async(...).get(): test1 is done before test2 starts */
    if (mproc_init(&argc, &argv) != 0 || mproc_manager_start(&manager, NULL) != 0 ||
        mproc_manager_dict(manager, &dict_test) != 0 ||
        mproc_manager_list(manager, &list_test) != 0 ||
        /* manager.list(range(10)): each field one item */
        mproc_mlist_extend(list_test, MPROC_ARGS(0, 1, 2, 3, 4, 5, 6, 7, 8, 9)) != 0 ||
        mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 2}) != 0 ||
        mproc_pool_apply(pool, "test1", MPROC_ARGS(dict_test, list_test), WAIT_MS, &r1) != 0 ||
        mproc_pool_apply(pool, "test2", MPROC_ARGS(dict_test, list_test), WAIT_MS, &r2) != 0 ||
        mproc_pool_close(pool) != 0 || mproc_pool_join(pool, WAIT_MS) != 0)
        return 1;
    mproc_bytes_free(&r1);
    mproc_bytes_free(&r2);
    mproc_pool_destroy(pool);
    mproc_proxy_destroy(list_test);
    mproc_proxy_destroy(dict_test);
    mproc_manager_destroy(manager);
    return 0;
}
