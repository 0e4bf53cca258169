/* Seed 001 §2, 开启进程的方式 (starting a process, with kwargs): the parent prints 主 at
 * once; the program still ends only after the child is done. */
#include "example.h"

MPROC_TASK_ARGS(task, out, const char *, name)
{
    printf("%s is running\n", name);
    sleep_ms(3000);
    printf("%s is done\n", name);
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    /* kwargs={'name': '大海'}: a C task takes its arguments by position */
    mproc_process *p;
    if (mproc_process_start_new(
            &p, &(mproc_process_opts){.target = "task", .args = MPROC_ARGS("大海")}))
        return 1;
    printf("主\n");
    return 0;
}
