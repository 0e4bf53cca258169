/* Seed 000, 单进程 (a single process): start one child that counts down data**3 and join it. */
#include "example.h"

MPROC_TASK_ARGS(process_task, out, int64_t, data)
{
    count_down_like_python(data);
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    double start_time = now_s();
    mproc_process_opts opts = {.target = "process_task", .args = MPROC_ARGS(100), .daemon = false};
    if (mproc_process_run(&opts, MPROC_FOREVER, NULL) != 0) /* p.start(); p.join() */
        return 1;

    printf("--------end\n");
    printf("-----耗时：%f \n", now_s() - start_time);
    return 0;
}
