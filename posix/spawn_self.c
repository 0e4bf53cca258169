/* Starting a fresh run of our own executable (a spawned child, the fork server): the
 * executable's path, recorded by mpp_init, and posix_spawn of it with a marker and the
 * number of the descriptor it inherits. */
#include "posix.h"

#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__APPLE__)
#include <mach-o/dyld.h>
#endif

extern char **environ;

static char exe_path[4096];
static char argv0[4096];

static const char *argv0_for_spawn(void)
{
    return argv0[0] ? argv0 : exe_path;
}

void px_record_exe_path(const char *arg0)
{
    if (arg0)
        snprintf(argv0, sizeof argv0, "%s", arg0);
#if defined(MPP_LINUX)
    ssize_t n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
    if (n > 0) {
        exe_path[n] = 0;
        return;
    }
#elif defined(__APPLE__)
    uint32_t size = sizeof exe_path;
    if (_NSGetExecutablePath(exe_path, &size) == 0)
        return;
#endif
    if (arg0 && !realpath(arg0, exe_path))
        snprintf(exe_path, sizeof exe_path, "%s", arg0);
}

void mpp_test_set_exe_path(const char *path)
{
    static char real[sizeof exe_path];
    if (!real[0])
        memcpy(real, exe_path, sizeof real);
    snprintf(exe_path, sizeof exe_path, "%s", path ? path : real);
}

int px_spawn_self(const char *marker, int fd, pid_t *pid)
{
    if (!exe_path[0])
        return mproc__fail(MPROC_ENOTINIT);
    /* dup2 onto another number so the copy loses close-on-exec in the child only. */
    int target = fd == 3 ? 4 : 3;
    char fd_text[16];
    snprintf(fd_text, sizeof fd_text, "%d", target);
    char *child_argv[] = {(char *)argv0_for_spawn(), (char *)marker, fd_text, NULL};

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    sigset_t none;
    sigemptyset(&none);
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fd, target);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    int err = posix_spawn(pid, exe_path, &actions, &attr, child_argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (err) {
        mproc__fail_os(err);
        mproc_log(MPROC_LOG_DEBUG, "posix_spawn(%s): %s", exe_path, strerror(err));
        return MPROC_ESPAWN;
    }
    return 0;
}
