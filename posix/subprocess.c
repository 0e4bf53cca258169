/* POSIX: external programs with posix_spawnp, non-blocking pipe ends, and waits on a
 * pidfd where Linux has one. */
#include "posix.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(MPP_LINUX)
#include <sys/syscall.h>
#endif

extern char **environ;

struct mpp_stream {
    int fd;
    bool for_write;
};

struct mpp_program {
    pid_t pid;
    int pidfd; /* -1 where the kernel has none */
    bool reaped;
    int code;
};

static mpp_stream *stream_new(int fd, bool for_write)
{
    mpp_stream *s = mproc_malloc(sizeof *s);
    if (s) {
        s->fd = fd;
        s->for_write = for_write;
    }
    return s;
}

/* A pipe whose ends are both above 2 (so the dup2 onto 0..2 in the child always clears
 * close-on-exec) and close-on-exec here. */
static int make_pipe(int fds[2])
{
    if (pipe(fds) != 0)
        return mproc__fail_os_now();
    for (int i = 0; i < 2; i++) {
        if (fds[i] <= 2) {
            int moved = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
            int saved = errno;
            close(fds[i]);
            if (moved < 0) {
                close(fds[1 - i]);
                return mproc__fail_os(saved);
            }
            fds[i] = moved;
        } else {
            px_set_cloexec(fds[i], true);
        }
    }
    return 0;
}

static int set_nonblocking(int fd, bool on)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK) < 0)
        return mproc__fail_os_now();
    return 0;
}

#if defined(MPP_LINUX) && defined(SYS_pidfd_open)
static int open_pidfd(pid_t pid)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0)
        px_set_cloexec(fd, true); /* pidfds are close-on-exec already; be explicit */
    return fd;
}
#else
static int open_pidfd(pid_t pid)
{
    (void)pid;
    return -1;
}
#endif

/* Whether path names an executable regular file (relative paths from cwd, when given):
 * 0, or the errno that exec would give. */
static int check_executable(const char *path, const char *cwd)
{
    char *joined = NULL;
    if (cwd && path[0] != '/') {
        size_t a = strlen(cwd), b = strlen(path);
        joined = mproc_malloc(a + b + 2);
        if (!joined)
            return ENOMEM;
        memcpy(joined, cwd, a);
        joined[a] = '/';
        memcpy(joined + a + 1, path, b + 1);
        path = joined;
    }
    struct stat st;
    int err = 0;
    if (stat(path, &st) != 0)
        err = errno;
    else if (!S_ISREG(st.st_mode))
        err = EACCES;
    else if (access(path, X_OK) != 0)
        err = errno;
    mproc_free(joined);
    return err;
}

/* The program's path as exec would find it: argv[0] with a '/' as it is, otherwise the
 * first executable match in PATH (the program's own environment's PATH, as Python does).
 * Looking first means a missing or non-executable program is reported by the start call
 * everywhere, also where posix_spawn cannot report exec failures (qemu-user runs its
 * vfork-style clone as a fork, so the child's exec error never reaches the parent). */
static int resolve_program(const mpp_program_spec *spec, char **resolved)
{
    const char *name = spec->argv[0];
    *resolved = NULL;
    struct stat st;
    if (spec->cwd && stat(spec->cwd, &st) != 0)
        return mproc__fail_os_now();
    if (spec->cwd && !S_ISDIR(st.st_mode))
        return mproc__fail_os(ENOTDIR), MPROC_ENOENT;
    if (strchr(name, '/')) {
        int err = check_executable(name, spec->cwd);
        return err ? mproc__fail_os(err) : 0;
    }
    const char *path = NULL;
    char *const *env = spec->env ? (char *const *)spec->env : environ;
    for (size_t i = 0; env && env[i]; i++)
        if (strncmp(env[i], "PATH=", 5) == 0)
            path = env[i] + 5;
    if (!path)
        path = "/bin:/usr/bin";
    size_t name_len = strlen(name);
    int first_error = ENOENT;
    for (const char *dir = path;; dir++) {
        const char *end = strchr(dir, ':');
        size_t dir_len = end ? (size_t)(end - dir) : strlen(dir);
        char *candidate = mproc_malloc(dir_len + name_len + 3);
        if (!candidate)
            return mproc__fail(MPROC_ENOMEM);
        if (dir_len == 0) /* an empty entry is the current directory */
            memcpy(candidate, ".", 2), dir_len = 1;
        else
            memcpy(candidate, dir, dir_len);
        candidate[dir_len] = '/';
        memcpy(candidate + dir_len + 1, name, name_len + 1);
        int err = check_executable(candidate, NULL);
        if (!err) {
            *resolved = candidate;
            return 0;
        }
        if (err == EACCES && first_error == ENOENT)
            first_error = EACCES; /* as execvp: found but not executable */
        mproc_free(candidate);
        if (!end)
            break;
        dir = end;
    }
    return mproc__fail_os(first_error);
}

