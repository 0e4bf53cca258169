/* Seed 002, dummy模块: "from multiprocessing.dummy import Pool" gives the same Pool API on
 * threads, so code moves between processes and threads by changing one line. Here the
 * one line is the function that creates the pool: run_urls() below is written once and run
 * on a process pool (mproc_pool_create) and on a thread pool (mproc_threadpool_create).
 * Each prints the seed 002 map of urls, and where its tasks ran: other processes for the
 * process pool, this process for the thread pool. */
#include "example.h"

MPROC_TASK_ARGS(dummy_worker, out, const char *, url)
{
    char text[256]; /* 'http://%s' % url, and the pid of the process that ran it */
    if (snprintf(text, sizeof text, "http://%s", url) >= (int)sizeof text)
        return mproc_task_fail(out, "url too long: %s", url);
    return MPROC_PACK(out, text, mproc_getpid()) != 0;
}

/* The program, written once for either kind of pool. */
static int run_urls(const char *label, int (*create)(mproc_pool **, const mproc_pool_opts *))
{
    mproc_pool *pool;
    mproc_bytes r[2];
    const char *url[2];
    int64_t pid[2];
    if (create(&pool, &(mproc_pool_opts){.processes = 2}) != 0 || /* Pool(2) */
        mproc_pool_map(pool, "dummy_worker", MPROC_ARGS("www.baidu.com", "www.jd.com"), 0,
                       MPROC_FOREVER, r, 2) != 0 ||
        MPROC_UNPACK(&r[0], &url[0], &pid[0]) || MPROC_UNPACK(&r[1], &url[1], &pid[1]))
        return 1;
    mproc_pool_close(pool);
    printf("%s: ['%s', '%s']\n", label, url[0], url[1]); /* print(r) */
    for (int i = 0; i < 2; i++)                          /* and where each ran */
        printf("%s: item %d ran in %s\n", label, i,
               pid[i] == mproc_getpid() ? "this process" : "another process");
    mproc_bytes_free_array(r, 2);
    mproc_pool_destroy(pool);
    return 0;
}

int main(int argc, char **argv)
{
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    /* from multiprocessing import Pool, then from multiprocessing.dummy import Pool */
    return run_urls("processes", mproc_pool_create) || run_urls("threads", mproc_threadpool_create);
}
