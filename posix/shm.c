/* POSIX: shared memory segments, named segments, parking on shared words, liveness.
 *
 * Anonymous segments are memfds on Linux and shm_open'ed-then-unlinked objects elsewhere:
 * no name exists past creation, so a killed process cannot leak one.
 *
 * Named segments live as "/mproc.<name>" (shm_open). Every process attached holds a
 * shared flock on its own open file description; whoever releases last (its exclusive
 * flock then succeeds) unlinks. The kernel drops the flocks of killed processes, so the
 * survivors still count right; and a name whose every user was killed is swept (the
 * core calls mpp_named_sweep when a child died by a signal, and on every create).
 *
 * Parking: Linux futexes on the shared word (not FUTEX_PRIVATE: other processes wait on
 * it too); macOS __ulock_wait with the shared compare-and-wait operation (the primitive
 * under libc++'s atomic wait; macOS has no sem_timedwait and process-shared condition
 * variables that cannot be made robust); elsewhere a bounded sleep-poll. */
#include "posix.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(MPP_LINUX)
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

/* ---- anonymous segments ----------------------------------------------------------------- */

static int random_suffix(char *buf, size_t size)
{
    static unsigned counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return snprintf(buf, size, "%ld-%lx-%x", (long)getpid(), (unsigned long)ts.tv_nsec,
                    mproc__add_relaxed(&counter, 1));
}

int mpp_segment_create(size_t size, mpp_handle *out)
{
    int fd = -1;
#if defined(MPP_LINUX) && defined(SYS_memfd_create)
    fd = (int)syscall(SYS_memfd_create, "mproc", 1u /* MFD_CLOEXEC */);
#endif
    if (fd < 0) {
        char name[96] = "/mproc-anon-";
        random_suffix(name + strlen(name), sizeof name - strlen(name));
        fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd >= 0) {
            shm_unlink(name);
            px_set_cloexec(fd, true);
        }
    }
    if (fd < 0)
        return mproc__fail_os_now();
    if (ftruncate(fd, (off_t)size) != 0) {
        int rc = mproc__fail_os_now();
        close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

int mpp_segment_map(mpp_handle h, size_t size, void **addr)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, (int)h, 0);
    if (p == MAP_FAILED)
        return mproc__fail_os_now();
    *addr = p;
    return 0;
}

void mpp_segment_unmap(void *addr, size_t size)
{
    if (addr)
        munmap(addr, size);
}

void mpp_segment_discard(mpp_handle h, size_t offset, size_t len)
{
#if defined(MPP_LINUX) && defined(FALLOC_FL_PUNCH_HOLE)
    fallocate((int)h, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)len);
#else
    (void)h;
    (void)offset;
    (void)len;
#endif
}

/* ---- named segments --------------------------------------------------------------------- */

#define NAME_PREFIX "mproc."

static int os_name(const char *name, char *buf, size_t size)
{
    int n = snprintf(buf, size, "/" NAME_PREFIX "%s", name);
    return n > 0 && (size_t)n < size ? 0 : MPROC_ETOOBIG;
}

/* A shared flock on our own description. The only exclusive holder ever is a releasing
 * process's brief probe (mpp_named_release), so a few retries always get through; they
 * are bounded all the same. */
