/* Seed 000, 信号量 Semaphore: five children count data**3 down to zero, but a
 * Semaphore(3) lets at most three of them work at a time; the others wait at acquire. */
#include "example.h"

MPROC_TASK(process_task, in, out)
{
    (void)out;
    mproc_unpacker u;
    int64_t data = 0;
    mproc_sem *sem;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_i64(&u, &data) != 0 || mproc_unpack_sem(&u, &sem) != 0)
        return 1;
    printf("--------data: %lld enter work\n", (long long)data);
    mproc_sem_acquire(sem, MPROC_FOREVER);
    printf("data: %lld start work\n", (long long)data);
    volatile int64_t res = data * data * data;
    while (res > 0)
        res -= 1;
    printf("data: %lld done work\n", (long long)data);
    mproc_sem_release(sem);
    mproc_sem_destroy(sem);
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    int64_t process_data[] = {100, 200, 300, 400, 500};
    mproc_sem *sem;
    if (mproc_sem_create(&sem, 3) != 0)
        return 1;
    mproc_process *task_list[5];
    for (int i = 0; i < 5; i++) {
        mproc_pack *args;
        mproc_pack_create(&args);
        mproc_pack_i64(args, process_data[i]);
        mproc_pack_handle(args, sem);
        task_list[i] = start_process(&(mproc_process_opts){.target = "process_task", .args = args});
        mproc_pack_destroy(args);
    }
    for (int i = 0; i < 5; i++) {
        mproc_process_join(task_list[i], MPROC_FOREVER);
        mproc_process_destroy(task_list[i]);
    }
    mproc_sem_destroy(sem);
    return 0;
}
