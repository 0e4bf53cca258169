/* Seed 000, 多进程实现方式2 (subclassing Process): C has no classes, so "MyProcess" is a
 * small struct whose run() is a task and whose fields travel in the argument pack. */
#include "example.h"

typedef struct my_process {
    int64_t data;
    mproc_process *process;
} my_process;

/* MyProcess.run */
MPROC_TASK_ARGS(my_process_run, out, long long, data)
{
    printf("测试多进程任务：%lld, 当前进程号：%lld, 父进程号为: %lld\n", data,
           (long long)mproc_getpid(), (long long)mproc_getppid());
    volatile long long res = data * data * data;
    while (res > 0)
        res -= 1;
    printf("多进程任务结束：%lld, 当前进程号为: %lld\n", data, (long long)mproc_getpid());
    return 0;
}

/* MyProcess(data).start() */
static int my_process_start(my_process *self, int64_t data)
{
    self->data = data;
    mproc_process_opts opts = {.target = "my_process_run", .args = MPROC_ARGS(self->data)};
    return mproc_process_start_new(&self->process, &opts);
}

/* MyProcess.main */
int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    int64_t process_data[] = {100, 200, 300};
    my_process task_list[3];

    printf("主进程:%lld, 父进程:%lld\n", (long long)mproc_getpid(), (long long)mproc_getppid());

    for (int i = 0; i < 3; i++)
        if (my_process_start(&task_list[i], process_data[i]) != 0)
            return 1;
    for (int i = 0; i < 3; i++) {
        mproc_process_join(task_list[i].process, MPROC_FOREVER);
        mproc_process_destroy(task_list[i].process);
    }
    return 0;
}
