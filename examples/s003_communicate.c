/* Seed 003 §1.4, 交互demo (an interactive program through communicate): the seed talks to
 * ipython3; here the interactive program is this same executable run with --echo, which
 * answers every line it reads. If the timeout passes, the program is not killed for us:
 * kill it and collect what it wrote, as the seed does. Running programs needs no
 * mproc_init (as Python's subprocess needs no multiprocessing). */
#include "example.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--echo") == 0) { /* the interactive program */
        char line[4096];
        while (fgets(line, sizeof line, stdin)) {
            line[strcspn(line, "\r\n")] = '\0';
            printf("In [1]: %s\n", line);
        }
        return 0;
    }
    const char *args[] = {argv[0], "--echo", NULL};
    mproc_popen *process;
    if (mproc_popen_start(&process, args,
                          &(mproc_popen_opts){.stdin_mode = MPROC_STDIO_PIPE,
                                              .stdout_mode = MPROC_STDIO_PIPE,
                                              .stderr_mode = MPROC_STDIO_PIPE}) != 0)
        return 1;
    mproc_bytes out = {0}, err = {0};
    const char input[] = "print(\"hello\")"; /* 对pstree进行交互 */
    int rc = mproc_popen_communicate(process, input, strlen(input), 3000, &out, &err);
    if (rc == MPROC_ETIMEDOUT) { /* 如果超时到期，则子进程不会被终止，需要自己处理一下 */
        mproc_popen_kill(process);
        rc = mproc_popen_communicate(process, NULL, 0, 3000, &out, &err);
    }
    printf("Out:%.*s\nErr:%.*s\n", (int)out.len, (const char *)out.data, (int)err.len,
           (const char *)err.data);
    mproc_bytes_free(&out);
    mproc_bytes_free(&err);
    mproc_popen_destroy(process); /* communicate waited for its end */
    return rc != 0;
}
