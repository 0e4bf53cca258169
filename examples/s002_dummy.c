/* Seed 002, dummy模块: "from multiprocessing.dummy import Pool" gives the same Pool API on
 * threads, so code moves between processes and threads by changing one line. Here the
 * one line is the function that creates the pool: run_urls() below is written once and run
 * on a process pool (mproc_pool_create) and on a thread pool (mproc_threadpool_create).
 * Each prints the seed 002 map of urls, and where its tasks ran: other processes for the
 * process pool, this process for the thread pool. */
#include "example.h"

MPROC_TASK(dummy_worker, in, out)
{
    mproc_unpacker u;
    const char *url;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_str(&u, &url) != 0)
        return mproc_task_fail(out, "dummy_worker wants one string");
    /* 'http://%s' % url, and the pid of the process that ran it */
    char text[300];
    int n = snprintf(text, sizeof text, "http://%s@%lld", url, (long long)mproc_getpid());
    if (n < 0 || (size_t)n >= sizeof text)
        return mproc_task_fail(out, "url too long: %s", url);
    return MPROC_PACK(out, MPROC_BYTES(text, (size_t)n)) == 0 ? 0
                                                              : mproc_task_fail(out, "no memory");
}

typedef int (*pool_create_fn)(mproc_pool **out, const mproc_pool_opts *opts);

/* The program, written once for either kind of pool. */
static int run_urls(const char *label, pool_create_fn create)
{
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
        rc = create(&pool, &(mproc_pool_opts){.processes = 2}); /* Pool(2) */
    mproc_bytes r[N] = {{0}};
    if (rc == 0)
        rc = mproc_pool_map(pool, "dummy_worker", items, 0, 60000, r, N);
    mproc_pack_destroy(items);
    if (rc == 0 && (rc = mproc_pool_close(pool)) == 0)
        rc = mproc_pool_join(pool, 60000);
    if (rc == 0) {
        /* print(r), and where each ran */
        printf("%s: [", label);
        for (size_t i = 0; i < N; i++) {
            mproc_bytes b = {0};
            MPROC_UNPACK(&r[i], &b);
            const char *text = b.data, *at = memchr(text, '@', b.len);
            int url_len = at ? (int)(at - text) : (int)b.len;
            printf("%s'%.*s'", i ? ", " : "", url_len, text);
        }
        printf("]\n");
        for (size_t i = 0; i < N; i++) {
            /* the digits after '@' (results are bytes, not C strings) */
            mproc_bytes b = {0};
            MPROC_UNPACK(&r[i], &b);
            const char *text = b.data, *at = memchr(text, '@', b.len);
            long long pid = at ? 0 : -1;
            for (const char *c = at ? at + 1 : text; at && c < text + b.len; c++)
                pid = pid * 10 + (*c - '0');
            printf("%s: item %zu ran in %s\n", label, i,
                   pid == (long long)mproc_getpid() ? "this process" : "another process");
        }
    } else {
        fprintf(stderr, "%s: %s\n", label, mproc_strerror(rc));
    }
    mproc_bytes_free_array(r, N);
    mproc_pool_destroy(pool);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    /* from multiprocessing import Pool */
    int failed = run_urls("processes", mproc_pool_create);
    /* from multiprocessing.dummy import Pool */
    failed |= run_urls("threads", mproc_threadpool_create);
    return failed;
}
