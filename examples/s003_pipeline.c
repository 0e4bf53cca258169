/* Seed 003 §1.4, 通信demo (a pipeline): ps aux | grep bash, from two Popens. The first
 * program's stdout pipe becomes the second's stdin (and is closed here, as the seed's
 * p1.stdout.close()). Windows has neither ps nor grep (and Wine's tasklist prints
 * nothing, its findstr does not read pipes): there the list is "cmd /c set" and the filter
 * is this same executable run with --grep. */
#include "example.h"

static int grep_main(const char *text)
{
    char line[8192];
    while (fgets(line, sizeof line, stdin))
        if (strstr(line, text))
            fputs(line, stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "--grep") == 0)
        return grep_main(argv[2]);
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
#ifdef _WIN32
    const char *list[] = {"cmd", "/c", "set", NULL};
    const char *filter[] = {argv[0], "--grep", "SystemRoot", NULL};
#else
    const char *list[] = {"ps", "aux", NULL};
    const char *filter[] = {"grep", "bash", NULL};
#endif
    mproc_popen *p1, *p2;
    int rc = mproc_popen_start(&p1, list, &(mproc_popen_opts){.stdout_mode = MPROC_STDIO_PIPE});
    if (rc == 0) { /* 得到进程1的结果再进行筛选 */
        rc = mproc_popen_start(&p2, filter,
                               &(mproc_popen_opts){.stdin_mode = MPROC_STDIO_FROM,
                                                   .stdin_from = p1,
                                                   .stdout_mode = MPROC_STDIO_PIPE});
        if (rc != 0) {
            mproc_popen_kill(p1);
            mproc_popen_wait(p1, 5000, NULL);
            mproc_popen_destroy(p1);
        }
    }
    if (rc != 0) {
        fprintf(stderr, "Popen: %s\n", mproc_strerror(rc));
        return 1;
    }
    mproc_bytes out = {0};
    rc = mproc_popen_communicate(p2, NULL, 0, 10000, &out, NULL);
    printf("%.*s\n", (int)out.len, (const char *)out.data);
    mproc_bytes_free(&out);
    int code;
    mproc_popen_wait(p1, 5000, &code);
    if (rc != 0) {
        mproc_popen_kill(p2);
        mproc_popen_wait(p2, 5000, &code);
    }
    mproc_popen_destroy(p1);
    mproc_popen_destroy(p2);
    return rc == 0 ? 0 : 1;
}
