/* Seed 004 §3.6 (2) 方法2 (way 2): terminate the child before the parent exits. */
#include "example.h"

MPROC_TASK_NOARGS(task, out)
{
    for (int i = 0; i < 10; i++) {
        printf("任务执行中..\n");
        sleep_ms(100);
    }
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    mproc_process *sub_process;
    if (mproc_init(&argc, &argv) != 0 ||
        mproc_process_start_new(&sub_process, &(mproc_process_opts){.target = "task"}) != 0)
        return 1;
    sleep_ms(500);                        /* 主进程延时0.5s */
    mproc_process_terminate(sub_process); /* 退出主进程之前，让子进程销毁 */
    printf("over\n");
    return 0;
}
