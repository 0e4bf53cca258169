/* Seed 002, 一个简单的例子 (a simple example): the child prints its argument and pids; the
 * parent joins it and prints its name, Process-1. */
#include "example.h"

MPROC_TASK(worker, in, out)
{
    (void)out;
    mproc_unpacker u;
    const char *name;
    mproc_unpack_init(&u, in);
    mproc_unpack_str(&u, &name);
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
    mproc_pack *args;
    mproc_pack_create(&args);
    mproc_pack_str(args, "func worker");
    mproc_process *p = start_process(&(mproc_process_opts){.target = "worker", .args = args});
    mproc_process_join(p, MPROC_FOREVER);
    printf("%s\n", mproc_process_name(p));
    mproc_process_destroy(p);
    mproc_pack_destroy(args);
    return 0;
}
