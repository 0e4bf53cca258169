/* Seed 002, 进程池map方法: Pool(2).map(worker, urls) makes a new list of the results, in the
 * order of the urls, and print(r) shows it as Python prints a list of strings. A result
 * is bytes: here the text of the string, without its NUL. (The seed's "pool = Pool(2)s" is
 * a typo for Pool(2).) The seed never joins; here close, join and destroy end the pool. */
#include "example.h"

MPROC_TASK(worker, in, out)
{
    mproc_unpacker u;
    const char *url;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_str(&u, &url) != 0)
        return mproc_task_fail(out, "worker wants one string");
    char text[256]; /* return 'http://%s' % url */
    int n = snprintf(text, sizeof text, "http://%s", url);
    if (n < 0 || (size_t)n >= sizeof text)
        return mproc_task_fail(out, "url too long: %s", url);
    if (MPROC_PACK(out, MPROC_BYTES(text, (size_t)n)) != 0)
        return mproc_task_fail(out, "out of memory");
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    static const char *const urls[] = {"www.baidu.com", "www.jd.com"};
    enum { N = sizeof urls / sizeof urls[0] };
    mproc_pack *items;
    if (mproc_pack_create(&items) != 0)
        return 1;
    int rc = 0;
    for (size_t i = 0; i < N && rc == 0; i++)
        rc = mproc_pack_str(items, urls[i]);
    mproc_pool *pool = NULL;
    if (rc == 0)
        rc = mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 2});
    mproc_bytes r[N] = {{0}};
    if (rc == 0) {
        rc = mproc_pool_map(pool, "worker", items, 0, MPROC_FOREVER, r, N);
        if ((rc == MPROC_ETASK || rc == MPROC_EWORKER) && r[0].data)
            fprintf(stderr, "map: %s\n", (const char *)r[0].data); /* the error text */
    }
    mproc_pack_destroy(items);
    if (rc == 0 && (rc = mproc_pool_close(pool)) == 0)
        rc = mproc_pool_join(pool, MPROC_FOREVER);
    if (rc == 0) { /* print(r): ['http://www.baidu.com', 'http://www.jd.com'] */
        printf("[");
        for (size_t i = 0; i < N; i++) {
            mproc_bytes b = {0};
            MPROC_UNPACK(&r[i], &b);
            printf("%s'%.*s'", i ? ", " : "", (int)b.len, (const char *)b.data);
        }
        printf("]\n");
    } else {
        fprintf(stderr, "Pool(2).map: %s\n", mproc_strerror(rc));
    }
    mproc_bytes_free_array(r, N);
    mproc_pool_destroy(pool);
    return rc == 0 ? 0 : 1;
}
