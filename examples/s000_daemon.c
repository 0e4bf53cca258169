/* Seed 000, 守护进程实现 (daemon): the parent ends at once and its daemon child is terminated with it, so the child's line never shows. */
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
    mproc_process_opts opts = {.target = "process_task", .args = MPROC_ARGS(100), .daemon = true};
    if (mproc_process_start_new(&p, &opts) != 0)
        return 1;

    printf("--------end\n");
    printf("-----耗时：%f \n", now_s() - start_time);
    return 0; /* at exit: non-daemon children are joined, daemon children terminated */
}
