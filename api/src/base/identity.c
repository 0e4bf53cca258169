/* Who this process is (see base.h). Set once in a child, before its task runs, and read
 * by every thread after that. */
#include <string.h>

#include "mproc/process.h"
#include "base/base.h"

static struct {
    char name[MPROC__NAME_MAX];     /* current process name */
    char identity[MPROC__NAME_MAX]; /* "" in the main process, "1:2" in Process-1:2 */
    char parent_name[MPROC__NAME_MAX];
    int64_t parent_pid; /* the mproc parent (0 in the main process) */
} self = {.name = "MainProcess"};

const char *mproc_current_name(void)
{
    return self.name;
}

const char *mproc_parent_name(void)
{
    return self.parent_name[0] ? self.parent_name : NULL;
}

const char *mproc__identity(void)
{
    return self.identity;
}

int64_t mproc_getpid(void)
{
    return mpp_getpid();
}

int64_t mproc_getppid(void)
{
    /* The process that started this one, even under forkserver where the OS parent is
     * the server. */
    return self.parent_pid ? self.parent_pid : mpp_getppid();
}

bool mproc__set_identity(const char *name, const char *identity, const char *parent_name,
                         int64_t parent_pid)
{
    if (strlen(name) >= sizeof self.name || strlen(identity) >= sizeof self.identity ||
        strlen(parent_name) >= sizeof self.parent_name)
        return false;
    strcpy(self.name, name);
    strcpy(self.identity, identity);
    strcpy(self.parent_name, parent_name);
    self.parent_pid = parent_pid;
    return true;
}
