/* POSIX: descriptor helpers of the backend (poll, whole sends and receives, the records
 * of a parent-child channel with SCM_RIGHTS) and handles for a running child. */
#include "posix.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

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

int px_recv_record(int fd, chan_record *rec, mproc__handles *fds, int64_t deadline)
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
    while ((rc = px_recv_record(fd, &rec, handles, deadline)) == 0 && rec.tag == REC_HANDLES) {
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
