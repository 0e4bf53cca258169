/* The flagship tour: one child under each start method this platform has, with its name,
 * pid, parent pid and exit code; then join with a timeout, terminate, and a daemon. */
#include "example.h"

MPROC_TASK_ARGS(greet, out, const char *, method, int64_t, code)
{
    printf("  [%s] hello from %s, pid %lld, parent %lld; exiting with %lld\n", method,
           mproc_current_name(), (long long)mproc_getpid(), (long long)mproc_getppid(),
           (long long)code);
    return (int)code;
}

MPROC_TASK_NOARGS(sleeper, out)
{
    sleep_ms(60000);
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    printf("mproc %s tour: %s, pid %lld, %d CPUs (%d usable), default start method %s\n",
           mproc_version(), mproc_current_name(), (long long)mproc_getpid(), mproc_cpu_count(),
           mproc_cpu_count_usable(), mproc_start_method_name(mproc_get_start_method()));

    mproc_start_method methods[] = {MPROC_FORK, MPROC_SPAWN, MPROC_FORKSERVER};
    for (int i = 0; i < 3; i++) {
        const char *name = mproc_start_method_name(methods[i]);
        mproc_context *ctx;
        if (mproc_context_get(&ctx, methods[i]) != 0) {
            printf("%s: not available on this platform\n", name);
            continue;
        }
        printf("%s:\n", name);
        double t0 = now_s();
        mproc_process *p;
        if (mproc_process_start_new(&p, &(mproc_process_opts){.target = "greet",
                                                              .args = MPROC_ARGS(name, 10 + i),
                                                              .ctx = ctx}) != 0)
            return 1;
        mproc_process_join(p, MPROC_FOREVER);
        int code;
        mproc_process_exitcode(p, &code);
        printf("  %s (pid %lld) ended with exit code %d after %.1f ms\n", mproc_process_name(p),
               (long long)mproc_process_pid(p), code, (now_s() - t0) * 1000);
        mproc_process_destroy(p);
    }

    printf("timeouts and termination:\n");
    mproc_process *p;
    if (mproc_process_start_new(&p, &(mproc_process_opts){.target = "sleeper", .name = "sleepy"}))
        return 1;
    int rc = mproc_process_join(p, 100);
    printf("  join(%s, 100 ms) -> %s; alive: %d\n", mproc_process_name(p), mproc_errname(rc),
           mproc_process_is_alive(p));
    mproc_process_terminate(p);
    mproc_process_join(p, MPROC_FOREVER);
    int code;
    mproc_process_exitcode(p, &code);
    printf("  after terminate: exit code %d (-15 = SIGTERM, as Python)\n", code);
    mproc_process_destroy(p);

    mproc_process_opts guardian = {.target = "sleeper", .name = "guardian", .daemon = true};
    if (mproc_process_start_new(&p, &guardian) != 0)
        return 1;
    printf("a daemon child is running; it is terminated when main() returns\n");
    return 0;
}
