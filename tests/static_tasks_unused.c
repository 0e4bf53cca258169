/* The control of process/task_from_static_library: this program links the same static
 * library of tasks (static_tasks.c) but never says MPROC_USE_TASKS(static_tasks), so the
 * linker leaves that object out and its task is unknown. Exit 0 when it is, 1 when the
 * task is there after all (the library linked whole: the test of the mark proves nothing). */
#include <stdio.h>

#include "mproc.h"

int main(int argc, char **argv)
{
    if (mproc_init(&argc, &argv) != 0)
        return 2;
    if (mproc_task_lookup("from_static_library") != NULL) {
        fprintf(stderr, "from_static_library is known without MPROC_USE_TASKS\n");
        return 1;
    }
    return 0;
}
