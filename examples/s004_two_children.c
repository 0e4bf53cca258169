/* Seed 004 §3.2 思路2 (approach 2): two children, one dances and one sings, at once; the
 * parent does not join, yet the program ends only after both. */
#include "example.h"

MPROC_TASK_NOARGS(dance, out)
{
    for (int i = 0; i < 3; i++) {
        printf("跳舞中...\n");
        sleep_ms(200);
    }
    return 0;
}

MPROC_TASK_NOARGS(sing, out)
{
    for (int i = 0; i < 3; i++) {
        printf("唱歌中...\n");
        sleep_ms(100);
    }
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    mproc_process *dance_process, *sing_process;
    if (mproc_init(&argc, &argv) != 0 ||
        mproc_process_start_new(&dance_process, &(mproc_process_opts){.target = "dance"}) != 0 ||
        mproc_process_start_new(&sing_process, &(mproc_process_opts){.target = "sing"}) != 0)
        return 1;
    return 0;
}
