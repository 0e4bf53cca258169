/* Seed 001 §2, 开启进程的方式 (starting a process, with kwargs): the parent prints 主 at
 * once; the program still ends only after the child is done. */
#include "example.h"

MPROC_TASK(task, in, out)
{
    (void)out;
    const char *name = kwarg(in, "name");
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
    mproc_pack *kwargs; /* kwargs={'name': '大海'} */
    mproc_pack_create(&kwargs);
    mproc_pack_str(kwargs, "name");
    mproc_pack_str(kwargs, "大海");
    start_process(&(mproc_process_opts){.target = "task", .args = kwargs});
    mproc_pack_destroy(kwargs);
    printf("主\n");
    return 0;
}
