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

int64_t mpp_monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
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

/* getpid() is a system call in today's glibc and the lock fast path records the owner's
 * pid, so it is cached; a fork handler clears the cache in every child, ours or not. */
static pid_t cached_pid;
static pthread_once_t cached_pid_once = PTHREAD_ONCE_INIT;

static void forget_pid(void)
{
    __atomic_store_n(&cached_pid, 0, __ATOMIC_RELAXED);
}

static void register_fork_handler(void)
{
    pthread_atfork(NULL, NULL, forget_pid);
}

int64_t mpp_getpid(void)
{
    pid_t pid = __atomic_load_n(&cached_pid, __ATOMIC_RELAXED);
    if (pid == 0) {
        pthread_once(&cached_pid_once, register_fork_handler);
        pid = getpid();
        __atomic_store_n(&cached_pid, pid, __ATOMIC_RELAXED);
    }
    return (int64_t)pid;
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

/* Reads one record; SCM_RIGHTS descriptors riding on it are appended to fds. */
static int recv_record(int fd, chan_record *rec, mproc__handles *fds, int64_t deadline)
{
    for (;;) {
        int ready = px_wait_fd(fd, POLLIN, mproc__remaining(deadline));
        if (ready < 0)
            return ready;
        if (ready == 0)
            return mproc__fail(MPROC_ETIMEDOUT);
        union {
            struct cmsghdr align;
            char buf[CMSG_SPACE(sizeof(int) * PX_FDS_PER_MESSAGE)];
        } control;
        struct iovec iov = {rec, sizeof *rec};
        struct msghdr msg = {0};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof control.buf;
        ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n < 0)
            return mproc__fail_os_now();
        if (n == 0)
            return mproc__fail(MPROC_ECLOSED);
        int rc = 0;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
            if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
                continue;
            size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; i++) {
                int got;
                memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof got);
                if (fds && !rc)
                    rc = mproc__handles_push(fds, got);
                else
                    close(got);
            }
        }
        if (msg.msg_flags & MSG_CTRUNC)
            rc = rc ? rc : MPROC_EPROTO;
        if (!rc && (size_t)n < sizeof *rec)
            rc = px_recv_all(fd, (char *)rec + n, sizeof *rec - (size_t)n, deadline);
        return rc ? mproc__fail(rc) : 0;
    }
}

int px_send_handles(int fd, const mpp_handle *handles, size_t n, int64_t deadline)
{
    for (size_t done = 0; done < n;) {
        size_t batch = n - done < PX_FDS_PER_MESSAGE ? n - done : PX_FDS_PER_MESSAGE;
        chan_record rec = {.tag = REC_HANDLES, .code = (int32_t)batch, .value = (int64_t)n};
        union {
            struct cmsghdr align;
            char buf[CMSG_SPACE(sizeof(int) * PX_FDS_PER_MESSAGE)];
        } control;
        memset(&control, 0, sizeof control);
        struct iovec iov = {&rec, sizeof rec};
        struct msghdr msg = {0};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * batch);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * batch);
        for (size_t i = 0; i < batch; i++) {
            int v = (int)handles[done + i];
            memcpy(CMSG_DATA(cm) + i * sizeof(int), &v, sizeof v);
        }
        ssize_t sent;
        while ((sent = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT)) < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return mproc__fail_os_now();
            int ready = px_wait_fd(fd, POLLOUT, mproc__remaining(deadline));
            if (ready < 0)
                return ready;
            if (ready == 0)
                return mproc__fail(MPROC_ETIMEDOUT);
        }
        if ((size_t)sent < sizeof rec) {
            int rc = px_send_all(fd, (char *)&rec + sent, sizeof rec - (size_t)sent, deadline);
            if (rc)
                return rc;
        }
        done += batch;
    }
    return 0;
}

