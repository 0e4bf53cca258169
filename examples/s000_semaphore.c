/* Seed 000, 信号量 Semaphore: five children count data**3 down to zero, but a
 * Semaphore(3) lets at most three of them work at a time; the others wait at acquire. */
#include "example.h"

MPROC_TASK_ARGS(process_task, out, long long, data, mproc_sem *, sem)
{
    printf("--------data: %lld enter work\n", data);
    if (mproc_sem_acquire(sem, MPROC_FOREVER) != 0)
        return 1;
    printf("data: %lld start work\n", data);
    volatile long long res = data * data * data;
    while (res > 0)
        res -= 1;
    printf("data: %lld done work\n", data);
    mproc_sem_release(sem);
    mproc_sem_destroy(sem);
    return 0; /* return data ** 3: a Process has no one to give it to */
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
        mproc_process_opts opts = {.target = "process_task",
                                   .args = MPROC_ARGS(process_data[i], sem)};
        if (mproc_process_start_new(&task_list[i], &opts) != 0)
            return 1;
    }
    for (int i = 0; i < 5; i++) {
        mproc_process_join(task_list[i], MPROC_FOREVER);
        mproc_process_destroy(task_list[i]);
    }
    mproc_sem_destroy(sem);
    return 0;
}
