/* POSIX: the OS primitives of platform.h (errors, clocks, the core lock, identity, CPU
 * counts, handles, threads). They stand on base/error.c and base/memory.c alone: the rest
 * of the core stands on them (scripts/check-layers.py). */
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
#if defined(MPP_LINUX)
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
    case EINVAL:
    case EBADF: return MPROC_EINVAL;
    case ENOMEM:
    case ENOBUFS: return MPROC_ENOMEM;
    case ETIMEDOUT: return MPROC_ETIMEDOUT;
    case EPIPE:
    case ECONNRESET:
    case ENOTCONN: return MPROC_ECLOSED;
    case ENOENT:
    case ESRCH: return MPROC_ENOENT;
    case EEXIST: return MPROC_EEXIST;
    case EPERM:
    case EACCES: return MPROC_EPERM;
    case EAGAIN:
    case EMFILE:
    case ENFILE: return MPROC_EOS;
    case ENOSYS:
    case ENOTSUP: return MPROC_ENOTSUP;
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
    mproc__store_relaxed(&cached_pid, 0);
}

static void register_fork_handler(void)
{
    pthread_atfork(NULL, NULL, forget_pid);
}

int64_t mpp_getpid(void)
{
    pid_t pid = mproc__load_relaxed(&cached_pid);
    if (pid == 0) {
        pthread_once(&cached_pid_once, register_fork_handler);
        pid = getpid();
        mproc__store_relaxed(&cached_pid, pid);
    }
    return (int64_t)pid;
}

int64_t mpp_getppid(void)
{
    return (int64_t)getppid();
}

bool px_is_main_thread(void)
{
#if defined(MPP_LINUX)
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

#if defined(MPP_LINUX)
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
#if defined(MPP_LINUX)
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

/* ---- handles and other processes ---------------------------------------------------- */

int mpp_handle_dup(mpp_handle h, mpp_handle *out)
{
    int fd = fcntl((int)h, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return mproc__fail_os_now();
    *out = fd;
    return 0;
}

void mpp_handle_close(mpp_handle h)
{
    if (h >= 0)
        close((int)h);
}

bool mpp_pid_alive(int64_t pid)
{
    if (pid <= 0)
        return false;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return false;
#if defined(MPP_LINUX)
    /* A killed child stays a zombie until its parent reaps it; it holds nothing. */
    char path[64], line[512], state = 0;
    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    FILE *f = fopen(path, "re");
    if (f) {
        /* The command name may hold ") ": the state follows the last ')'. */
        if (fgets(line, sizeof line, f)) {
            const char *close = strrchr(line, ')');
            if (close && close[1] == ' ')
                state = close[2];
        }
        fclose(f);
    }
    if (state == 'Z' || state == 'X')
        return false;
#else
    /* Without /proc only our own children's zombies can be told apart (not reaped here). */
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid)
        return false;
#endif
    return true;
}

uint64_t mpp_thread_id(void)
{
    /* The address of a thread-local is unique among live threads and costs no call. */
    static _Thread_local char marker;
    return (uint64_t)(uintptr_t)&marker;
}

/* ---- threads ------------------------------------------------------------------------ */

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
