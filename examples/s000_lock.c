/* Seed 000, 进程锁 Lock — 加锁 (with a lock): the same two children as s000_no_lock, each
 * adding its number to the count of a Manager dict {"count": 500} five times, 0.1 s apart,
 * but each holds a multiprocessing Lock for its whole task, so one child's five additions
 * all come before the other's (the seed: 进程锁保证了进程p1的完整运行，然后才进行了进程p2的
 * 运行) and the count always ends at 2000:
 *     {'count': 2000, 100: 1000000, 200: 8000000}
 * (200 first when child 200 got the lock first).
 *
 * Keys and values of a Manager dict are packs (MPROC_ARGS): the key "count" a STR, the
 * children's keys their data (I64), the values I64; mproc_mdict_repr gives the text Python
 * prints for the dict. The lock is the process-shared mproc_lock (multiprocessing.Lock), as in
 * the seed, not one of the manager's. */
#include "example.h"

MPROC_TASK_ARGS(process_task, out, long long, data, mproc_mdict *, share_data, mproc_lock *, lc)
{
    if (mproc_lock_acquire(lc, MPROC_FOREVER) != 0) /* 锁住 */
        return 1;
    int rc = mproc_mdict_set(share_data, MPROC_ARGS(data), MPROC_ARGS(data * data * data));
    for (int i = 0; i < 5 && rc == 0; i++) {
        sleep_ms(100);
        int64_t count; /* share_data["count"] += data: a get, then a set */
        if (!(rc = mproc_mdict_get_i64(share_data, MPROC_ARGS("count"), &count)) &&
            !(rc = mproc_mdict_set(share_data, MPROC_ARGS("count"), MPROC_ARGS(count + data))) &&
            !(rc = mproc_mdict_get_i64(share_data, MPROC_ARGS("count"), &count)))
            printf("share_data count is %lld \n", (long long)count);
    }
    mproc_lock_release(lc); /* 释放 */
    mproc_lock_destroy(lc);
    mproc_proxy_destroy(share_data);
    return rc != 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_manager *process_m;
    mproc_mdict *process_share_data;
    mproc_lock *lc;
    int64_t process_data[] = {100, 200};
    mproc_process *task_list[2];
    if (mproc_manager_start(&process_m, NULL) != 0 ||
        mproc_manager_dict(process_m, &process_share_data) != 0 ||
        mproc_mdict_set(process_share_data, MPROC_ARGS("count"), MPROC_ARGS(500)) != 0 ||
        mproc_lock_create(&lc) != 0)
        return 1;

    for (int i = 0; i < 2; i++) {
        mproc_process_opts opts = {.target = "process_task",
                                   .args = MPROC_ARGS(process_data[i], process_share_data, lc)};
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
    mproc_lock_destroy(lc);
    mproc_proxy_destroy(process_share_data);
    mproc_manager_destroy(process_m);
    return rc;
}
