/* Seed 001 §6, 守护进程 (daemon): the emperor and the eunuch die together. The daemon child
 * is terminated when the parent ends, so 老太监正常死亡 never shows. */
#include "example.h"

MPROC_TASK(task, in, out)
{
    (void)out;
    mproc_unpacker u;
    const char *name;
    mproc_unpack_init(&u, in);
    mproc_unpack_str(&u, &name);
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
    mproc_pack *args;
    mproc_pack_create(&args);
    mproc_pack_str(args, "老太监");
    start_process(&(mproc_process_opts){.target = "task", .args = args, .daemon = true});
    mproc_pack_destroy(args);
    sleep_ms(1000);
    printf("皇帝正在死亡\n");
    return 0;
}
