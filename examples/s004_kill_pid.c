/* Seed 004 §3.4, 根据进程编号杀死进程 (kill a process by its id): os.kill(pid, 9) is
 * mproc_process_kill; the child's later lines never come, and its exit code is -9. */
#include "example.h"

MPROC_TASK_NOARGS(task, out)
{
    for (int i = 0; i < 50; i++) {
        printf("任务执行中..\n");
        sleep_ms(100);
    }
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    mproc_process *p;
    if (mproc_init(&argc, &argv) != 0 ||
        mproc_process_start_new(&p, &(mproc_process_opts){.target = "task"}) != 0)
        return 1;
    sleep_ms(250);
    printf("kill %lld\n", (long long)mproc_process_pid(p));
    if (mproc_process_kill(p) != 0) /* os.kill(process_id, 9) */
        return 1;
    mproc_process_join(p, MPROC_FOREVER);
    int code;
    mproc_process_exitcode(p, &code);
    printf("exitcode %d\n", code);
    return 0;
}
