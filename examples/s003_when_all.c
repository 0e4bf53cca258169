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

MPROC_TASK_ARGS(get_string, out, const char *, url, int64_t, ms)
{
    sleep_ms((long)ms); /* the download */
    char page[300];
    snprintf(page, sizeof page, "<html>%s</html>", url);
    return MPROC_PACK(out, page) != 0;
}

int main(int argc, char **argv)
{
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    static const char *const list[] = {"http://www.baidu.com", "http://www.jd.com",
                                       "https://www.cnblogs.com"};
    static const int64_t takes_ms[] = {300, 100, 200};
    enum { N = sizeof list / sizeof list[0] };
    mproc_executor *ex;
    mproc_future *tasks[N];
    bool done[N];
    if (mproc_executor_create(&ex, &(mproc_executor_opts){.max_workers = N}) != 0)
        return 1;
    /* var tasks = list.Select(url => client.GetStringAsync(url)).ToArray(); */
    for (size_t i = 0; i < N; i++)
        if (mproc_executor_submit(ex, "get_string", MPROC_ARGS(list[i], takes_ms[i]), &tasks[i]))
            return 1;
    int n = mproc_wait(tasks, N, MPROC_WAIT_ALL, 60000, done); /* await Task.WhenAll(tasks) */
    if (n < 0)
        return 1;
    printf("Task.WhenAll: %d of %d tasks done\n", n, (int)N);
    int rc = 0;
    printf("["); /* the string[] it returns, in the order of the urls */
    for (size_t i = 0; i < N && rc == 0; i++) {
        mproc_bytes page = {0};
        const char *text;
        /* all done: no wait */
        if ((rc = mproc_future_result(tasks[i], 0, &page)) == 0 &&
            (rc = MPROC_UNPACK(&page, &text)) == 0)
            printf("%s'%s'", i ? ", " : "", text);
        mproc_bytes_free(&page);
    }
    printf("]\n");
    for (size_t i = 0; i < N; i++)
        mproc_future_destroy(tasks[i]);
    mproc_executor_destroy(ex);
    return rc != 0;
}
