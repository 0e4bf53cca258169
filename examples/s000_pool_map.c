/* Seed 000, 进程池 multiprocessing.Pool(), 3. map: map(process_task, info) over
 * info = [(v, 5) for v in [100, 200, 300]] blocks until every task has run (它会使进程阻塞
 * 直到结果返回); then close() and join().
 *
 * Each item is the tuple (v, 5), and the seed's task takes it as one argument and unpacks
 * it itself (data, length = info). So each item here is a nested pack (v, 5), map gives
 * the task a pack of that one field, and the task reads it as a nested pack (mproc_unpacker): the same
 * task as the seed's. starmap would instead call process_task(v, 5), a task of two
 * arguments, which is not the seed's function. The seed's time.sleep(1) is 0.1 s here. */
#include "example.h"

enum { SECOND_MS = 100 }; /* the seed's second */

MPROC_TASK_ARGS(process_task, out, mproc_unpacker, info)
{
    int64_t data, length; /* data, length = info */
    if (mproc_unpack_i64(&info, &data) != 0 || mproc_unpack_i64(&info, &length) != 0)
        return mproc_task_fail(out, "process_task wants one (data, length) pair");
    printf("测试多进程任务：%lld, 当前进程号：%lld, 父进程号为: %lld\n", (long long)data,
           (long long)mproc_getpid(), (long long)mproc_getppid());
    volatile long long res = data * data * data; /* volatile: the loop is the work, keep it */
    while (res > 0)
        res -= 1;
    printf("多进程任务结束：%lld, 当前进程号为: %lld\n", (long long)data,
           (long long)mproc_getpid());
    sleep_ms(SECOND_MS);
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    double start_time = now_s();
    mproc_pool *process_pool;
    mproc_pack *info;
    if (mproc_pool_create(&process_pool, NULL) != 0 || mproc_pack_create(&info) != 0)
        return 1;
    int64_t process_data[] = {100, 200, 300};

    printf("主进程:%lld, 父进程:%lld\n", (long long)mproc_getpid(), (long long)mproc_getppid());
    for (int i = 0; i < 3; i++) /* info = [(v, 5) for v in process_data] */
        if (MPROC_PACK(info, MPROC_ARGS(process_data[i], 5)) != 0)
            return 1;

    mproc_bytes results[3]; /* three Nones: empty, freed all the same */
    if (mproc_pool_map(process_pool, "process_task", info, 0, MPROC_FOREVER, results, 3) != 0)
        return 1;
    mproc_bytes_free_array(results, 3);
    mproc_pack_destroy(info);

    if (mproc_pool_close(process_pool) != 0 || mproc_pool_join(process_pool, MPROC_FOREVER) != 0)
        return 1;
    printf("user_time: %f \n", now_s() - start_time);
    mproc_pool_destroy(process_pool);
    return 0;
}
