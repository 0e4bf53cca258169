/* Seed 002, 给子进程命名 (naming children): three worker1 runs one after the other, then one
 * worker2; each prints its own pid and the parent prints the child's name. */
#include "example.h"

MPROC_TASK_NOARGS(worker1, out)
{
    printf("this is worker1 func\n");
    printf("current pid = %lld\n", (long long)mproc_getpid());
    return 0;
}

MPROC_TASK_NOARGS(worker2, out)
{
    printf("this is worker2 func\n");
    printf("current pid = %lld\n", (long long)mproc_getpid());
    return 0;
}

/* Process(name=name, target=target): start, join, print its name */
static int run_named(const char *name, const char *target)
{
    mproc_process *p;
    if (mproc_process_start_new(&p, &(mproc_process_opts){.name = name, .target = target}))
        return 1;
    mproc_process_join(p, MPROC_FOREVER);
    printf("child process name = %s\n", mproc_process_name(p));
    return mproc_process_destroy(p);
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    printf("parent pid = %lld\n", (long long)mproc_getppid());
    int rc = 0;
    for (int n = 0; n < 3 && rc == 0; n++)
        rc = run_named("worker1", "worker1");
    return rc || run_named("worker2", "worker2");
}
