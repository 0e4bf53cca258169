/* Seed 004 §3.2 思路1 (approach 1): the child dances while the parent sings. */
#include "example.h"

MPROC_TASK_NOARGS(dance, out)
{
    for (int i = 0; i < 3; i++) {
        printf("跳舞中...\n");
        sleep_ms(200);
    }
    return 0;
}

static void sing(void)
{
    for (int i = 0; i < 3; i++) {
        printf("唱歌中...\n");
        sleep_ms(100);
    }
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    mproc_process *dance_process;
    if (mproc_init(&argc, &argv) != 0 ||
        mproc_process_start_new(&dance_process, &(mproc_process_opts){.target = "dance"}) != 0)
        return 1;
    sing();
    return 0;
}
