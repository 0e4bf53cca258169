/* Seed 003 §1.4, 交互demo (an interactive program through communicate): the seed talks to
 * ipython3; here the interactive program is this same executable run with --echo, which
 * answers every line it reads. If the timeout passes, the program is not killed for us:
 * kill it and collect what it wrote, as the seed does. */
#include "example.h"

static int echo_main(void)
{
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        printf("In [1]: %s\n", line);
        fflush(stdout);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--echo") == 0)
        return echo_main();
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    const char *args[] = {argv[0], "--echo", NULL};
    mproc_popen *process;
    int rc = mproc_popen_start(&process, args,
                               &(mproc_popen_opts){.stdin_mode = MPROC_STDIO_PIPE,
                                                   .stdout_mode = MPROC_STDIO_PIPE,
                                                   .stderr_mode = MPROC_STDIO_PIPE});
    if (rc != 0) {
        fprintf(stderr, "Popen: %s\n", mproc_strerror(rc));
        return 1;
    }
    mproc_bytes out = {0}, err = {0};
    const char input[] = "print(\"hello\")";
    rc = mproc_popen_communicate(process, input, strlen(input), 3000, &out, &err);
    if (rc == MPROC_ETIMEDOUT) { /* 如果超时到期，则子进程不会被终止，需要自己处理一下 */
        mproc_popen_kill(process);
        rc = mproc_popen_communicate(process, NULL, 0, 3000, &out, &err);
    }
    printf("Out:%.*s\nErr:%.*s\n", (int)out.len, (const char *)out.data, (int)err.len,
           (const char *)err.data);
    mproc_bytes_free(&out);
    mproc_bytes_free(&err);
    int code;
    mproc_popen_wait(process, 3000, &code);
    mproc_popen_destroy(process);
    return rc == 0 ? 0 : 1;
}
