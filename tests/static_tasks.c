/* A file of tasks built into a static library (tests/meson.build: static_tasks). A linker
 * takes this object only for a program that refers to it: test_process.c does, with
 * MPROC_USE_TASKS(static_tasks), and its spawned children know the task; the control
 * program static_tasks_unused.c does not, and the task is unknown there (task.h). */
#include "harness.h"

MPROC_TASKS_MODULE(static_tasks);

/* (path, code): writes this process's pid to path, then exits with code. */
MPROC_TASK(from_static_library, in, out)
{
    (void)out;
    const char *path;
    int64_t code;
    if (MPROC_UNPACK(in, &path, &code))
        return 99;
    harness_write_i64(path, mproc_getpid());
    return (int)code;
}