int px_read_payload(int fd, int64_t deadline, int32_t *flags, mproc_bytes *payload,
                    mproc__handles *handles)
{
    chan_record rec;
    int rc;
    /* Handles (if any) come first, in batches; then the payload. */
    while ((rc = recv_record(fd, &rec, handles, deadline)) == 0 && rec.tag == REC_HANDLES) {
    }
    if (rc)
        return rc;
    if (rec.tag != REC_PAYLOAD || rec.value < 0 || (uint64_t)rec.value > SIZE_MAX)
        return mproc__fail(MPROC_EPROTO);
    payload->len = (size_t)rec.value;
    payload->data = mproc_malloc(payload->len ? payload->len : 1);
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

int mpp_give_handles(mpp_child *c, mpp_conn *via, const mpp_handle *handles, size_t n,
                     uint64_t *values, int64_t deadline)
{
    (void)c;
    (void)values; /* the child's copies get their values as they arrive */
    if (!via)
        return mproc__fail(MPROC_EINVAL);
    return n ? px_send_handles((int)mpp_conn_handle(via), handles, n, deadline) : 0;
}

int mpp_take_handles(mpp_conn *via, const uint64_t *values, size_t n, mpp_handle *out,
                     int64_t deadline)
{
    (void)values;
    if (!via)
        return mproc__fail(MPROC_EINVAL);
    mproc__handles got = {0};
    chan_record rec;
    int rc = 0;
    while (!rc && got.count < n) {
        rc = recv_record((int)mpp_conn_handle(via), &rec, &got, deadline);
        if (!rc && (rec.tag != REC_HANDLES || (uint64_t)rec.value != n))
            rc = mproc__fail(MPROC_EPROTO);
    }
    if (!rc && got.count != n)
        rc = mproc__fail(MPROC_EPROTO);
    if (rc) {
        mproc__handles_close(&got);
        return rc;
    }
    memcpy(out, got.items, n * sizeof *out);
    mproc_free(got.items);
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

/* ---- threads ------------------------------------------------------------------------------ */

struct mpp_thread {
    pthread_t tid;
    void (*fn)(void *);
    void *arg;
};

struct mpp_mutex {
    pthread_mutex_t m;
};

struct mpp_cond {
    pthread_cond_t c;
};

static void *thread_main(void *arg)
{
    mpp_thread *t = arg;
    t->fn(t->arg);
    return NULL;
}

int mpp_thread_start(mpp_thread **out, void (*fn)(void *), void *arg)
{
    mpp_thread *t = mproc_calloc(1, sizeof *t);
    if (!t)
        return mproc__fail(MPROC_ENOMEM);
    t->fn = fn;
    t->arg = arg;
    int err = pthread_create(&t->tid, NULL, thread_main, t);
    if (err) {
        mproc_free(t);
        return mproc__fail_os(err);
    }
    *out = t;
    return 0;
}

void mpp_thread_join(mpp_thread *t)
{
    if (!t)
        return;
    pthread_join(t->tid, NULL);
    mproc_free(t);
}

int mpp_mutex_create(mpp_mutex **out)
{
    mpp_mutex *m = mproc_calloc(1, sizeof *m);
    if (!m)
        return mproc__fail(MPROC_ENOMEM);
    int err = pthread_mutex_init(&m->m, NULL);
    if (err) {
        mproc_free(m);
        return mproc__fail_os(err);
    }
    *out = m;
    return 0;
}

void mpp_mutex_destroy(mpp_mutex *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->m);
    mproc_free(m);
}

void mpp_mutex_lock(mpp_mutex *m)
{
    pthread_mutex_lock(&m->m);
}

void mpp_mutex_unlock(mpp_mutex *m)
{
    pthread_mutex_unlock(&m->m);
}

int mpp_cond_create(mpp_cond **out)
{
    mpp_cond *c = mproc_calloc(1, sizeof *c);
    if (!c)
        return mproc__fail(MPROC_ENOMEM);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
#if !defined(__APPLE__)
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* immune to wall-clock jumps */
#endif
    int err = pthread_cond_init(&c->c, &attr);
    pthread_condattr_destroy(&attr);
    if (err) {
        mproc_free(c);
        return mproc__fail_os(err);
    }
    *out = c;
    return 0;
}

void mpp_cond_destroy(mpp_cond *c)
{
    if (!c)
        return;
    pthread_cond_destroy(&c->c);
    mproc_free(c);
}

void mpp_cond_wait(mpp_cond *c, mpp_mutex *m, int64_t timeout_ms)
{
    if (timeout_ms < 0) {
        pthread_cond_wait(&c->c, &m->m);
        return;
    }
    struct timespec ts;
#if defined(__APPLE__)
    ts.tv_sec = (time_t)(timeout_ms / 1000);
    ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
    pthread_cond_timedwait_relative_np(&c->c, &m->m, &ts);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(timeout_ms / 1000);
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&c->c, &m->m, &ts);
#endif
}

void mpp_cond_signal(mpp_cond *c)
{
    pthread_cond_signal(&c->c);
}

void mpp_cond_broadcast(mpp_cond *c)
{
    pthread_cond_broadcast(&c->c);
}
