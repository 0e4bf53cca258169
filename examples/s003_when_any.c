/* Seed 003, NetCore并发编程, 1.异步编程（Task）, "2.返回首先完成的Task": ask several APIs that
 * give the same answer (this machine's IP), take the first that answers and ignore the
 * others:
 *
 *     var tasks = list.Select(url => client.GetStringAsync(url)).ToArray();
 *     var task = await Task.WhenAny(tasks); // 返回第一个完成的Task
 *     return await task;
 *
 * Here the tasks are futures of a process executor and WhenAny is mproc_wait with
 * MPROC_WAIT_ANY, whose done[] says which finished; its result is then read at once. What
 * differs: there is no network. get_ip stands in for the APIs, and which one answers first
 * is not left to chance (nor to sleeps), so that the output is the same on every run: the
 * second API answers at once, the others only once the program is past WhenAny and sets
 * an Event ("the slow servers answer late"). Their answers are ignored, as in the seed;
 * destroying the executor at the end waits for them. */
#include "example.h"

static const char *const list[] = {"https://api.ipify.org", "https://icanhazip.com",
                                   "https://ifconfig.me/ip"};
enum { N = sizeof list / sizeof list[0], FAST = 1 };

/* (api index, late event): the "IP" the API gives, 203.0.113.<index + 10>. */
MPROC_TASK_ARGS(get_ip, out, int64_t, api, mproc_event *, late)
{
    if (api != FAST)
        mproc_event_wait(late, 10000); /* a slow server */
    mproc_event_destroy(late);
    char ip[32];
    snprintf(ip, sizeof ip, "203.0.113.%d", (int)api + 10);
    return MPROC_PACK(out, ip) != 0;
}

int main(int argc, char **argv)
{
    mproc_event *late;
    mproc_executor *ex;
    mproc_future *tasks[N];
    bool done[N];
    if (mproc_init(&argc, &argv) != 0 || mproc_event_create(&late) != 0 ||
        mproc_executor_create(&ex, &(mproc_executor_opts){.max_workers = N}) != 0)
        return 1;
    for (size_t i = 0; i < N; i++)
        if (mproc_executor_submit(ex, "get_ip", MPROC_ARGS(i, late), &tasks[i]) != 0)
            return 1;
    int n = mproc_wait(tasks, N, MPROC_WAIT_ANY, 60000, done); /* await Task.WhenAny */
    size_t first = 0;
    while (n > 0 && first < N && !done[first])
        first++;
    mproc_bytes ip;
    const char *text;
    if (n <= 0 || first == N || mproc_future_result(tasks[first], 0, &ip) != 0 ||
        MPROC_UNPACK(&ip, &text) != 0) /* return await task */
        return 1;
    printf("Task.WhenAny: %s answered first: %s\n", list[first], text);
    printf("the other %d answers are ignored\n", (int)N - 1);
    mproc_bytes_free(&ip);
    mproc_event_set(late);      /* the slow servers answer now */
    mproc_executor_destroy(ex); /* waits for them */
    for (size_t i = 0; i < N; i++)
        mproc_future_destroy(tasks[i]);
    mproc_event_destroy(late);
    return 0;
}
