/* Seed 000, 多进程实现方式1 (several processes, with a target function): three children
 * report their pid and their parent's pid. */
#include "example.h"

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
    printf("多进程任务结束：%lld, 当前进程号为: %lld\n", (long long)data,
           (long long)mproc_getpid());
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
    return 0;
}
