/* Seed 001 §4, 进程之间内存空间互相隔离 (memory is isolated): the child sets its n to 0;
 * the parent still prints 100. */
#include "example.h"

static int n = 100;

MPROC_TASK_NOARGS(task, out)
{
    n = 0; /* the child's own copy */
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    if (mproc_process_run(&(mproc_process_opts){.target = "task"}, MPROC_FOREVER, NULL))
        return 1;
    printf("%d\n", n);
    return 0;
}
