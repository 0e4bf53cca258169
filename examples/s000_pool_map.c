/* Seed 000, 进程池 multiprocessing.Pool(), 3. map: map(process_task, info) over
 * info = [(v, 5) for v in [100, 200, 300]] blocks until every task has run (它会使进程阻塞
 * 直到结果返回); then close() and join().
 *
 * Each item is the tuple (v, 5), and the seed's task takes it as one argument and unpacks
 * it itself (data, length = info). So each item here is a nested pack (v, 5), map gives
 * the task a pack of that one field, and the task opens it with mproc_unpack_pack: the same
 * task as the seed's. starmap would instead call process_task(v, 5), a task of two
 * arguments, which is not the seed's function. The seed's time.sleep(1) is 0.1 s here. */
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
    /* info = [(v, 5) for v in process_data]: a pack of three nested packs */
    mproc_pack *info = NULL, *pair = NULL;
    if ((rc = mproc_pack_create(&info)) == 0)
        rc = mproc_pack_create(&pair);
    for (int i = 0; i < 3 && rc == 0; i++) {
        if ((rc = mproc_pack_reset(pair)) == 0 &&
            (rc = mproc_pack_i64(pair, process_data[i])) == 0 &&
            (rc = mproc_pack_i64(pair, 5)) == 0)
            rc = mproc_pack_pack(info, pair); /* copied as it is now */
    }

    mproc_bytes results[3] = {{0}}; /* three Nones: empty, freed all the same */
    if (rc == 0) {
        rc = mproc_pool_map(process_pool, "process_task", info, 0, MPROC_FOREVER, results, 3);
        if ((rc == MPROC_ETASK || rc == MPROC_EWORKER) && results[0].data)
            fprintf(stderr, "map: %s\n", (const char *)results[0].data); /* the error text */
        mproc_bytes_free_array(results, 3);
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
    printf("user_time: %f \n", now_s() - start_time);
    mproc_pool_destroy(process_pool);
    return rc == 0 ? 0 : 1;
}