int mpp_program_start(mpp_program **out, const mpp_program_spec *spec, mpp_stream *pipes[3],
                      int64_t *pid_out)
{
    int child_end[3] = {-1, -1, -1}, parent_end[3] = {-1, -1, -1};
    char *resolved = NULL;
    int rc = resolve_program(spec, &resolved);
    for (int i = 0; i < 3 && !rc; i++) {
        if (spec->stdio[i] != MPROC_STDIO_PIPE)
            continue;
        int fds[2];
        rc = make_pipe(fds);
        if (rc)
            break;
        child_end[i] = i == 0 ? fds[0] : fds[1];
        parent_end[i] = i == 0 ? fds[1] : fds[0];
        rc = set_nonblocking(parent_end[i], true);
    }
    mpp_program *p = rc ? NULL : mproc_calloc(1, sizeof *p);
    if (!rc && !p)
        rc = mproc__fail(MPROC_ENOMEM);
    if (!rc && spec->stdin_from)
        rc = set_nonblocking(spec->stdin_from->fd, false); /* the program reads it blocking */

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    bool have_actions = false, have_attr = false;
    if (!rc) {
        have_actions = posix_spawn_file_actions_init(&actions) == 0;
        have_attr = posix_spawnattr_init(&attr) == 0;
        if (!have_actions || !have_attr)
            rc = mproc__fail(MPROC_ENOMEM);
    }
    int err = 0;
    for (int i = 0; i < 3 && !rc && !err; i++) {
        switch (spec->stdio[i]) {
        case MPROC_STDIO_PIPE:
            err = posix_spawn_file_actions_adddup2(&actions, child_end[i], i);
            break;
        case MPROC_STDIO_DEVNULL:
            err = posix_spawn_file_actions_addopen(&actions, i, "/dev/null",
                                                   i == 0 ? O_RDONLY : O_WRONLY, 0);
            break;
        case MPROC_STDIO_STDOUT: err = posix_spawn_file_actions_adddup2(&actions, 1, 2); break;
        case MPROC_STDIO_FROM:
            err = posix_spawn_file_actions_adddup2(&actions, spec->stdin_from->fd, 0);
            break;
        default: /* inherit */ break;
        }
    }
    if (!rc && !err && spec->cwd) {
#if defined(__linux__) || defined(__APPLE__) || defined(__FreeBSD__)
        /* glibc 2.29+ and musl 1.1.24+ (musl has no macro to be told by), macOS, FreeBSD */
        err = posix_spawn_file_actions_addchdir_np(&actions, spec->cwd);
#else
        err = ENOTSUP;
#endif
    }
    if (!rc && !err) {
        /* As Python's restore_signals: the program starts with default dispositions
         * and an empty mask, whatever this process ignores or blocks. */
        sigset_t all, none;
        sigfillset(&all);
        sigemptyset(&none);
        err = posix_spawnattr_setsigdefault(&attr, &all);
        if (!err)
            err = posix_spawnattr_setsigmask(&attr, &none);
        if (!err)
            err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    }
    if (!rc && err)
        rc = mproc__fail_os(err);
    pid_t pid = -1;
    if (!rc) {
        char *const *env = spec->env ? (char *const *)spec->env : environ;
        /* glibc (2.24+) and musl also report exec failures here. */
        err = posix_spawn(&pid, resolved ? resolved : spec->argv[0], have_actions ? &actions : NULL,
                          &attr, (char *const *)spec->argv, env);
        if (err) {
            rc = mproc__fail_os(err);
            if (rc == MPROC_EOS && (err == ENOEXEC || err == ENOTDIR))
                rc = MPROC_EPERM;
        }
    }
    mproc_free(resolved);
    if (have_actions)
        posix_spawn_file_actions_destroy(&actions);
    if (have_attr)
        posix_spawnattr_destroy(&attr);
    for (int i = 0; i < 3; i++)
        if (child_end[i] >= 0)
            close(child_end[i]);
    for (int i = 0; i < 3 && !rc; i++) {
        pipes[i] = NULL;
        if (parent_end[i] >= 0) {
            pipes[i] = stream_new(parent_end[i], i == 0);
            if (!pipes[i])
                rc = mproc__fail(MPROC_ENOMEM);
            else
                parent_end[i] = -1;
        }
    }
    if (rc) {
        for (int i = 0; i < 3; i++) {
            if (parent_end[i] >= 0)
                close(parent_end[i]);
            if (pid > 0 && pipes[i]) {
                mpp_stream_close(pipes[i]);
                pipes[i] = NULL;
            }
        }
        if (pid > 0) { /* started, but we could not keep it: do not leave it unreaped */
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        mproc_free(p);
        return rc;
    }
    p->pid = pid;
    p->pidfd = open_pidfd(pid);
    *pid_out = pid;
    *out = p;
    return 0;
}

static int try_reap(mpp_program *p)
{
    if (!px_try_waitpid(p->pid, &p->code))
        return 0;
    p->reaped = true;
    if (p->pidfd >= 0) {
        close(p->pidfd);
        p->pidfd = -1;
    }
    return 1;
}

int mpp_program_wait(mpp_program *p, int64_t timeout_ms, int *code)
{
    int64_t deadline = mproc__deadline(timeout_ms);
    int64_t pause = 1;
    while (!p->reaped && !try_reap(p)) {
        int64_t left = mproc__remaining(deadline);
        if (left == 0)
            return mproc__fail(MPROC_ETIMEDOUT);
        if (p->pidfd >= 0) {
            px_wait_fd(p->pidfd, POLLIN, left); /* readable once the program ended */
        } else {                                /* no pidfd: poll, backing off to 20 ms */
            mpp_sleep_ms(left >= 0 && left < pause ? left : pause);
            pause = pause < 20 ? pause * 2 : 20;
        }
    }
    *code = p->code;
    return 0;
}

int mpp_program_signal(mpp_program *p, bool force)
{
    if (p->reaped || try_reap(p))
        return 0; /* never signal a pid that may have been reused */
    if (kill(p->pid, force ? SIGKILL : SIGTERM) < 0 && errno != ESRCH)
        return mproc__fail_os_now();
    return 0;
}

void mpp_program_free(mpp_program *p)
{
    if (!p)
        return;
    if (p->pidfd >= 0)
        close(p->pidfd);
    mproc_free(p);
}

int mpp_stream_read(mpp_stream *s, void *buf, size_t cap, size_t *got)
{
    *got = 0;
    for (;;) {
        ssize_t n = read(s->fd, buf, cap);
        if (n > 0) {
            *got = (size_t)n;
            return 0;
        }
        if (n == 0)
            return MPROC_ECLOSED;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return mproc__fail_os_now();
    }
}

/* write() to a pipe whose reader is gone raises SIGPIPE, which would kill this process:
 * block it for the call and take back a SIGPIPE that this write caused. */
int mpp_stream_write(mpp_stream *s, const void *buf, size_t len, size_t *done)
{
    *done = 0;
    sigset_t pipe_only, old, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    ssize_t n;
    while ((n = write(s->fd, buf, len)) < 0 && errno == EINTR) {
    }
    int saved = errno;
    if (n < 0 && saved == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_only, NULL, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (n >= 0) {
        *done = (size_t)n;
        return 0;
    }
    if (saved == EAGAIN || saved == EWOULDBLOCK)
        return 0;
    if (saved == EPIPE)
        return mproc__fail_os(saved), MPROC_ECLOSED;
    return mproc__fail_os(saved);
}

int mpp_stream_wait(mpp_stream *const *streams, size_t n, int64_t timeout_ms, bool *ready)
{
    struct pollfd fds[8];
    if (n == 0 || n > 8)
        return mproc__fail(MPROC_EINVAL);
    for (size_t i = 0; i < n; i++) {
        fds[i] = (struct pollfd){.fd = streams[i]->fd,
                                 .events = streams[i]->for_write ? POLLOUT : POLLIN};
        ready[i] = false;
    }
    int64_t deadline = mproc__deadline(timeout_ms);
    for (;;) {
        int64_t left = mproc__remaining(deadline);
        int r = poll(fds, (nfds_t)n, left > INT32_MAX || left < 0 ? -1 : (int)left);
        if (r > 0)
            break;
        if (r == 0)
            return mproc__fail(MPROC_ETIMEDOUT);
        if (errno != EINTR)
            return mproc__fail_os_now();
    }
    for (size_t i = 0; i < n; i++)
        ready[i] = fds[i].revents != 0;
    return 0;
}

void mpp_stream_close(mpp_stream *s)
{
    if (!s)
        return;
    close(s->fd);
    mproc_free(s);
}

bool mpp_env_ignores_case(void)
{
    return false;
}

char **mpp_environ_copy(void)
{
    size_t count = 0;
    while (environ && environ[count])
        count++;
    return mproc__string_array((const char *const *)environ, count);
}
