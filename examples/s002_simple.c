/* Seed 002, 一个简单的例子 (a simple example): the child prints its argument and pids; the
 * parent joins it and prints its name, Process-1. */
#include "example.h"

MPROC_TASK_ARGS(worker, out, const char *, name)
{
    printf("%s\n", name);
    printf("parent pid = %lld\n", (long long)mproc_getppid());
    printf("current pid = %lld\n", (long long)mproc_getpid());
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_process *p;
    if (mproc_process_start_new(
            &p, &(mproc_process_opts){.target = "worker", .args = MPROC_ARGS("func worker")}))
        return 1;
    mproc_process_join(p, MPROC_FOREVER);
    printf("%s\n", mproc_process_name(p));
    return 0;
}
