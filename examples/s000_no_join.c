/* Seed 000, 守护进程 / 1. 不使用join (without join): the parent goes on; the child's line comes later, and the program still waits for it at exit. */
#include "example.h"

MPROC_TASK(process_task, in, out)
{
    (void)out;
    mproc_unpacker u;
    int64_t data = 0;
    mproc_unpack_init(&u, in);
    mproc_unpack_i64(&u, &data);
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
    mproc_pack *args;
    mproc_pack_create(&args);
    mproc_pack_i64(args, 100);
    mproc_process *p = start_process(
        &(mproc_process_opts){.target = "process_task", .args = args, .daemon = false});

    printf("--------end\n");
    printf("-----耗时：%f \n", now_s() - start_time);
    mproc_pack_destroy(args);
    (void)p;
    return 0; /* at exit: non-daemon children are joined, daemon children terminated */
}
