/* Seed 003 §1.4, 拓展之subprocess (subprocess.run(["ls", "-al"])): the program's output goes
 * straight to ours, then the CompletedProcess is printed. Windows has no ls: there it is
 * "cmd /c dir", the same listing. */
#include "example.h"

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
#ifdef _WIN32
    const char *args[] = {"cmd", "/c", "dir", NULL};
    const char *shown = "['cmd', '/c', 'dir']";
#else
    const char *args[] = {"ls", "-al", NULL};
    const char *shown = "['ls', '-al']";
#endif
    fflush(stdout); /* the listing is written by the other program, after what we wrote */
    mproc_run_result result;
    int rc = mproc_run(args, NULL, &result); /* os.execlp("ls", "ls", "-al") without exec */
    if (rc != 0) {
        fprintf(stderr, "run: %s\n", mproc_strerror(rc));
        return 1;
    }
    printf("CompletedProcess(args=%s, returncode=%d)\n", shown, result.returncode);
    mproc_run_result_free(&result);
    return 0;
}
