/* Seed 003 §1.3, 源码拓展 (map and imap): `with Pool(processes=4) as pool:` an apply_async
 * whose get prints 100 (here mproc_pool_apply, which waits for the result the same way);
 * map(test, range(10)) prints the list of squares; imap(test, range(10)) returns an
 * iterator (Python prints it as <multiprocessing.pool.IMapIterator object at 0x…>), next()
 * takes the first square (0) and the loop prints the other nine on one line, each followed
 * by a space (print(i, end=" ")). Python then ends without a newline; here one ends the
 * line. The `with` block's end is mproc_pool_destroy (terminate, join, free), as Python's
 * __exit__ calls terminate().
 *
 * The seed's get(timeout=1) is apply's 10 s here: the task takes no time, but handing it to
 * a worker that has just started may take more than a second under Wine on a busy machine,
 * and a timeout is not what this example shows (s003_pool_timeout does). Only the main
 * process prints, so stdout needs no line buffering. */
#include "example.h"

MPROC_TASK_ARGS(test, out, int64_t, x)
{
    return MPROC_PACK(out, x * x) != 0;
}

int main(int argc, char **argv)
{
    const mproc_pack *xs = MPROC_ARGS(0, 1, 2, 3, 4, 5, 6, 7, 8, 9); /* range(10) */
    mproc_pool *pool; /* with Pool(processes=4) as pool: */
    mproc_iter *obj_iter;
    mproc_bytes r, obj_list[10];
    int64_t y;
    if (mproc_init(&argc, &argv) != 0 ||
        mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 4}) != 0 ||
        mproc_pool_apply(pool, "test", MPROC_ARGS(10), 10000, &r) != 0 || MPROC_UNPACK(&r, &y))
        return 1;
    printf("%lld\n", (long long)y);
    mproc_bytes_free(&r);
    if (mproc_pool_map(pool, "test", xs, 0, MPROC_FOREVER, obj_list, 10) != 0)
        return 1;
    int bad = 0;                   /* a result that does not read as an integer */
    for (int i = 0; i < 10; i++) { /* print(obj_list) */
        bad |= MPROC_UNPACK(&obj_list[i], &y);
        printf("%s%lld%s", i ? ", " : "[", (long long)y, i == 9 ? "]\n" : "");
    }
    mproc_bytes_free_array(obj_list, 10);
    if (mproc_pool_imap(pool, "test", xs, 1, &obj_iter) != 0) /* 返回一个可迭代类的实例对象 */
        return 1;
    printf("<mproc_iter object at 0x%llx>\n", (unsigned long long)(uintptr_t)obj_iter);
    int rc = mproc_iter_next(obj_iter, MPROC_FOREVER, &r); /* next(obj_iter): 1 */
    mproc_bytes_free(&r);
    while (rc == 1 && (rc = mproc_iter_next(obj_iter, MPROC_FOREVER, &r)) == 1) {
        bad |= MPROC_UNPACK(&r, &y);   /* for i in obj_iter: */
        printf("%lld ", (long long)y); /* print(i, end=" ") */
        mproc_bytes_free(&r);
    }
    printf("\n");
    mproc_iter_destroy(obj_iter);
    mproc_pool_destroy(pool);
    return rc != 0 || bad; /* rc 0: the end */
}
