/* Seed 003 §1.3, 源码拓展 (map and imap): `with Pool(processes=4) as pool:` an apply_async
 * whose get prints 100; map(test, range(10)) prints the list of squares; imap(test,
 * range(10)) returns an iterator (Python prints it as <multiprocessing.pool.IMapIterator
 * object at 0x…>), next() takes the first square (0) and the loop prints the other nine on
 * one line, each followed by a space (print(i, end=" ")). Python then ends without a
 * newline; here one ends the line. The `with` block's end is mproc_pool_destroy
 * (terminate, join, free), as Python's __exit__ calls terminate().
 *
 * The seed's get(timeout=1) is 10 s here: the task takes no time, but handing it to a
 * worker that has just started may take more than a second under Wine on a busy machine,
 * and a timeout is not what this example shows (s003_pool_timeout does). A result is
 * bytes: here the 8 bytes of an int64_t. */
#include "example.h"

MPROC_TASK(test, in, out)
{
    mproc_unpacker u;
    int64_t x;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_i64(&u, &x) != 0)
        return mproc_task_fail(out, "test wants one integer");
    int64_t square = x * x;
    if (MPROC_PACK(out, square) != 0)
        return mproc_task_fail(out, "out of memory");
    return 0;
}

/* A task's int64_t result, or -1 (never a square) if its bytes are not one. */
static long long square_of(const mproc_bytes *result)
{
    int64_t v;
    if (MPROC_UNPACK(result, &v) != 0)
        return -1;
    return (long long)v;
}

/* Why a call failed, with the task's text when there is one; returns rc. */
static int report(const char *what, int rc, const mproc_bytes *result)
{
    bool has_text = (rc == MPROC_ETASK || rc == MPROC_EWORKER) && result && result->data;
    fprintf(stderr, "%s: %s%s%s\n", what, mproc_strerror(rc), has_text ? ": " : "",
            has_text ? (const char *)result->data : "");
    return rc;
}

static int apply_async_get(mproc_pool *pool)
{
    mproc_pack *args;
    mproc_async *task = NULL;
    int rc = mproc_pack_create(&args);
    if (rc == 0 && (rc = mproc_pack_i64(args, 10)) == 0)
        rc = mproc_pool_apply_async(pool, "test", args, NULL, &task);
    mproc_pack_destroy(args);
    if (rc != 0)
        return report("apply_async", rc, NULL);
    mproc_bytes result = {0};
    rc = mproc_async_get(task, 10000, &result); /* print(task.get(timeout=1)) */
    if (rc == 0)
        printf("%lld\n", square_of(&result));
    else
        report("get", rc, &result);
    mproc_bytes_free(&result);
    mproc_async_destroy(task);
    return rc;
}

static int map(mproc_pool *pool, const mproc_pack *xs)
{
    mproc_bytes obj_list[10] = {{0}};
    int rc = mproc_pool_map(pool, "test", xs, 0, MPROC_FOREVER, obj_list, 10);
    if (rc == 0) { /* print(obj_list) */
        printf("[");
        for (int i = 0; i < 10; i++)
            printf("%s%lld", i ? ", " : "", square_of(&obj_list[i]));
        printf("]\n");
    } else {
        report("map", rc, &obj_list[0]);
    }
    mproc_bytes_free_array(obj_list, 10);
    return rc;
}

static int imap(mproc_pool *pool, const mproc_pack *xs)
{
    mproc_iter *obj_iter;
    int rc = mproc_pool_imap(pool, "test", xs, 1, &obj_iter);
    if (rc != 0)
        return report("imap", rc, NULL);
    printf("<mproc_iter object at 0x%llx>\n", (unsigned long long)(uintptr_t)obj_iter);
    mproc_bytes i = {0};
    rc = mproc_iter_next(obj_iter, MPROC_FOREVER, &i); /* next(obj_iter): 1 and the first */
    mproc_bytes_free(&i);
    while (rc == 1) { /* for i in obj_iter: print(i, end=" ") */
        rc = mproc_iter_next(obj_iter, MPROC_FOREVER, &i);
        if (rc == 1)
            printf("%lld ", square_of(&i));
        mproc_bytes_free(&i);
    }
    printf("\n");
    if (rc != 0) /* 0: the end */
        report("imap: next", rc, NULL);
    mproc_iter_destroy(obj_iter);
    return rc;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_pack *xs; /* range(10) */
    if (mproc_pack_create(&xs) != 0)
        return 1;
    int rc = 0;
    for (int x = 0; x < 10 && rc == 0; x++)
        rc = mproc_pack_i64(xs, x);
    mproc_pool *pool = NULL; /* with Pool(processes=4) as pool: */
    if (rc == 0 && (rc = mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 4})) != 0)
        report("Pool(processes=4)", rc, NULL);
    if (rc == 0)
        rc = apply_async_get(pool);
    if (rc == 0)
        rc = map(pool, xs);
    if (rc == 0)
        rc = imap(pool, xs);
    mproc_pool_destroy(pool);
    mproc_pack_destroy(xs);
    return rc == 0 ? 0 : 1;
}
