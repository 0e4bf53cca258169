/* POSIX: errors, clocks, the core lock, identity, CPU counts and fd helpers. */
#include "posix.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

int mpp_os_error_now(void)
{
    return errno;
}

int mpp_map_os_error(int os_error)
{
    switch (os_error) {
    case 0: return MPROC_EOS;
    case EINVAL: case EBADF: return MPROC_EINVAL;
    case ENOMEM: case ENOBUFS: return MPROC_ENOMEM;
    case ETIMEDOUT: return MPROC_ETIMEDOUT;
    case EPIPE: case ECONNRESET: case ENOTCONN: return MPROC_ECLOSED;
    case ENOENT: case ESRCH: return MPROC_ENOENT;
    case EEXIST: return MPROC_EEXIST;
    case EPERM: case EACCES: return MPROC_EPERM;
    case EAGAIN: case EMFILE: case ENFILE: return MPROC_EOS;
    case ENOSYS: case ENOTSUP: return MPROC_ENOTSUP;
    case EOWNERDEAD: return MPROC_EOWNERDEAD;
    default: return MPROC_EOS;
    }
}

int64_t mpp_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mpp_sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

static pthread_mutex_t core_lock = PTHREAD_MUTEX_INITIALIZER;

void mpp_lock(void)
{
    pthread_mutex_lock(&core_lock);
}

void mpp_unlock(void)
{
    pthread_mutex_unlock(&core_lock);
}

void mpp_lock_reset(void)
{
    /* In a forked child another thread of the parent may have held it. */
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    memcpy(&core_lock, &fresh, sizeof fresh);
}

int64_t mpp_getpid(void)
{
    return (int64_t)getpid();
}

int64_t mpp_getppid(void)
{
    return (int64_t)getppid();
}

bool px_is_main_thread(void)
{
#if defined(__linux__)
    return syscall(SYS_gettid) == getpid();
#else
    return false; /* unknown: callers then take the path that is safe on any thread */
#endif
}

int mpp_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

#if defined(__linux__)
/* CPUs granted by the cgroup v2 quota ("max" or "<quota> <period>"), 0 if none. */
static int cgroup_cpu_limit(void)
{
    char line[512], path[600], rel[512] = "";
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "0::", 3) == 0) {
            snprintf(rel, sizeof rel, "%s", line + 3);
            rel[strcspn(rel, "\n")] = 0;
        }
    fclose(f);
    snprintf(path, sizeof path, "/sys/fs/cgroup%s/cpu.max", strcmp(rel, "/") ? rel : "");
    f = fopen(path, "r");
    if (!f)
        return 0;
    long long quota = 0, period = 0;
    char first[32] = "";
    int fields = fscanf(f, "%31s %lld", first, &period);
    fclose(f);
    if (fields != 2 || strcmp(first, "max") == 0 || period <= 0)
        return 0;
    quota = atoll(first);
    if (quota <= 0)
        return 0;
    return (int)((quota + period - 1) / period);
}
#endif

int mpp_cpu_count_usable(void)
{
    int n = mpp_cpu_count();
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        n = CPU_COUNT(&set);
    int quota = cgroup_cpu_limit();
    if (quota > 0 && quota < n)
        n = quota;
#endif
    return n;
}

void mpp_write_stderr(const char *text, size_t len)
{
    while (len) {
        ssize_t n = write(STDERR_FILENO, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        text += n;
        len -= (size_t)n;
    }
}

/* ---- fd helpers -------------------------------------------------------------------- */

int px_set_cloexec(int fd, bool on)
{
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0)
        return mproc__fail_os_now();
    flags = on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
    return fcntl(fd, F_SETFD, flags) < 0 ? mproc__fail_os_now() : 0;
}

int px_socketpair(int sv[2])
{
#ifdef SOCK_CLOEXEC
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return mproc__fail_os_now();
#else
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return mproc__fail_os_now();
    px_set_cloexec(sv[0], true);
    px_set_cloexec(sv[1], true);
#endif
#ifdef SO_NOSIGPIPE
    int one = 1;
    setsockopt(sv[0], SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
    setsockopt(sv[1], SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    return 0;
}

int px_wait_fd(int fd, short events, int64_t timeout_ms)
{
    int64_t deadline = mproc__deadline(timeout_ms);
    for (;;) {
        int64_t left = mproc__remaining(deadline);
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, left < 0 ? -1 : left > INT32_MAX ? INT32_MAX : (int)left);
        if (n > 0)
            return 1;
        if (n == 0) {
            if (mproc__remaining(deadline) == 0)
                return 0;
            continue;
        }
        if (errno != EINTR)
            return mproc__fail_os_now();
    }
}

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* SO_NOSIGPIPE is set on the socket instead */
#endif

int px_send_all(int fd, const void *buf, size_t len, int64_t deadline)
{
    const char *p = buf;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int ready = px_wait_fd(fd, POLLOUT, mproc__remaining(deadline));
            if (ready < 0)
                return ready;
            if (ready == 0)
                return mproc__fail(MPROC_ETIMEDOUT);
            continue;
        }
        return mproc__fail_os_now();
    }
    return 0;
}

int px_recv_all(int fd, void *buf, size_t len, int64_t deadline)
{
    char *p = buf;
    while (len) {
        ssize_t n = recv(fd, p, len, MSG_DONTWAIT);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n == 0)
            return mproc__fail(MPROC_ECLOSED);
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int ready = px_wait_fd(fd, POLLIN, mproc__remaining(deadline));
            if (ready < 0)
                return ready;
            if (ready == 0)
                return mproc__fail(MPROC_ETIMEDOUT);
            continue;
        }
        if (errno == ECONNRESET)
            return mproc__fail(MPROC_ECLOSED);
        return mproc__fail_os_now();
    }
    return 0;
}

int px_read_payload(int fd, int64_t deadline, int32_t *flags, mproc_bytes *payload)
{
    chan_record rec;
    int rc = px_recv_all(fd, &rec, sizeof rec, deadline);
    if (rc)
        return rc;
    if (rec.tag != REC_PAYLOAD || rec.value < 0 || (uint64_t)rec.value > SIZE_MAX)
        return mproc__fail(MPROC_EPROTO);
    payload->len = (size_t)rec.value;
    payload->data = mproc_malloc(payload->len);
    if (!payload->data)
        return mproc__fail(MPROC_ENOMEM);
    rc = px_recv_all(fd, payload->data, payload->len, deadline);
    if (rc) {
        mproc_bytes_free(payload);
        return rc;
    }
    *flags = rec.code;
    return 0;
}

int px_exitcode_from_status(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return -WTERMSIG(status);
    return -1;
}

int px_try_waitpid(pid_t pid, int *exitcode)
{
    int status;
    pid_t r;
    while ((r = waitpid(pid, &status, WNOHANG)) < 0 && errno == EINTR) {
    }
    if (r == 0)
        return 0;
    /* r < 0: someone else reaped it (SIGCHLD ignored, or waitpid(-1) elsewhere). */
    *exitcode = r < 0 ? 255 : px_exitcode_from_status(status);
    return 1;
}
