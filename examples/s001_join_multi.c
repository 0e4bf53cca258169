/* Seed 001 §3, join方法等待子进程结束 (join waits for the children): four children sleep
 * 1..4 s in parallel; the parent prints after all of them, about 4 s later, not 10. */
#include "example.h"

MPROC_TASK(task, in, out)
{
    (void)out;
    mproc_unpacker u;
    const char *name;
    int64_t n;
    mproc_unpack_init(&u, in);
    mproc_unpack_str(&u, &name);
    mproc_unpack_i64(&u, &n);
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
        mproc_pack *args;
        mproc_pack_create(&args);
        mproc_pack_str(args, name);
        mproc_pack_i64(args, i);
        p_l[i - 1] = start_process(&(mproc_process_opts){.target = "task", .args = args});
        mproc_pack_destroy(args);
    }
    for (int i = 0; i < 4; i++) {
        mproc_process_join(p_l[i], MPROC_FOREVER);
        mproc_process_destroy(p_l[i]);
    }
    printf("主 %f\n", now_s() - start);
    return 0;
}