static int flock_shared(int fd)
{
    for (int i = 0; i < 2000; i++) {
        if (flock(fd, LOCK_SH | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        mpp_sleep_ms(1);
    }
    errno = EWOULDBLOCK;
    return -1;
}

int mpp_named_create(const char *name, size_t size, mpp_handle *out)
{
    char path[300];
    if (os_name(name, path, sizeof path))
        return mproc__fail(MPROC_ETOOBIG);
    mpp_named_sweep();
    int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return mproc__fail_os_now();
    if (flock_shared(fd) != 0 || ftruncate(fd, (off_t)size) != 0) {
        int rc = mproc__fail_os_now();
        shm_unlink(path);
        close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

int mpp_named_open(const char *name, mpp_handle *out, size_t *size)
{
    char path[300];
    if (os_name(name, path, sizeof path))
        return mproc__fail(MPROC_ETOOBIG);
    int fd = shm_open(path, O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return mproc__fail_os_now();
    struct stat st;
    if (flock_shared(fd) != 0 || fstat(fd, &st) != 0) {
        int rc = mproc__fail_os_now();
        close(fd);
        return rc;
    }
    *out = fd;
    *size = (size_t)st.st_size;
    return 0;
}

int mpp_named_attach(mpp_handle received, const char *name, mpp_handle *out)
{
    /* A received fd shares the sender's open file description, and with it the sender's
     * flock: a description of our own is needed for our own count. */
    int fd = -1;
#if defined(MPP_LINUX)
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", (int)received);
    fd = open(path, O_RDWR | O_CLOEXEC);
#endif
    if (fd < 0) {
        /* Elsewhere: the name again, if it still leads to the object we were sent. */
        char os[300];
        struct stat sent, named;
        if (os_name(name, os, sizeof os) != 0 || fstat((int)received, &sent) != 0)
            return mproc__fail_os_now();
        fd = shm_open(os, O_RDWR | O_CLOEXEC, 0600);
        bool same = fd >= 0 && fstat(fd, &named) == 0 && named.st_ino == sent.st_ino &&
                    named.st_dev == sent.st_dev;
        if (fd >= 0 && !same) {
            close(fd);
            fd = -1;
            errno = ENOENT;
        }
        if (fd < 0 && errno == ENOENT) {
            /* The name is gone (its last holder released it) or is another object's now:
             * nobody can reach this one by name any more, so it needs no lock of ours;
             * the sender's description serves (mpp_named_release then finds no name). */
            fd = fcntl((int)received, F_DUPFD_CLOEXEC, 3);
            if (fd < 0)
                return mproc__fail_os_now();
            *out = fd;
            return 0;
        }
    }
    if (fd < 0)
        return mproc__fail_os_now();
    if (flock_shared(fd) != 0) {
        int rc = mproc__fail_os_now();
        close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

void mpp_named_release(const char *name, mpp_handle h)
{
    /* Our description may live on in copies (a pack, a child's received fd): drop its lock
     * first, then ask with a private description whether anyone else still holds one. */
    flock((int)h, LOCK_UN);
    char path[300];
    struct stat mine, named;
    if (os_name(name, path, sizeof path) == 0 && fstat((int)h, &mine) == 0) {
        int probe = shm_open(path, O_RDONLY | O_CLOEXEC, 0);
        /* Only if the name still leads to this very object (it may have been unlinked and
         * created anew by someone else). */
        if (probe >= 0 && fstat(probe, &named) == 0 && named.st_ino == mine.st_ino &&
            named.st_dev == mine.st_dev && flock(probe, LOCK_EX | LOCK_NB) == 0)
            shm_unlink(path);
        if (probe >= 0)
            close(probe); /* drops the probe's lock at once */
    }
    close((int)h);
}

int mpp_named_unlink(const char *name)
{
    char path[300];
    if (os_name(name, path, sizeof path))
        return mproc__fail(MPROC_ETOOBIG);
    return shm_unlink(path) == 0 ? 0 : mproc__fail_os_now();
}

void mpp_named_sweep(void)
{
#if defined(MPP_LINUX)
    DIR *d = opendir("/dev/shm");
    if (!d)
        return;
    time_t now = time(NULL);
    for (struct dirent *e; (e = readdir(d));) {
        if (strncmp(e->d_name, NAME_PREFIX, strlen(NAME_PREFIX)) != 0)
            continue;
        char path[300];
        snprintf(path, sizeof path, "/%s", e->d_name);
        int fd = shm_open(path, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0)
            continue;
        struct stat st;
        /* Unheld, and not just being created (a creator flocks right after creating). */
        if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st) == 0 && now - st.st_ctime >= 2)
            shm_unlink(path);
        close(fd);
    }
    closedir(d);
#endif
}

/* ---- parking -------------------------------------------------------------------------- */

#if defined(__APPLE__)
/* From the kernel's ulock interface (xnu bsd/sys/ulock.h), stable since macOS 10.12. */
extern int __ulock_wait(uint32_t operation, void *addr, uint64_t value, uint32_t timeout_us);
extern int __ulock_wake(uint32_t operation, void *addr, uint64_t wake_value);
#define MPROC_UL_COMPARE_AND_WAIT_SHARED 3
#define MPROC_ULF_WAKE_ALL 0x00000100
#endif

int mpp_park_create(mpp_handle *out)
{
    *out = MPP_NO_HANDLE;
    return 0;
}

void mpp_park_wait(mpp_handle park, uint32_t *word, uint32_t expected, int64_t timeout_ms)
{
    (void)park;
#if defined(MPP_LINUX)
    struct timespec ts, *tsp = NULL;
    if (timeout_ms >= 0) {
        ts.tv_sec = (time_t)(timeout_ms / 1000);
        ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
        tsp = &ts;
    }
    syscall(SYS_futex, word, FUTEX_WAIT, expected, tsp, NULL, 0);
#elif defined(__APPLE__)
    uint32_t us =
        timeout_ms < 0 || timeout_ms > UINT32_MAX / 1000 ? 0 : (uint32_t)timeout_ms * 1000;
    if (timeout_ms == 0)
        return;
    __ulock_wait(MPROC_UL_COMPARE_AND_WAIT_SHARED, word, expected, us);
#else
    /* No shared wait primitive known here: sleep briefly and let the caller re-check. */
    if (mproc__load_acquire(word) != expected || timeout_ms == 0)
        return;
    mpp_sleep_ms(timeout_ms < 0 || timeout_ms > 1 ? 1 : timeout_ms);
#endif
}

void mpp_park_wake(mpp_handle park, uint32_t *word, uint32_t count)
{
    (void)park;
#if defined(MPP_LINUX)
    syscall(SYS_futex, word, FUTEX_WAKE, count > INT_MAX ? INT_MAX : (int)count, NULL, NULL, 0);
#elif defined(__APPLE__)
    __ulock_wake(MPROC_UL_COMPARE_AND_WAIT_SHARED | (count > 1 ? MPROC_ULF_WAKE_ALL : 0), word, 0);
#else
    (void)word;
    (void)count;
#endif
}
