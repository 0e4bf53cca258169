/* Seed 000, 进程池 multiprocessing.Pool(), 4. 进程中的返回值, map 返回的结果放到一个列表中:
 * res = map(process_task, [(v, 5) for v in [100, 200, 300]]) holds the three return values
 * data**3 in the order of the items; after close and join, print(res) shows the list.
 *
 * As in s000_pool_map, each item is the tuple (v, 5) as a nested pack, which the task
 * unpacks itself (data, length = info). Each result is a pack of the one integer, read with
 * MPROC_UNPACK. The seed's time.sleep(1) is 0.1 s here, to keep the run short. */
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
    return MPROC_PACK(out, data * data * data) != 0; /* return data ** 3 */
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
    mproc_bytes res[3];
    if (mproc_pool_map(process_pool, "process_task", info, 0, MPROC_FOREVER, res, 3) != 0)
        return 1;
    mproc_pack_destroy(info);

    if (mproc_pool_close(process_pool) != 0 || mproc_pool_join(process_pool, MPROC_FOREVER) != 0)
        return 1;

    for (int i = 0; i < 3; i++) { /* print(res) */
        int64_t cube;
        if (MPROC_UNPACK(&res[i], &cube) != 0)
            return 1;
        printf("%s%lld", i ? ", " : "[", (long long)cube);
    }
    printf("]\n");
    mproc_bytes_free_array(res, 3);

    printf("user_time: %f \n", now_s() - start_time);
    mproc_pool_destroy(process_pool);
    return 0;
}
