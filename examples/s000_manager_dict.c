/* Seed 000, 3. Managers — Managers实现数据共享 (a Manager dict shared by three children):
 * Queue and Pipe move data between processes, a Manager shares it. The main process
 * starts a manager (a server process) and makes a dict {"count": 10} in it; each of three
 * children, for data 100, 200 and 300, takes one from count and stores data**3 under
 * data; the main process prints the dict at the end:
 *     {'count': 7, 100: 1000000, 200: 8000000, 300: 27000000}
 * (the three data keys in the order the children stored them).
 *
 * Keys and values of a Manager dict are packs (MPROC_ARGS): the key "count" a STR, the
 * children's keys their data (I64), the values I64; mproc_mdict_repr gives the text Python
 * prints for the dict.
 *
 * share_data["count"] -= 1 is two calls to the manager in Python (a get, then a set), so
 * two children doing it at the same moment can lose one; mproc_mdict_add_i64 does it in
 * one step on the server, so count always ends at 7 (s000_no_lock shows the two calls
 * racing). The seed's unused queue argument is kept. */
#include "example.h"

MPROC_TASK_ARGS(process_task, out, long long, data, mproc_queue *, queue, mproc_mdict *, share_data)
{
    printf("测试多进程任务：%lld, 当前进程号：%lld, 父进程号为: %lld\n", data,
           (long long)mproc_getpid(), (long long)mproc_getppid());
    volatile long long res = data * data * data;
    if (mproc_mdict_add_i64(share_data, MPROC_ARGS("count"), -1, NULL) != 0 || /* -= 1 */
        mproc_mdict_set(share_data, MPROC_ARGS(data), MPROC_ARGS(res)) != 0)
        return 1;
    while (res > 0)
        res -= 1;
    printf("多进程任务结束：%lld, 当前进程号为: %lld\n", data, (long long)mproc_getpid());
    mproc_proxy_destroy(share_data);
    mproc_queue_destroy(queue);
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_manager *process_m;
    mproc_mdict *process_share_data;
    int64_t process_data[] = {100, 200, 300};
    mproc_process *task_list[3];
    mproc_queue *queue;
    if (mproc_manager_start(&process_m, NULL) != 0 ||
        mproc_manager_dict(process_m, &process_share_data) != 0 ||
        mproc_mdict_set(process_share_data, MPROC_ARGS("count"), MPROC_ARGS(10)) != 0 ||
        mproc_queue_create(&queue, 0) != 0)
        return 1;

    printf("主进程:%lld, 父进程:%lld\n", (long long)mproc_getpid(), (long long)mproc_getppid());

    for (int i = 0; i < 3; i++) {
        mproc_process_opts opts = {.target = "process_task",
                                   .args = MPROC_ARGS(process_data[i], queue, process_share_data)};
        if (mproc_process_start_new(&task_list[i], &opts) != 0)
            return 1;
    }
    for (int i = 0; i < 3; i++) {
        mproc_process_join(task_list[i], MPROC_FOREVER);
        mproc_process_destroy(task_list[i]);
    }
    mproc_bytes text;
    int rc = mproc_mdict_repr(process_share_data, &text);
    if (rc == 0)
        printf("%s\n", (const char *)text.data); /* print(process_share_data) */
    mproc_bytes_free(&text);
    mproc_queue_destroy(queue);
    mproc_proxy_destroy(process_share_data);
    mproc_manager_destroy(process_m);
    return rc;
}
