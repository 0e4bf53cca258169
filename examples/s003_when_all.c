/* Seed 003, NetCore并发编程, 1.异步编程（Task）, "1.批量任务": start one download per url and
 * `await Task.WhenAll(tasks)`, which gives the results in the order of the urls, however
 * the downloads finish:
 *
 *     var tasks = list.Select(url => client.GetStringAsync(url)).ToArray();
 *     return await Task.WhenAll(tasks);
 *
 * Here the tasks are futures of a process executor and WhenAll is mproc_wait with
 * MPROC_WAIT_ALL; then each future's result is read in the order of the urls. What
 * differs: there is no network; get_string is a stand-in for GetStringAsync that takes
 * 300, 100 and 200 ms for the three urls (so they finish in another order than they were
 * started) and returns "<html>url</html>". The list printed is in url order all the same. */
#include "example.h"

MPROC_TASK(get_string, in, out)
{
    mproc_unpacker u;
    const char *url;
    int64_t ms;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_str(&u, &url) != 0 || mproc_unpack_i64(&u, &ms) != 0)
        return mproc_task_fail(out, "get_string wants (url, ms)");
    sleep_ms((long)ms); /* the download */
    char page[300];
    int n = snprintf(page, sizeof page, "<html>%s</html>", url);
    if (n < 0 || (size_t)n >= sizeof page)
        return mproc_task_fail(out, "url too long: %s", url);
    return MPROC_PACK(out, page) == 0 ? 0 : mproc_task_fail(out, "no memory");
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    static const char *const list[] = {"http://www.baidu.com", "http://www.jd.com",
                                       "https://www.cnblogs.com"};
    static const int64_t takes_ms[] = {300, 100, 200};
    enum { N = sizeof list / sizeof list[0] };

    mproc_executor *ex;
    int rc = mproc_executor_create(&ex, &(mproc_executor_opts){.max_workers = N});
    if (rc != 0) {
        fprintf(stderr, "executor: %s\n", mproc_strerror(rc));
        return 1;
    }
    /* var tasks = list.Select(url => client.GetStringAsync(url)).ToArray(); */
    mproc_future *tasks[N] = {NULL};
    for (size_t i = 0; i < N && rc == 0; i++) {
        mproc_pack *args;
        if ((rc = mproc_pack_create(&args)) != 0)
            break;
        if ((rc = mproc_pack_str(args, list[i])) == 0 &&
            (rc = mproc_pack_i64(args, takes_ms[i])) == 0)
            rc = mproc_executor_submit(ex, "get_string", args, &tasks[i]);
        mproc_pack_destroy(args);
    }
    if (rc == 0) {
        /* await Task.WhenAll(tasks) */
        bool done[N];
        int n = mproc_wait(tasks, N, MPROC_WAIT_ALL, 60000, done);
        if (n < 0) {
            rc = n;
            fprintf(stderr, "WhenAll: %s\n", mproc_strerror(rc));
        } else {
            printf("Task.WhenAll: %d of %d tasks done\n", n, (int)N);
        }
    } else {
        fprintf(stderr, "submit: %s\n", mproc_strerror(rc));
    }
    if (rc == 0) {
        /* the string[] it returns, in the order of the urls */
        printf("[");
        for (size_t i = 0; i < N; i++) {
            mproc_bytes page = {0};
            int got = mproc_future_result(tasks[i], 0, &page); /* all done: no wait */
            const char *text = NULL;
            if (got == 0 && (got = MPROC_UNPACK(&page, &text)) == 0)
                printf("%s'%s'", i ? ", " : "", text);
            else
                rc = got;
            mproc_bytes_free(&page);
        }
        printf("]\n");
        if (rc != 0)
            fprintf(stderr, "result: %s\n", mproc_strerror(rc));
    }
    for (size_t i = 0; i < N; i++)
        mproc_future_destroy(tasks[i]);
    mproc_executor_destroy(ex);
    return rc == 0 ? 0 : 1;
}
