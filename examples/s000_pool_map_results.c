/* Seed 000, 进程池 multiprocessing.Pool(), 4. 进程中的返回值, map 返回的结果放到一个列表中:
 * res = map(process_task, [(v, 5) for v in [100, 200, 300]]) holds the three return values
 * data**3 in the order of the items; after close and join, print(res) shows the list.
 *
 * As in s000_pool_map, each item is the tuple (v, 5) as a nested pack, which the task
 * unpacks itself (data, length = info). A task's result is bytes: here the 8 bytes of an
 * int64_t (worker and parent are the same program on the same machine). The seed's
 * time.sleep(1) is 0.1 s here, to keep the run short. */
#include "example.h"

enum { SECOND_MS = 100 }; /* the seed's second */

MPROC_TASK(process_task, in, out)
{
    mproc_unpacker u, info;
    int64_t data, length;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_pack(&u, &info) != 0 || mproc_unpack_i64(&info, &data) != 0 ||
        mproc_unpack_i64(&info, &length) != 0) /* data, length = info */
        return mproc_task_fail(out, "process_task wants one (data, length) pair");
    printf("测试多进程任务：%lld, 当前进程号：%lld, 父进程号为: %lld\n", (long long)data,
           (long long)mproc_getpid(), (long long)mproc_getppid());
    volatile int64_t res = data * data * data; /* volatile: the loop is the work, keep it */
    while (res > 0)
        res -= 1;
    printf("多进程任务结束：%lld, 当前进程号为: %lld\n", (long long)data,
           (long long)mproc_getpid());
    sleep_ms(SECOND_MS);
    int64_t cube = data * data * data; /* return data ** 3 */
    if (MPROC_PACK(out, cube) != 0)
        return mproc_task_fail(out, "out of memory");
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    double start_time = now_s();
    mproc_pool *process_pool;
    int rc = mproc_pool_create(&process_pool, NULL); /* Pool() */
    if (rc != 0) {
        fprintf(stderr, "Pool(): %s\n", mproc_strerror(rc));
        return 1;
    }
    int64_t process_data[] = {100, 200, 300};

    printf("主进程:%lld, 父进程:%lld\n", (long long)mproc_getpid(), (long long)mproc_getppid());
    /* info = [(v, 5) for v in process_data] */
    mproc_pack *info = NULL, *pair = NULL;
    if ((rc = mproc_pack_create(&info)) == 0)
        rc = mproc_pack_create(&pair);
    for (int i = 0; i < 3 && rc == 0; i++) {
        if ((rc = mproc_pack_reset(pair)) == 0 &&
            (rc = mproc_pack_i64(pair, process_data[i])) == 0 &&
            (rc = mproc_pack_i64(pair, 5)) == 0)
            rc = mproc_pack_pack(info, pair);
    }
    mproc_bytes res[3] = {{0}};
    if (rc == 0) {
        rc = mproc_pool_map(process_pool, "process_task", info, 0, MPROC_FOREVER, res, 3);
        if ((rc == MPROC_ETASK || rc == MPROC_EWORKER) && res[0].data)
            fprintf(stderr, "map: %s\n", (const char *)res[0].data); /* the error text */
    }
    if (rc != 0)
        fprintf(stderr, "map failed: %s\n", mproc_strerror(rc));
    mproc_pack_destroy(pair);
    mproc_pack_destroy(info);

    int rc2 = mproc_pool_close(process_pool);
    if (rc2 == 0)
        rc2 = mproc_pool_join(process_pool, MPROC_FOREVER);
    if (rc2 != 0) {
        fprintf(stderr, "close/join: %s\n", mproc_strerror(rc2));
        rc = rc2;
    }

    if (rc == 0) { /* print(res) */
        printf("[");
        for (int i = 0; i < 3; i++) {
            int64_t cube = 0;
            if (MPROC_UNPACK(&res[i], &cube) != 0)
                rc = MPROC_EINVAL;
            printf("%s%lld", i ? ", " : "", (long long)cube);
        }
        printf("]\n");
    }
    mproc_bytes_free_array(res, 3);

    printf("user_time: %f \n", now_s() - start_time);
    mproc_pool_destroy(process_pool);
    return rc == 0 ? 0 : 1;
}
