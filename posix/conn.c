/* POSIX connections: a non-blocking stream socket per end (socketpair; a simplex pipe
 * shuts one direction down on each end, so every write can use MSG_NOSIGNAL and a gone
 * reader is an error, never a SIGPIPE). Waits are poll(). */
#include "posix.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct mpp_conn {
    int fd;
};

static int conn_new(int fd, mpp_conn **out)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return mproc__fail_os_now();
    mpp_conn *c = mproc_calloc(1, sizeof *c);
    if (!c)
        return mproc__fail(MPROC_ENOMEM);
    c->fd = fd;
    *out = c;
    return 0;
}

int mpp_pipe(mpp_conn **a, mpp_conn **b, bool duplex)
{
    int sv[2];
    int rc = px_socketpair(sv);
    if (rc)
        return rc;
    if (!duplex) {
        shutdown(sv[0], SHUT_WR); /* a reads */
        shutdown(sv[1], SHUT_RD); /* b writes */
    }
    rc = conn_new(sv[0], a);
    if (!rc) {
        rc = conn_new(sv[1], b);
        if (rc)
            mproc_free(*a);
    }
    if (rc) {
        close(sv[0]);
        close(sv[1]);
    }
    return rc;
}

int mpp_conn_adopt(mpp_handle h, mpp_conn **out)
{
    return conn_new((int)h, out);
}

mpp_handle mpp_conn_handle(const mpp_conn *c)
{
    return c->fd;
}

static int wait_fd(int fd, short events, int64_t deadline)
{
    int ready = px_wait_fd(fd, events, mproc__remaining(deadline));
    return ready < 0 ? ready : 0;
}

int mpp_conn_write(mpp_conn *c, const void *buf, size_t len, int64_t deadline, size_t *done)
{
    *done = 0;
    const char *p = buf;
    while (*done < len) {
        ssize_t n = send(c->fd, p + *done, len - *done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            *done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (mproc__remaining(deadline) == 0)
                return 0;
            int rc = wait_fd(c->fd, POLLOUT, deadline);
            if (rc)
                return rc;
            continue;
        }
        if (errno == EPIPE || errno == ECONNRESET)
            return mproc__fail_os_now(), MPROC_ECLOSED;
        return mproc__fail_os_now();
    }
    return 0;
}

int mpp_conn_read(mpp_conn *c, void *buf, size_t cap, int64_t deadline, size_t *got)
{
    *got = 0;
    for (;;) {
        ssize_t n = recv(c->fd, buf, cap, MSG_DONTWAIT);
        if (n > 0) {
            *got = (size_t)n;
            return 0;
        }
        if (n == 0)
            return MPROC_ECLOSED;
        if (errno == EINTR)
            continue;
        if (errno == ECONNRESET)
            return MPROC_ECLOSED;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return mproc__fail_os_now();
        if (mproc__remaining(deadline) == 0)
            return 0;
        int rc = wait_fd(c->fd, POLLIN, deadline);
        if (rc)
            return rc;
    }
}

bool mpp_conn_peer_closed(mpp_conn *c)
{
    char b;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE));
}

void mpp_conn_close(mpp_conn *c)
{
    if (!c)
        return;
    close(c->fd);
    mproc_free(c);
}

int mpp_wait(const mpp_waitable *items, size_t n, int64_t timeout_ms, bool *ready)
{
    struct pollfd small[16], *fds = n <= 16 ? small : mproc_malloc(n * sizeof *fds);
    if (!fds)
        return mproc__fail(MPROC_ENOMEM);
    for (size_t i = 0; i < n; i++)
        fds[i] = (struct pollfd){.fd = items[i].conn ? items[i].conn->fd : (int)items[i].sentinel,
                                 .events = POLLIN};
    int64_t deadline = mproc__deadline(timeout_ms);
    int r;
    for (;;) {
        int64_t left = mproc__remaining(deadline);
        r = poll(fds, (nfds_t)n, left > INT32_MAX || left < 0 ? -1 : (int)left);
        if (r >= 0 || errno != EINTR)
            break;
    }
    int count = 0;
    if (r < 0) {
        count = mproc__fail_os_now();
    } else {
        for (size_t i = 0; i < n; i++) {
            ready[i] = fds[i].revents != 0;
            count += ready[i];
        }
    }
    if (fds != small)
        mproc_free(fds);
    return count;
}

/* ---- handles for a running child ------------------------------------------------------ */

int mpp_give_handles(mpp_child *c, mpp_conn *via, const mpp_handle *handles, size_t n,
                     uint64_t *values, int64_t deadline)
{
    (void)c;
    (void)values; /* the child's copies get their values as they arrive */
    if (!via)
        return mproc__fail(MPROC_EINVAL);
    return n ? px_send_handles((int)mpp_conn_handle(via), handles, n, deadline) : 0;
}

bool mpp_give_handles_needs_conn(void)
{
    return true; /* descriptors go over a socket with SCM_RIGHTS */
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
        rc = px_recv_record((int)mpp_conn_handle(via), &rec, &got, deadline);
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
