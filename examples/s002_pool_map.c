/* Seed 002, 进程池map方法: Pool(2).map(worker, urls) makes a new list of the results, in the
 * order of the urls, and print(r) shows it as Python prints a list of strings. Each result
 * is a pack of one string. (The seed's "pool = Pool(2)s" is a typo for Pool(2).) The seed
 * never joins; here close, then destroy, which joins, end the pool. */
#include "example.h"

MPROC_TASK_ARGS(worker, out, const char *, url)
{
    char text[256]; /* return 'http://%s' % url */
    if (snprintf(text, sizeof text, "http://%s", url) >= (int)sizeof text)
        return mproc_task_fail(out, "url too long: %s", url);
    return MPROC_PACK(out, text) != 0;
}

int main(int argc, char **argv)
{
    mproc_pool *pool;
    mproc_bytes r[2]; /* urls = ['www.baidu.com', 'www.jd.com'] */
    const char *r0, *r1;
    if (mproc_init(&argc, &argv) != 0 ||
        mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 2}) != 0 ||
        mproc_pool_map(pool, "worker", MPROC_ARGS("www.baidu.com", "www.jd.com"), 0, MPROC_FOREVER,
                       r, 2) != 0 ||
        MPROC_UNPACK(&r[0], &r0) || MPROC_UNPACK(&r[1], &r1))
        return 1;
    mproc_pool_close(pool);
    printf("['%s', '%s']\n", r0, r1); /* print(r) */
    mproc_bytes_free_array(r, 2);
    mproc_pool_destroy(pool);
    return 0;
}
