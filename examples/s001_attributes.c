/* Seed 001 §5, 进程对象其他相关的属性或方法 (other attributes): name, terminate, is_alive,
 * and pids. The child is terminated during its 30 s sleep, so "is done" never shows. */
#include "example.h"

MPROC_TASK_NOARGS(task, out)
{
    printf("%lld is running爹是 %lld\n", (long long)mproc_getpid(), (long long)mproc_getppid());
    sleep_ms(30000);
    printf("%lld is done爹是 %lld\n", (long long)mproc_getpid(), (long long)mproc_getppid());
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_process *p;
    if (mproc_process_start_new(&p, &(mproc_process_opts){.target = "task"}))
        return 1;
    printf("%s\n", mproc_process_name(p));                        /* 进程的名字 */
    mproc_process_terminate(p);                                   /* 杀死子进程 */
    sleep_ms(100);                                                /* 需要时间 */
    printf("%s\n", mproc_process_is_alive(p) ? "True" : "False"); /* 判断子进程是否存活 */
    printf("主%lld爹是 %lld\n", (long long)mproc_getpid(), (long long)mproc_getppid());
    int code; /* is_alive saw it end and reaped it, so its exit code is known */
    mproc_process_exitcode(p, &code);
    printf("exitcode %d\n", code); /* -15: ended by SIGTERM, as Python reports it */
    return 0;
}
