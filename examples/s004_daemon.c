/* Seed 004 §3.6 (2) 方法1 (way 1): a daemon child is destroyed when the parent exits. */
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
        mproc_process_start_new(&sub_process,
                                &(mproc_process_opts){.target = "task", .daemon = true}) != 0)
        return 1;
    sleep_ms(500); /* 主进程延时0.5s */
    printf("over\n");
    return 0;
}
