/* Seed 004 §3.5, 进程执行带有参数的任务 (tasks with arguments): positional args, and
 * keyword args given in another order. */
#include "example.h"

MPROC_TASK(show_info_args, in, out)
{
    (void)out;
    mproc_unpacker u;
    const char *name;
    int64_t age;
    mproc_unpack_init(&u, in);
    mproc_unpack_str(&u, &name);
    mproc_unpack_i64(&u, &age);
    printf("名字为%s, 年龄为%lld\n", name, (long long)age);
    return 0;
}

MPROC_TASK(show_info_kwargs, in, out)
{
    (void)out;
    printf("名字为%s, 年龄为%s\n", kwarg(in, "name"), kwarg(in, "age"));
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_pack *args, *kwargs;
    mproc_pack_create(&args);
    mproc_pack_str(args, "Tom");
    mproc_pack_i64(args, 30);
    mproc_pack_create(&kwargs); /* kwargs={'age': 15, 'name': 'Jerry'} */
    mproc_pack_str(kwargs, "age");
    mproc_pack_str(kwargs, "15");
    mproc_pack_str(kwargs, "name");
    mproc_pack_str(kwargs, "Jerry");
    start_process(&(mproc_process_opts){.target = "show_info_args", .args = args});
    start_process(&(mproc_process_opts){.target = "show_info_kwargs", .args = kwargs});
    mproc_pack_destroy(args);
    mproc_pack_destroy(kwargs);
    return 0;
}
