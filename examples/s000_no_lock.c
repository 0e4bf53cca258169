/* Seed 000, 进程锁 Lock — 不加锁 (no lock): two children, for 100 and 200, each store
 * data**3 in a Manager dict {"count": 500} and then add their number to count five
 * times, 0.1 s apart, printing count after each addition. With nothing to keep them
 * apart, their additions interleave (the seed: 进程1和进程2在相互抢着使用共享内存v).
 * share_data["count"] += data is two calls to the manager, a get and then a set, as in
 * Python, so an addition can even be lost when both children do it at the same moment.
 *
 * Keys and values of a Manager dict are packs (MPROC_ARGS): the key "count" a STR, the
 * children's keys their data (I64), the values I64; mproc_mdict_repr gives the text Python
 * prints for the dict: {'count': 2000, 100: 1000000, 200: 8000000}. */
#include "example.h"

MPROC_TASK_ARGS(process_task, out, long long, data, mproc_mdict *, share_data)
{
    if (mproc_mdict_set(share_data, MPROC_ARGS(data), MPROC_ARGS(data * data * data)) != 0)
        return 1;
    for (int i = 0; i < 5; i++) {
        sleep_ms(100);
        int64_t count; /* share_data["count"] += data: a get, then a set */
        if (mproc_mdict_get_i64(share_data, MPROC_ARGS("count"), &count) != 0 ||
            mproc_mdict_set(share_data, MPROC_ARGS("count"), MPROC_ARGS(count + data)) != 0 ||
            mproc_mdict_get_i64(share_data, MPROC_ARGS("count"), &count) != 0)
            return 1;
        printf("share_data count is %lld \n", (long long)count);
    }
    mproc_proxy_destroy(share_data);
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_manager *process_m;
    mproc_mdict *process_share_data;
    int64_t process_data[] = {100, 200};
    mproc_process *task_list[2];
    if (mproc_manager_start(&process_m, NULL) != 0 ||
        mproc_manager_dict(process_m, &process_share_data) != 0 ||
        mproc_mdict_set(process_share_data, MPROC_ARGS("count"), MPROC_ARGS(500)) != 0)
        return 1;

    for (int i = 0; i < 2; i++) {
        mproc_process_opts opts = {.target = "process_task",
                                   .args = MPROC_ARGS(process_data[i], process_share_data)};
        if (mproc_process_start_new(&task_list[i], &opts) != 0)
            return 1;
    }
    for (int i = 0; i < 2; i++) {
        mproc_process_join(task_list[i], MPROC_FOREVER);
        mproc_process_destroy(task_list[i]);
    }
    mproc_bytes text;
    int rc = mproc_mdict_repr(process_share_data, &text);
    if (rc == 0)
        printf("%s\n", (const char *)text.data); /* print(process_share_data) */
    mproc_bytes_free(&text);
    mproc_proxy_destroy(process_share_data);
    mproc_manager_destroy(process_m);
    return rc;
}
