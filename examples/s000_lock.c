/* Seed 000, 进程锁 Lock — 加锁 (with a lock): the same two children as s000_no_lock, but
 * each holds a Lock for its whole task, so one child's five additions all come before the
 * other's (the seed: 进程锁保证了进程p1的完整运行，然后才进行了进程p2的运行). The seed's
 * Manager dict is a shared Array here, as in s000_no_lock. */
#include "example.h"

enum { COUNT = 0, FIRST_PAIR = 1, MAX_KEYS = 2, DICT_LEN = FIRST_PAIR + 2 * MAX_KEYS };

/* share_data[key] = value */
static void dict_store(mproc_array *d, int64_t key, int64_t value)
{
    mproc_lock *l = mproc_array_lock(d);
    mproc_rlock_acquire(l, MPROC_FOREVER);
    for (size_t i = FIRST_PAIR; i < DICT_LEN; i += 2) {
        int64_t k = 0;
        mproc_array_get_i64(d, i, &k);
        if (k == 0 || k == key) {
            mproc_array_set_i64(d, i, key);
            mproc_array_set_i64(d, i + 1, value);
            break;
        }
    }
    mproc_rlock_release(l);
}

/* print(share_data): {'count': 2000, 100: 1000000, 200: 8000000} */
static void dict_print(mproc_array *d)
{
    int64_t v[DICT_LEN];
    mproc_array_read(d, 0, v, DICT_LEN);
    char line[256];
    int n = snprintf(line, sizeof line, "{'count': %lld", (long long)v[COUNT]);
    for (size_t i = FIRST_PAIR; i < DICT_LEN && v[i] != 0; i += 2)
        n += snprintf(line + n, sizeof line - (size_t)n, ", %lld: %lld", (long long)v[i],
                      (long long)v[i + 1]);
    printf("%s}\n", line);
}

MPROC_TASK(process_task, in, out)
{
    (void)out;
    mproc_unpacker u;
    int64_t data = 0;
    mproc_array *share_data;
    mproc_lock *lc;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_i64(&u, &data) != 0 || mproc_unpack_array(&u, &share_data) != 0 ||
        mproc_unpack_lock(&u, &lc) != 0)
        return 1;
    mproc_lock_acquire(lc, MPROC_FOREVER); /* 锁住 */
    dict_store(share_data, data, data * data * data);
    for (int i = 0; i < 5; i++) {
        sleep_ms(100);
        int64_t count = 0; /* share_data["count"] += data: a read, then a write */
        mproc_array_get_i64(share_data, COUNT, &count);
        mproc_array_set_i64(share_data, COUNT, count + data);
        mproc_array_get_i64(share_data, COUNT, &count);
        printf("share_data count is %lld \n", (long long)count);
    }
    mproc_lock_release(lc); /* 释放 */
    mproc_lock_destroy(lc);
    mproc_array_destroy(share_data);
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_array *process_share_data;
    if (mproc_array_create(&process_share_data, MPROC_T_LONGLONG, DICT_LEN, true) != 0)
        return 1;
    mproc_array_set_i64(process_share_data, COUNT, 500);
    mproc_lock *lc;
    if (mproc_lock_create(&lc) != 0)
        return 1;
    int64_t process_data[] = {100, 200};
    mproc_process *task_list[2];
    for (int i = 0; i < 2; i++) {
        mproc_pack *args;
        mproc_pack_create(&args);
        mproc_pack_i64(args, process_data[i]);
        mproc_pack_handle(args, process_share_data);
        mproc_pack_handle(args, lc);
        task_list[i] = start_process(&(mproc_process_opts){.target = "process_task", .args = args});
        mproc_pack_destroy(args);
    }
    for (int i = 0; i < 2; i++) {
        mproc_process_join(task_list[i], MPROC_FOREVER);
        mproc_process_destroy(task_list[i]);
    }
    dict_print(process_share_data);
    mproc_lock_destroy(lc);
    mproc_array_destroy(process_share_data);
    return 0;
}
