/* Seed 003 §1.4, 拓展之subprocess (subprocess.run(["ls", "-al"])): the program's output goes
 * straight to ours, then the CompletedProcess is printed. Windows has no ls: there it is
 * "cmd /c dir", the same listing. Running programs needs no mproc_init (as Python's
 * subprocess needs no multiprocessing), and only the listing is printed before our line. */
#include "example.h"

int main(void)
{
#ifdef _WIN32
    const char *args[] = {"cmd", "/c", "dir", NULL};
    const char *shown = "['cmd', '/c', 'dir']";
#else
    const char *args[] = {"ls", "-al", NULL};
    const char *shown = "['ls', '-al']";
#endif
    mproc_run_result result; /* os.execlp("ls", "ls", "-al") without the exec */
    if (mproc_run(args, NULL, &result) != 0)
        return 1;
    printf("CompletedProcess(args=%s, returncode=%d)\n", shown, result.returncode);
    mproc_run_result_free(&result);
    return 0;
}
