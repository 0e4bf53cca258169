/* Seed 004 §3.5, 进程执行带有参数的任务 (tasks with arguments): positional args, and
 * keyword args given in another order. */
#include "example.h"

MPROC_TASK_ARGS(show_info_args, out, const char *, name, int64_t, age)
{
    printf("名字为%s, 年龄为%lld\n", name, (long long)age);
    return 0;
}

/* Python's kwargs, which C has not: (key, value) pairs of strings in a pack, in any order,
 * matched by key. */
MPROC_TASK(show_info_kwargs, in, out)
{
    const char *name = NULL, *age = NULL, *key, *value;
    mproc_unpacker u;
    mproc_unpack_init(&u, in);
    while (mproc_unpack_str(&u, &key) == 0 && mproc_unpack_str(&u, &value) == 0) {
        if (strcmp(key, "name") == 0)
            name = value;
        else if (strcmp(key, "age") == 0)
            age = value;
    }
    if (name == NULL || age == NULL)
        return mproc_task_fail(out, "show_info_kwargs() wants name= and age=");
    printf("名字为%s, 年龄为%s\n", name, age);
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    mproc_process_opts args = {.target = "show_info_args", .args = MPROC_ARGS("Tom", 30)};
    /* kwargs={'age':15, 'name':'Jerry'}; a value travels as its text */
    mproc_process_opts kwargs = {.target = "show_info_kwargs",
                                 .args = MPROC_ARGS("age", "15", "name", "Jerry")};
    mproc_process *sub_process_args, *sub_process_kwargs;
    if (mproc_init(&argc, &argv) != 0 || mproc_process_start_new(&sub_process_args, &args) != 0 ||
        mproc_process_start_new(&sub_process_kwargs, &kwargs) != 0)
        return 1;
    return 0;
}
