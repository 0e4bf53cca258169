/* Seed 004 §3.6 (1), 进程之间不共享全局变量 (no shared globals): the add child fills its own
 * list; the parent and the read child still see an empty one. */
#include "example.h"

static int g_list[16], g_len; /* 全局变量 */

static void print_list(const char *label)
{
    printf("%s [", label);
    for (int i = 0; i < g_len; i++)
        printf(i ? ", %d" : "%d", g_list[i]);
    printf("]\n");
}

MPROC_TASK_NOARGS(add_data, out)
{
    for (int i = 0; i < 3; i++) {
        g_list[g_len++] = i;
        printf("add: %d\n", i);
        sleep_ms(200);
    }
    print_list("添加完成：");
    return 0;
}

MPROC_TASK_NOARGS(read_data, out)
{
    print_list("read:");
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    mproc_process *add_process, *read_process;
    if (mproc_init(&argc, &argv) != 0 ||
        mproc_process_start_new(&add_process, &(mproc_process_opts){.target = "add_data"}) != 0 ||
        mproc_process_join(add_process, MPROC_FOREVER) != 0 || /* 主进程等待add_process进程结束 */
        mproc_process_start_new(&read_process, &(mproc_process_opts){.target = "read_data"}) != 0)
        return 1;
    print_list("主进程读取：");
    return 0;
}
