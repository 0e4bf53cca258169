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

#include <stdint.h>

enum { WAIT_MS = 30000 }; /* every wait has a bound */

static int unpack_args(const mproc_bytes *in, mproc_mdict **d, mproc_mlist **l)
{
    mproc_unpacker u;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_mdict(&u, d) != 0)
        return 1;
    if (mproc_unpack_mlist(&u, l) != 0) {
        mproc_proxy_destroy(*d);
        return 1;
    }
    return 0;
}

MPROC_TASK(test1, in, out)
{
    mproc_mdict *d;
    mproc_mlist *l;
    mproc_pack *none; /* None: a pack of no field */
    if (unpack_args(in, &d, &l) != 0)
        return mproc_task_fail(out, "test1 wants a dict and a list");
    int rc = mproc_pack_create(&none);
    if (rc == 0)
        rc = mproc_mdict_set(d, MPROC_ARGS(1), MPROC_ARGS("1")); /* d[1] = '1' */
    if (rc == 0)
        rc = mproc_mdict_set(d, MPROC_ARGS("2"), MPROC_ARGS(2)); /* d['2'] = 2 */
    if (rc == 0)
        rc = mproc_mdict_set(d, MPROC_ARGS(0.25), none); /* d[0.25] = None */
    if (rc == 0)
        rc = mproc_mlist_reverse(l); /* l.reverse() */
    mproc_pack_destroy(none);
    mproc_proxy_destroy(l);
    mproc_proxy_destroy(d);
    return rc == 0 ? 0 : mproc_task_fail(out, "test1: %s", mproc_strerror(rc));
}

/* Appends the Python repr of the object a pack holds (one field, or none: None). */
static size_t repr(char *line, size_t cap, size_t n, const char *sep, const mproc_unpacker *obj)
{
    mproc_unpacker u = *obj;
    int64_t i;
    double f;
    const char *s;
    if (mproc_unpack_peek(&u) == 0)
        return n + (size_t)snprintf(line + n, cap - n, "%sNone", sep);
    if (mproc_unpack_i64(&u, &i) == 0)
        return n + (size_t)snprintf(line + n, cap - n, "%s%lld", sep, (long long)i);
    if (mproc_unpack_f64(&u, &f) == 0)
        return n + (size_t)snprintf(line + n, cap - n, "%s%g", sep, f);
    if (mproc_unpack_str(&u, &s) == 0)
        return n + (size_t)snprintf(line + n, cap - n, "%s'%s'", sep, s);
    return n + (size_t)snprintf(line + n, cap - n, "%s?", sep);
}

/* Appends the items of a pack of nested packs (a slice's items, or a dict's items: nested
 * packs of a key and a value, joined by ": " when pairs is set) to line, joined by ", ". */
static size_t join_reprs(char *line, size_t cap, size_t n, const mproc_bytes *fields, int pairs)
{
    mproc_unpacker u, item, key, value;
    mproc_unpack_init(&u, fields);
    for (int i = 0; n < cap && mproc_unpack_pack(&u, &item) == 0; i++) {
        const char *sep = i == 0 ? "" : ", ";
        if (!pairs) {
            n = repr(line, cap, n, sep, &item);
        } else if (mproc_unpack_pack(&item, &key) == 0 && mproc_unpack_pack(&item, &value) == 0) {
            n = repr(line, cap, n, sep, &key);
            if (n < cap)
                n = repr(line, cap, n, ": ", &value);
        }
    }
    return n;
}

