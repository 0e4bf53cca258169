#include <stdio.h>
#include "mproc.h"

MPROC_TASK_ARGS(greet, out, const char *, who) /* a task, found by name in every child */
{
    printf("hello %s from %s\n", who, mproc_current_name());
    return 0; /* the child's exit code */
}

int main(int argc, char **argv)
{
    if (mproc_init(&argc, &argv) != 0) /* in a spawned child this runs the task and exits */
        return 1;
    int code;
    mproc_process_opts opts = {.target = "greet", .args = MPROC_ARGS("world")};
    int rc = mproc_process_run(&opts, 5000, &code); /* start, join (5 s, else kill), exit code */
    printf("the child ended with %d (%s)\n", code, mproc_strerror(rc));
    return rc != 0;
}
