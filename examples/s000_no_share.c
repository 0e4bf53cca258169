/* Seed 000, 数据不共享实例 (data is not shared): each child changes its own copy of
 * sh_dock_code; the parent's stays [31, 32, 33, 34]. */
#include "example.h"

static long long sh_dock_code[4] = {31, 32, 33, 34}; /* self.sh_dock_code */
static int sh_dock_len = 4;

/* str(self.sh_dock_code), written into buf */
static const char *str_list(char *buf)
{
    char *end = buf + sprintf(buf, "[%lld", sh_dock_code[0]);
    for (int i = 1; i < sh_dock_len; i++)
        end += sprintf(end, ", %lld", sh_dock_code[i]);
    strcpy(end, "]");
    return buf;
}

MPROC_TASK_ARGS(process_task, out, long long, data)
{
    printf("测试多进程任务：%lld, 当前进程号：%lld, 父进程号为: %lld\n", data,
           (long long)mproc_getpid(), (long long)mproc_getppid());
    volatile long long res = data * data * data;
    while (res > 0)
        res -= 1;
    sh_dock_code[2] = data; /* self.sh_dock_code = [31, 32, data] */
    sh_dock_len = 3;
    char list[64];
    printf("多进程任务结束：%lld, 当前进程号为: %lld, sh_dock_code is %s\n", data,
           (long long)mproc_getpid(), str_list(list));
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
        mproc_process_opts opts = {.target = "process_task", .args = MPROC_ARGS(process_data[i])};
        if (mproc_process_start_new(&task_list[i], &opts) != 0)
            return 1;
    }
    for (int i = 0; i < 3; i++) {
        mproc_process_join(task_list[i], MPROC_FOREVER);
        mproc_process_destroy(task_list[i]);
    }
    char list[64];
    printf("sh_dock_code is %s \n", str_list(list));
    return 0;
}
