/* Seed 000, 数据不共享实例 (data is not shared): each child changes its own copy of
 * sh_dock_code; the parent's stays [31, 32, 33, 34]. */
#include "example.h"

static int64_t sh_dock_code[4] = {31, 32, 33, 34};
static int sh_dock_len = 4;

static void print_list(void)
{
    printf("[");
    for (int i = 0; i < sh_dock_len; i++)
        printf(i ? ", %lld" : "%lld", (long long)sh_dock_code[i]);
    printf("]");
}

MPROC_TASK(process_task, in, out)
{
    (void)out;
    mproc_unpacker u;
    int64_t data = 0;
    mproc_unpack_init(&u, in);
    mproc_unpack_i64(&u, &data);
    printf("测试多进程任务：%lld, 当前进程号：%lld, 父进程号为: %lld\n", (long long)data,
           (long long)mproc_getpid(), (long long)mproc_getppid());
    volatile int64_t res = data * data * data;
    while (res > 0)
        res -= 1;
    sh_dock_code[2] = data;
    sh_dock_len = 3;
    char line[256];
    snprintf(line, sizeof line,
             "多进程任务结束：%lld, 当前进程号为: %lld, sh_dock_code is [31, 32, %lld]\n",
             (long long)data, (long long)mproc_getpid(), (long long)data);
    fputs(line, stdout);
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    int64_t process_data[] = {100, 200, 300};
    mproc_process *task_list[3];
    printf("主进程:%lld, 父进程:%lld\n", (long long)mproc_getpid(), (long long)mproc_getppid());
    for (int i = 0; i < 3; i++) {
        mproc_pack *args;
        mproc_pack_create(&args);
        mproc_pack_i64(args, process_data[i]);
        task_list[i] = start_process(&(mproc_process_opts){.target = "process_task", .args = args});
        mproc_pack_destroy(args);
    }
    for (int i = 0; i < 3; i++) {
        mproc_process_join(task_list[i], MPROC_FOREVER);
        mproc_process_destroy(task_list[i]);
    }
    printf("sh_dock_code is ");
    print_list();
    printf(" \n");
    return 0;
}
