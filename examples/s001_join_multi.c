/* Seed 001 §3, join方法等待子进程结束 (join waits for the children): four children sleep
 * 1..4 s in parallel; the parent prints after all of them, about 4 s later, not 10. */
#include "example.h"

MPROC_TASK_ARGS(task, out, const char *, name, int64_t, n)
{
    printf("%s is running\n", name);
    sleep_ms((long)n * 1000);
    printf("%s is done\n", name);
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    double start = now_s();
    mproc_process *p_l[4];
    for (int i = 1; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "大海%d", i);
        if (mproc_process_start_new(
                &p_l[i - 1], &(mproc_process_opts){.target = "task", .args = MPROC_ARGS(name, i)}))
            return 1;
    }
    for (int i = 0; i < 4; i++)
        mproc_process_join(p_l[i], MPROC_FOREVER);
    printf("主 %f\n", now_s() - start);
    return 0;
}
