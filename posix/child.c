/* POSIX children, parent side: fork, posix_spawn of ourselves (spawn_self.c), and the
 * fork server's children (forkserver.c), started, watched, signalled and reaped.
 *
 * Every child has one stream socket to its parent (the "channel"). The parent's end is
 * the sentinel: it becomes readable when the child ends (EOF from a direct child; a
 * REC_EXIT record from the fork server). What the child does with its end is
 * bootstrap.c's. */
#include "posix.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__APPLE__)
#include <libproc.h>
#elif defined(__FreeBSD__)
#include <sys/sysctl.h>
#include <sys/user.h>
#endif

struct mpp_child {
    int method;
    pid_t pid;
    int fd;               /* parent's end of the channel */
    chan_record exit_rec; /* fork server: REC_EXIT being read */
    size_t exit_rec_len;
    struct mpp_child *next; /* live list, to close in forked children */
};

/* Children whose channel we hold; guarded by mpp_lock. */
static mpp_child *live_children;

bool mpp_method_available(int method)
{
    return method == MPROC_FORK || method == MPROC_SPAWN || method == MPROC_FORKSERVER;
}

int mpp_default_method(void)
{
    return MPROC_FORKSERVER;
}

/* Threads that exist before the program makes any: under qemu-user the emulator's own
 * threads show in /proc/self/task. Counted at mproc_init. */
static int threads_at_init = 1;

static int count_threads(void)
{
#if defined(MPP_LINUX)
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return 1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
#elif defined(__APPLE__)
    struct proc_taskinfo info;
    if (proc_pidinfo(getpid(), PROC_PIDTASKINFO, 0, &info, sizeof info) == (int)sizeof info)
        return info.pti_threadnum;
    return 1;
#elif defined(__FreeBSD__)
    int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, getpid()};
    struct kinfo_proc info;
    size_t len = sizeof info;
    if (sysctl(mib, 4, &info, &len, NULL, 0) == 0 && len == sizeof info)
        return info.ki_numthreads;
    return 1;
#else
    return 1; /* not known: fork() from threads goes unwarned */
#endif
}

void px_count_threads_at_init(void)
{
    threads_at_init = count_threads();
}

/* Waits for the child's REC_ACK; on refusal or death, reaps a direct child. */
static int await_ack(mpp_child *c, int64_t deadline)
{
    chan_record rec;
    int rc = px_recv_all(c->fd, &rec, sizeof rec, deadline);
    if (rc == 0 && rec.tag == REC_ACK && rec.code == 0)
        return 0;
    if (rc == 0)
        rc = rec.tag == REC_ACK ? rec.code : MPROC_EPROTO;
    else if (rc == MPROC_ECLOSED)
        rc = MPROC_ESPAWN; /* died (or exec failed) before taking the payload */
    return rc;
}

