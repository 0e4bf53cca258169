/* Seed 003 §1.6 1, 关于进程安全的补充说明 (i+=1 is not atomic): five children add 1 to a
 * Value("i", 0) a thousand times each. value.value += 1 is a read, then a write, each
 * under the value's lock but not together, so additions get lost and the total may come
 * out below 5000 (the seed got 2153); with value.get_lock() held around both it is always
 * 5000. A thousand additions take C a few microseconds, less than starting a process, so
 * the children first wait at a Barrier until all five run, to count at the same time as
 * the seed's slower Python children did. Only the main process prints, so stdout needs no
 * line buffering. */
#include "example.h"

MPROC_TASK_ARGS(proc_test1, out, mproc_value *, value, mproc_barrier *, all_started)
{
    if (mproc_barrier_wait(all_started, MPROC_FOREVER) < 0)
        return 1;
    for (int i = 0; i < 1000; i++) {
        int64_t v; /* value.value += 1 */
        if (mproc_value_get_i64(value, &v) != 0 || mproc_value_set_i64(value, v + 1) != 0)
            return 1;
    }
    return 0; /* the handles are closed as the child exits, as in Python */
}

/* 官方案例：(Lock可以使用with托管) */
MPROC_TASK_ARGS(proc_test1_with_lock, out, mproc_value *, value, mproc_barrier *, all_started)
{
    mproc_lock *lock = mproc_value_lock(value); /* the value's own RLock */
    if (mproc_barrier_wait(all_started, MPROC_FOREVER) < 0)
        return 1;
    for (int i = 0; i < 1000; i++) {
        int64_t v; /* with value.get_lock(): value.value += 1 */
        if (mproc_rlock_acquire(lock, MPROC_FOREVER) != 0 || mproc_value_get_i64(value, &v) != 0 ||
            mproc_value_set_i64(value, v + 1) != 0 || mproc_rlock_release(lock) != 0)
            return 1;
    }
    return 0;
}

static int count_with(const char *target)
{
    mproc_value *value;
    mproc_barrier *all_started;
    mproc_process *p_list[5];
    int64_t v;
    if (mproc_value_create(&value, MPROC_T_INT, true) != 0 ||
        mproc_barrier_create(&all_started, &(mproc_barrier_opts){.parties = 5}) != 0)
        return 1;
    const mproc_pack *args = MPROC_ARGS(value, all_started);
    for (int i = 0; i < 5; i++) /* 批量启动 */
        if (mproc_process_start_new(&p_list[i],
                                    &(mproc_process_opts){.target = target, .args = args}))
            return 1;
    for (int i = 0; i < 5; i++) /* 批量资源回收 */
        if (mproc_process_join(p_list[i], MPROC_FOREVER) != 0 || mproc_process_destroy(p_list[i]))
            return 1;
    if (mproc_value_get_i64(value, &v) != 0)
        return 1;
    printf("%lld\n", (long long)v);
    mproc_barrier_destroy(all_started);
    mproc_value_destroy(value);
    return 0;
}

int main(int argc, char **argv)
{
    /* 理论上应该是:5×1000=5000; then 5000 */
    return mproc_init(&argc, &argv) != 0 || count_with("proc_test1") != 0 ||
           count_with("proc_test1_with_lock") != 0;
}
