/* Seed 003, 日记系列 (logging): log_to_stderr at INFO shows the library's own records of the
 * child's life, in the [LEVEL/ProcessName] format. */
#include "example.h"

MPROC_TASK_NOARGS(test, out)
{
    printf("test\n");
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_log_to_stderr(MPROC_LOG_INFO);
    printf("%s\n", MPROC_LOG_WARNING == 30 ? "True" : "False");
    mproc_log(MPROC_LOG_INFO, "我是通用格式");
    mproc_log(MPROC_LOG_INFO, "info 测试");
    mproc_log(MPROC_LOG_WARNING, "warning 测试");
    mproc_log(MPROC_LOG_ERROR, "error 测试");
    /* p.start(); p.join() */
    return mproc_process_run(&(mproc_process_opts){.target = "test"}, MPROC_FOREVER, NULL) != 0;
}
