/* Seed 000, 守护进程 / 1. 不使用join (without join): the parent goes on; the child's line comes later, and the program still waits for it at exit. */
#include "example.h"

MPROC_TASK_ARGS(process_task, out, int64_t, data)
{
    count_down_like_python(data);
    printf("==============: 子进程结束\n");
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    double start_time = now_s();
    mproc_process *p;
    mproc_process_opts opts = {.target = "process_task", .args = MPROC_ARGS(100), .daemon = false};
    if (mproc_process_start_new(&p, &opts) != 0)
        return 1;

    printf("--------end\n");
    printf("-----耗时：%f \n", now_s() - start_time);
    return 0; /* at exit: non-daemon children are joined, daemon children terminated */
}
