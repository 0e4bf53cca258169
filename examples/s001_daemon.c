/* Seed 001 §6, 守护进程 (daemon): the emperor and the eunuch die together. The daemon child
 * is terminated when the parent ends, so 老太监正常死亡 never shows. */
#include "example.h"

MPROC_TASK_ARGS(task, out, const char *, name)
{
    printf("%s活着\n", name);
    sleep_ms(3000);
    printf("%s正常死亡\n", name);
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_process *p1;
    if (mproc_process_start_new(
            &p1,
            &(mproc_process_opts){.target = "task", .args = MPROC_ARGS("老太监"), .daemon = true}))
        return 1;
    sleep_ms(1000);
    printf("皇帝正在死亡\n");
    return 0;
}
