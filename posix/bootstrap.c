/* POSIX children, child side: what a started child does before the core's child main
 * takes over. A spawned child reads its payload (and handles) from its channel; a spawned
 * or forked child arms the parent-death handling here (a fork server's child arms its own,
 * in forkserver.c); then each enters the core (mproc__enter_child, base.h), which answers
 * the parent through mpp_child_ack.
 *
 * The channel also tells the child when the parent is gone (EOF), which the parent-death
 * watcher uses. */
#include "posix.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#if defined(MPP_LINUX)
#include <sys/prctl.h>
#endif

static int channel = -1;
static int channel_mode;

static void *parent_watcher(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char byte;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, -1) < 0 && errno == EINTR)
            continue;
        ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR && errno != EWOULDBLOCK)) {
            kill(getpid(), SIGKILL); /* the parent is gone: go as it went */
            return NULL;
        }
        if (n > 0)
            recv(fd, &byte, 1, MSG_DONTWAIT); /* nothing is expected; drop it */
    }
}

static bool parent_gone(int channel_fd)
{
    char byte;
    return recv(channel_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

void px_watch_parent(int channel_fd, int32_t flags, pid_t expected_parent)
{
#if defined(MPP_LINUX)
    if (flags & PAYLOAD_PDEATHSIG) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != expected_parent || parent_gone(channel_fd))
            _exit(1);
        return;
    }
#else
    (void)flags;
    (void)expected_parent;
#endif
    /* A parent-death signal would fire when the creating *thread* exits, so when the
     * parent started us from another thread (or the OS has none), a thread watches the
     * channel for the parent's end instead. */
    pthread_t tid;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    if (pthread_create(&tid, &attr, parent_watcher, (void *)(intptr_t)channel_fd) != 0)
        mproc_log(MPROC_LOG_WARNING, "cannot watch for the parent's death");
    pthread_attr_destroy(&attr);
    if (parent_gone(channel_fd))
        _exit(1);
}

_Noreturn void px_child_run(int channel_fd, int mode, mproc_bytes *payload,
                            const mproc__handles *handles)
{
    channel = channel_fd;
    channel_mode = mode;
    mproc__enter_child(payload, handles ? handles->items : NULL, handles ? handles->count : 0);
}

void mpp_child_ack(int code)
{
    if (channel < 0 || channel_mode == MODE_FORK)
        return; /* a forked child's task was checked by the parent before fork */
    chan_record rec = {.tag = REC_ACK, .code = code};
    px_send_all(channel, &rec, sizeof rec, mproc__deadline(10000));
}

_Noreturn void mpp_exit(int code)
{
    fflush(NULL);
    _exit(code);
}

_Noreturn void px_spawned_child_main(int fd)
{
    pid_t parent = getppid();
    px_set_cloexec(fd, true);
    int32_t flags = 0;
    mproc_bytes payload = {0};
    mproc__handles handles = {0};
    if (px_read_payload(fd, mproc__deadline(60000), &flags, &payload, &handles) != 0)
        _exit(1);
    px_watch_parent(fd, flags, parent);
    px_child_run(fd, MODE_SPAWN, &payload, &handles);
}
