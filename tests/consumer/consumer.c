/* A program that depends on an installed mproc (scripts/consumers.sh builds it with
 * pkg-config, CMake, meson and mingw): starts a process on a typed task, checks its exit code
 * and that the headers and the library are one version. */
#include <stdio.h>
#include <string.h>
#include <mproc.h>

MPROC_TASK_ARGS(triple, out, int64_t, x)
{
    return (int)(x * 3); /* the child's exit code */
}

int main(int argc, char **argv)
{
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    if (strcmp(mproc_version(), MPROC_VERSION_STRING) != 0 || MPROC_VERSION_HEX < 0x010000) {
        printf("version mismatch: library %s, headers %s\n", mproc_version(), MPROC_VERSION_STRING);
        return 1;
    }
    int code = -1;
    mproc_process_opts opts = {.target = "triple", .args = MPROC_ARGS((int64_t)14)};
    int rc = mproc_process_run(&opts, 30000, &code);
    printf("consumer: mproc %s, child exit code %d (%s)\n", mproc_version(), code,
           mproc_strerror(rc));
    return rc != 0 || code != 42;
}