/* Reaps a direct child that is ending or must end now (bounded: kills after 5 s). */
static void reap_direct(pid_t pid)
{
    int status;
    for (int i = 0; i < 500; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return;
        mpp_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

static int send_payload(int fd, const mproc_bytes *payload, int32_t flags, int64_t deadline)
{
    chan_record rec = {.tag = REC_PAYLOAD, .code = flags, .value = (int64_t)payload->len};
    int rc = px_send_all(fd, &rec, sizeof rec, deadline);
    return rc ? rc : px_send_all(fd, payload->data, payload->len, deadline);
}

/* In a forked child: closes every descriptor of the parent's other children. */
static void close_inherited_channels(void)
{
    /* Only the forking thread exists here; the list is ours alone now. */
    for (mpp_child *c = live_children; c; c = c->next)
        close(c->fd);
    live_children = NULL;
}

/* The forked child, up to the core. What else of the parent's it must not keep (the fork
 * server's channel among it) its after-fork hooks drop: the core's child main runs them
 * before anything of the task, and nothing before that starts a child. */
_Noreturn static void fork_child_main(int channel_fd, const mproc_bytes *payload, int32_t flags,
                                      pid_t parent)
{
    close_inherited_channels();
    px_watch_parent(channel_fd, flags, parent);
    px_child_run(channel_fd, MODE_FORK, (mproc_bytes *)payload, NULL);
}

int mpp_child_start(mpp_child **out, int method, const mproc_bytes *payload,
                    const mpp_handle *handles, size_t nhandles, int64_t timeout_ms,
                    int64_t *pid_out)
{
    int64_t deadline = mproc__deadline(timeout_ms);
    mpp_child *c = mproc_calloc(1, sizeof *c);
    if (!c)
        return mproc__fail(MPROC_ENOMEM);
    c->method = method;
    int sv[2];
    int rc = px_socketpair(sv);
    if (rc) {
        mproc_free(c);
        return rc;
    }
    c->fd = sv[0];
    int32_t flags = px_is_main_thread() ? PAYLOAD_PDEATHSIG : 0;

    if (method == MPROC_FORK) {
        int threads = count_threads() - threads_at_init + 1;
        if (threads > 1)
            mproc_log(MPROC_LOG_WARNING,
                      "fork() from a process with %d threads: only the calling thread exists in "
                      "the child; prefer the forkserver or spawn start method",
                      threads);
        pid_t parent = getpid();
        /* Hold the lock across fork so no other thread is inside the core's state. */
        mpp_lock();
        pid_t pid = fork();
        if (pid == 0) {
            close(sv[0]);
            fork_child_main(sv[1], payload, flags, parent);
        }
        mpp_unlock();
        close(sv[1]);
        if (pid < 0) {
            rc = mproc__fail_os_now();
            close(sv[0]);
            mproc_free(c);
            return rc == MPROC_ENOMEM ? rc : MPROC_ESPAWN;
        }
        c->pid = pid;
    } else if (method == MPROC_SPAWN) {
        rc = px_spawn_self(ARG_CHILD, sv[1], &c->pid);
        close(sv[1]);
        if (!rc)
            rc = px_send_handles(c->fd, handles, nhandles, deadline);
        if (!rc)
            rc = send_payload(c->fd, payload, flags, deadline);
        if (!rc)
            rc = await_ack(c, deadline);
        if (rc && c->pid > 0)
            reap_direct(c->pid);
    } else {
        rc = px_forkserver_request(sv[1]);
        close(sv[1]);
        chan_record rec = {0};
        if (!rc)
            rc = px_recv_all(c->fd, &rec, sizeof rec, deadline);
        if (!rc && (rec.tag != REC_PID || rec.value <= 0)) {
            if (rec.tag == REC_PID)
                mproc__fail_os(rec.code);
            rc = MPROC_ESPAWN;
        }
        if (rc == MPROC_ECLOSED)
            rc = MPROC_ESPAWN;
        if (!rc) {
            c->pid = (pid_t)rec.value;
            /* The server's child inherits no parent-death signal from us; the server
             * itself sees our end and kills its children when we go. */
            rc = px_send_handles(c->fd, handles, nhandles, deadline);
            rc = rc ? rc : send_payload(c->fd, payload, 0, deadline);
            rc = rc ? rc : await_ack(c, deadline);
            /* A refusing child exits at once; the server reports it and we drop that. */
        }
    }
    if (rc) {
        close(c->fd);
        mproc_free(c);
        return rc;
    }
    mpp_lock();
    c->next = live_children;
    live_children = c;
    mpp_unlock();
    *out = c;
    *pid_out = c->pid;
    return 0;
}

void mpp_child_wait_hint(mpp_child *c, int64_t timeout_ms)
{
    /* A direct child's grandchildren may hold its end of the channel past its death, so
     * waitpid is checked at least every 50 ms; the server reports exits itself. */
    int64_t slice = c->method == MPROC_FORKSERVER ? timeout_ms : 50;
    if (timeout_ms >= 0 && timeout_ms < slice)
        slice = timeout_ms;
    px_wait_fd(c->fd, POLLIN, slice);
}

int mpp_child_try_reap(mpp_child *c, int *exitcode)
{
    if (c->method != MPROC_FORKSERVER)
        return px_try_waitpid(c->pid, exitcode);
    char *dst = (char *)&c->exit_rec;
    while (c->exit_rec_len < sizeof c->exit_rec) {
        ssize_t n =
            recv(c->fd, dst + c->exit_rec_len, sizeof c->exit_rec - c->exit_rec_len, MSG_DONTWAIT);
        if (n > 0) {
            c->exit_rec_len += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        /* The server is gone without reporting: its children died with it (they carry
         * a parent-death signal), so report the kill. */
        *exitcode = -SIGKILL;
        return 1;
    }
    if (c->exit_rec.tag != REC_EXIT)
        return mproc__fail(MPROC_EPROTO);
    *exitcode = px_exitcode_from_status(c->exit_rec.code);
    return 1;
}

mpp_handle mpp_child_sentinel(mpp_child *c)
{
    return c->fd;
}

int mpp_child_signal(mpp_child *c, bool force)
{
    if (kill(c->pid, force ? SIGKILL : SIGTERM) < 0 && errno != ESRCH)
        return mproc__fail_os_now();
    return 0;
}

void mpp_child_free(mpp_child *c)
{
    mpp_lock();
    for (mpp_child **link = &live_children; *link; link = &(*link)->next)
        if (*link == c) {
            *link = c->next;
            break;
        }
    mpp_unlock();
    close(c->fd);
    mproc_free(c);
}
