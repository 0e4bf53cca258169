/* mpp_init: what this run of the executable is. A run started as a spawned child or as the
 * fork server (argv marks it) does that job and never returns; any run records what
 * starting children needs. */
#include "posix.h"

#include <stdlib.h>
#include <string.h>

static int parse_fd(const char *text)
{
    char *end;
    long fd = strtol(text, &end, 10);
    return (*end || fd < 0 || fd > 1 << 20) ? -1 : (int)fd;
}

int mpp_init(int *argc, char ***argv)
{
    char **args = argv ? *argv : NULL;
    int n = argc ? *argc : 0;
    px_record_exe_path(args && n > 0 ? args[0] : NULL); /* children start children too */
    px_count_threads_at_init();
    if (args && n >= 3) {
        int fd = parse_fd(args[2]);
        if (fd >= 0 && strcmp(args[1], ARG_CHILD) == 0)
            px_spawned_child_main(fd);
        if (fd >= 0 && strcmp(args[1], ARG_FORKSERVER) == 0)
            px_forkserver_main(fd);
    }
    return 0;
}
