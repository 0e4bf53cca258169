/* Seed 003 §1.6 1, 关于进程安全的补充说明 (i+=1 is not atomic): five children add 1 to a
 * Value("i", 0) a thousand times each. value.value += 1 is a read, then a write, each
 * under the value's lock but not together, so additions get lost and the total may come
 * out below 5000 (the seed got 2153); with value.get_lock() held around both it is always
 * 5000. A thousand additions take C a few microseconds, less than starting a process, so
 * the children first wait at a Barrier until all five run, to count at the same time as
 * the seed's slower Python children did. */
#include "example.h"

static int unpack_args(const mproc_bytes *in, mproc_value **value, mproc_barrier **all_started)
{
    mproc_unpacker u;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_value(&u, value) != 0)
        return 1;
    if (mproc_unpack_barrier(&u, all_started) != 0) {
        mproc_value_destroy(*value);
        return 1;
    }
    mproc_barrier_wait(*all_started, MPROC_FOREVER);
    return 0;
}

MPROC_TASK(proc_test1, in, out)
{
    (void)out;
    mproc_value *value;
    mproc_barrier *all_started;
    if (unpack_args(in, &value, &all_started) != 0)
        return 1;
    for (int i = 0; i < 1000; i++) {
        int64_t v = 0; /* value.value += 1 */
        mproc_value_get_i64(value, &v);
        mproc_value_set_i64(value, v + 1);
    }
    mproc_barrier_destroy(all_started);
    mproc_value_destroy(value);
    return 0;
}

/* 官方案例：(Lock可以使用with托管) */
MPROC_TASK(proc_test1_with_lock, in, out)
{
    (void)out;
    mproc_value *value;
    mproc_barrier *all_started;
    if (unpack_args(in, &value, &all_started) != 0)
        return 1;
    mproc_lock *lock = mproc_value_lock(value); /* the value's own RLock */
    for (int i = 0; i < 1000; i++) {
        mproc_rlock_acquire(lock, MPROC_FOREVER); /* with value.get_lock(): */
        int64_t v = 0;
        mproc_value_get_i64(value, &v);
        mproc_value_set_i64(value, v + 1);
        mproc_rlock_release(lock);
    }
    mproc_barrier_destroy(all_started);
    mproc_value_destroy(value);
    return 0;
}

static void count_with(const char *target)
{
    mproc_value *value;
    mproc_barrier *all_started;
    if (mproc_value_create(&value, 'i', true) != 0 ||
        mproc_barrier_create(&all_started, &(mproc_barrier_opts){.parties = 5}) != 0)
        exit(1);
    mproc_pack *args;
    mproc_pack_create(&args);
    mproc_pack_handle(args, value);
    mproc_pack_handle(args, all_started);
    mproc_process *p_list[5];
    for (int i = 0; i < 5; i++) /* 批量启动 */
        p_list[i] = start_process(&(mproc_process_opts){.target = target, .args = args});
    mproc_pack_destroy(args);
    for (int i = 0; i < 5; i++) { /* 批量资源回收 */
        mproc_process_join(p_list[i], MPROC_FOREVER);
        mproc_process_destroy(p_list[i]);
    }
    int64_t v = 0;
    mproc_value_get_i64(value, &v);
    printf("%lld\n", (long long)v);
    mproc_barrier_destroy(all_started);
    mproc_value_destroy(value);
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    count_with("proc_test1");           /* 理论上应该是:5×1000=5000 */
    count_with("proc_test1_with_lock"); /* 5000 */
    return 0;
}