MPROC_TASK(test2, in, out)
{
    mproc_mdict *d;
    mproc_mlist *l;
    if (unpack_args(in, &d, &l) != 0)
        return mproc_task_fail(out, "test2 wants a dict and a list");
    mproc_bytes items, all;
    int rc = mproc_mdict_items(d, &items);
    if (rc == 0) { /* print(d) */
        char line[512] = "{";
        size_t n = join_reprs(line, sizeof line, 1, &items, 1);
        printf("%s}\n", n < sizeof line ? line : "{...}");
        mproc_bytes_free(&items);
        rc = mproc_mlist_slice(l, 0, INT64_MAX, &all); /* l[:] */
    }
    if (rc == 0) { /* print(l) */
        char line[512] = "[";
        size_t n = join_reprs(line, sizeof line, 1, &all, 0);
        printf("%s]\n", n < sizeof line ? line : "[...]");
        mproc_bytes_free(&all);
    }
    mproc_proxy_destroy(l);
    mproc_proxy_destroy(d);
    return rc == 0 ? 0 : mproc_task_fail(out, "test2: %s", mproc_strerror(rc));
}

/* pool.apply_async(task, args=(dict_test, list_test)) */
static int apply_async(mproc_pool *pool, const char *task, mproc_mdict *d, mproc_mlist *l,
                       mproc_async **call)
{
    mproc_pack *args;
    int rc = mproc_pack_create(&args);
    if (rc != 0)
        return rc;
    if ((rc = mproc_pack_handle(args, d)) == 0 && (rc = mproc_pack_handle(args, l)) == 0)
        rc = mproc_pool_apply_async(pool, task, args, NULL, call);
    mproc_pack_destroy(args);
    if (rc != 0)
        fprintf(stderr, "apply_async(%s): %s\n", task, mproc_strerror(rc));
    return rc;
}

/* Waits for the call's end: 0, or the task's failure (printed). */
static int result_of(mproc_async *call, const char *task)
{
    mproc_bytes result;
    int rc = mproc_async_get(call, WAIT_MS, &result);
    if (rc == 0 || rc == MPROC_ETASK || rc == MPROC_EWORKER || rc == MPROC_ECLOSED) {
        if (rc != 0)
            fprintf(stderr, "%s: %.*s\n", task, (int)result.len, (const char *)result.data);
        mproc_bytes_free(&result);
    } else {
        fprintf(stderr, "%s: %s\n", task, mproc_strerror(rc));
    }
    return rc;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_manager *manager; /* with Manager() as manager: */
    int rc = mproc_manager_start(&manager, NULL);
    if (rc != 0) {
        fprintf(stderr, "Manager(): %s\n", mproc_strerror(rc));
        return 1;
    }
    mproc_mdict *dict_test;
    mproc_mlist *list_test;
    if ((rc = mproc_manager_dict(manager, &dict_test)) != 0 ||
        (rc = mproc_manager_list(manager, &list_test)) != 0) {
        fprintf(stderr, "dict()/list(): %s\n", mproc_strerror(rc));
        return 1;
    }
    /* manager.list(range(10)): each field one item */
    rc = mproc_mlist_extend(list_test, MPROC_ARGS(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
    if (rc != 0) {
        fprintf(stderr, "list(range(10)): %s\n", mproc_strerror(rc));
        return 1;
    }
    mproc_pool *pool; /* Pool(): two workers are enough for two tasks */
    if ((rc = mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 2})) != 0) {
        fprintf(stderr, "Pool(): %s\n", mproc_strerror(rc));
        return 1;
    }
    mproc_async *calls[2] = {NULL, NULL};
    if ((rc = apply_async(pool, "test1", dict_test, list_test, &calls[0])) == 0 &&
        (rc = result_of(calls[0], "test1")) == 0 && /* test1 is done before test2 starts */
        (rc = apply_async(pool, "test2", dict_test, list_test, &calls[1])) == 0)
        rc = result_of(calls[1], "test2");
    int rc2 = mproc_pool_close(pool);
    if (rc2 == 0)
        rc2 = mproc_pool_join(pool, WAIT_MS);
    if (rc2 != 0) {
        fprintf(stderr, "close/join: %s\n", mproc_strerror(rc2));
        rc = rc2;
    }
    for (int i = 0; i < 2; i++)
        mproc_async_destroy(calls[i]);
    mproc_pool_destroy(pool);
    mproc_proxy_destroy(list_test);
    mproc_proxy_destroy(dict_test);
    mproc_manager_destroy(manager);
    return rc == 0 ? 0 : 1;
}
