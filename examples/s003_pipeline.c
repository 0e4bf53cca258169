/* Seed 003 §1.4, 通信demo (a pipeline): ps aux | grep bash, from two Popens. The first
 * program's stdout pipe becomes the second's stdin (and is closed here, as the seed's
 * p1.stdout.close()). Windows has neither ps nor grep (and Wine's tasklist prints
 * nothing, its findstr does not read pipes): there the list is "cmd /c set" and the filter
 * is this same executable run with --grep. Running programs needs no mproc_init (as
 * Python's subprocess needs no multiprocessing). */
#include "example.h"

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "--grep") == 0) { /* the filter, on Windows */
        char line[8192];
        while (fgets(line, sizeof line, stdin))
            if (strstr(line, argv[2]))
                fputs(line, stdout);
        return 0;
    }
#ifdef _WIN32
    const char *list[] = {"cmd", "/c", "set", NULL};
    const char *filter[] = {argv[0], "--grep", "SystemRoot", NULL};
#else
    const char *list[] = {"ps", "aux", NULL};
    const char *filter[] = {"grep", "bash", NULL};
#endif
    mproc_popen *p1, *p2; /* 进程1获取结果; 得到进程1的结果再进行筛选 */
    mproc_bytes out;      /* 与流程交互：将数据发送到stdin并关闭它 */
    if (mproc_popen_start(&p1, list, &(mproc_popen_opts){.stdout_mode = MPROC_STDIO_PIPE}) != 0 ||
        mproc_popen_start(&p2, filter,
                          &(mproc_popen_opts){.stdin_mode = MPROC_STDIO_FROM,
                                              .stdin_from = p1,
                                              .stdout_mode = MPROC_STDIO_PIPE}) != 0 ||
        mproc_popen_communicate(p2, NULL, 0, MPROC_FOREVER, &out, NULL) != 0 ||
        mproc_popen_wait(p1, MPROC_FOREVER, NULL) != 0)
        return 1;
    printf("%.*s\n", (int)out.len, (const char *)out.data);
    mproc_bytes_free(&out);
    mproc_popen_destroy(p1);
    mproc_popen_destroy(p2);
    return 0;
}
