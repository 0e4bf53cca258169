/* POSIX listening and connecting, one OS step each (the core's modules/net.c parses the
 * address and tries a host's addresses): TCP for "host:port", a Unix stream socket for
 * "local:NAME" (Linux: the abstract namespace, so nothing on disk; elsewhere a socket file
 * in $TMPDIR or /tmp, removed by mpp_local_close). Every socket is non-blocking and
 * close-on-exec from the start; TCP connections have Nagle off. A connection is an fd
 * like a socketpair end, so mpp_conn_adopt wraps it and conn.c's reads, writes, waits and
 * handle passing all work on it. Waits are poll() bounded by the caller's deadline. */
#include "posix.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#if defined(MPP_LINUX)
#include <sys/random.h>
#endif

/* Linux names local sockets in the abstract namespace. MPP_LOCAL_SOCKET_FILES forces the
 * socket-file scheme of the other systems (to test it on Linux). */
#if defined(MPP_LINUX) && !defined(MPP_LOCAL_SOCKET_FILES)
#define PX_ABSTRACT 1
#endif

#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) ||   \
    defined(__DragonFly__)
#define PX_ARC4RANDOM 1
#endif

/* ---- addresses (parsed by the core: mproc__parse_address) ------------------------------ */

int mpp_tcp_resolve(const char *host, const char *port, mpp_tcp_addr **list)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_NUMERICSERV;
    struct addrinfo *first = NULL;
    int rc;
    do
        rc = getaddrinfo(host, port, &hints, &first);
    while (rc == EAI_SYSTEM && errno == EINTR);
    switch (rc) {
    case 0: *list = (mpp_tcp_addr *)first; return 0;
    case EAI_SYSTEM: return mproc__fail_os_now();
    case EAI_MEMORY: return mproc__fail(MPROC_ENOMEM);
    case EAI_FAMILY: return mproc__fail(MPROC_ENOTSUP);
    default: /* EAI_NONAME and its kin: no such host */ return mproc__fail(MPROC_ENOENT);
    }
}

const mpp_tcp_addr *mpp_tcp_addr_next(const mpp_tcp_addr *a)
{
    return (const mpp_tcp_addr *)((const struct addrinfo *)a)->ai_next;
}

void mpp_tcp_addr_free(mpp_tcp_addr *list)
{
    freeaddrinfo((struct addrinfo *)list);
}

/* The local socket's address: abstract "\0NAME" on Linux, else "$TMPDIR/NAME". */
static int local_sockaddr(const char *name, struct sockaddr_un *sa, socklen_t *len)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    size_t n = strlen(name);
#ifdef PX_ABSTRACT
    if (n + 1 > sizeof sa->sun_path)
        return mproc__fail(MPROC_EINVAL);
    memcpy(sa->sun_path + 1, name, n);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
#else
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    size_t d = strlen(dir);
    while (d > 1 && dir[d - 1] == '/')
        d--;
    int w = snprintf(sa->sun_path, sizeof sa->sun_path, "%.*s/%s", (int)d, dir, name);
    if (w < 0 || (size_t)w >= sizeof sa->sun_path)
        return mproc__fail(MPROC_EINVAL);
    (void)n;
    *len = (socklen_t)sizeof *sa;
#endif
    return 0;
}

/* ---- sockets ------------------------------------------------------------------------------ */

#if !defined(SOCK_CLOEXEC) || !defined(SOCK_NONBLOCK) || !defined(MPP_LINUX)
static int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return mproc__fail_os_now();
    return 0;
}
#endif

/* A socket fd is ready to be used here: close-on-exec, non-blocking, no SIGPIPE. */
static int socket_setup(int fd)
{
#ifdef SO_NOSIGPIPE
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
#if defined(SOCK_CLOEXEC) && defined(SOCK_NONBLOCK)
    (void)fd;
    return 0;
#else
    int rc = px_set_cloexec(fd, true);
    return rc ? rc : set_nonblocking(fd);
#endif
}

static int new_socket(int family, int *out)
{
#if defined(SOCK_CLOEXEC) && defined(SOCK_NONBLOCK)
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
#else
    int fd = socket(family, SOCK_STREAM, 0);
#endif
    if (fd < 0)
        return errno == EAFNOSUPPORT ? (mproc__fail_os_now(), MPROC_ENOTSUP) : mproc__fail_os_now();
    int rc = socket_setup(fd);
    if (rc) {
        close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

/* Wraps a connected socket (taken over: closed on failure). */
static int wrap_conn(int fd, bool tcp, mpp_conn **out)
{
    if (tcp) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    int rc = mpp_conn_adopt(fd, out);
    if (rc)
        close(fd);
    return rc;
}

static int bind_error(int err)
{
    mproc__fail_os(err);
    switch (err) {
    case EADDRINUSE: return MPROC_EEXIST;
    case EAFNOSUPPORT: return MPROC_ENOTSUP;
    default: return mpp_map_os_error(err);
    }
}

static int connect_error(int err)
{
    mproc__fail_os(err);
    switch (err) {
    case ECONNREFUSED:
    case ENOENT:
    case ECONNRESET:
    case ECONNABORTED: return MPROC_ECLOSED;
    case ETIMEDOUT: return MPROC_ETIMEDOUT;
    case EAFNOSUPPORT: return MPROC_ENOTSUP;
    default: return mpp_map_os_error(err);
    }
}

/* Whether a TCP socket is connected to itself (an unlucky connect to a free local port in
 * the ephemeral range can pair the socket with its own port). */
static bool self_connected(int fd)
{
    struct sockaddr_storage mine, peer;
    socklen_t ml = sizeof mine, pl = sizeof peer;
    memset(&mine, 0, sizeof mine);
    memset(&peer, 0, sizeof peer);
    return getsockname(fd, (struct sockaddr *)&mine, &ml) == 0 &&
           getpeername(fd, (struct sockaddr *)&peer, &pl) == 0 && ml == pl &&
           memcmp(&mine, &peer, ml) == 0;
}

/* One connection attempt, bounded by the deadline: 0 with *out_fd, or a code. */
static int connect_fd(int family, const struct sockaddr *sa, socklen_t len, int64_t deadline,
                      int *out_fd)
{
    int fd = -1;
    int rc = new_socket(family, &fd);
    if (rc)
        return rc;
    for (;;) {
        if (connect(fd, sa, len) == 0)
            break;
        int err = errno;
        if (err == EINPROGRESS || err == EINTR) {
            /* (after EINTR the connection goes on in the background, as after EINPROGRESS) */
            int ready = px_wait_fd(fd, POLLOUT, mproc__remaining(deadline));
            if (ready <= 0) {
                close(fd);
                return ready < 0 ? ready : mproc__fail(MPROC_ETIMEDOUT);
            }
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
                soerr = errno;
            if (soerr == 0)
                break;
            err = soerr;
        } else if (err == EAGAIN && family == AF_UNIX) {
            /* a local listener's backlog is full: try again shortly */
            int64_t left = mproc__remaining(deadline);
            if (left == 0) {
                close(fd);
                return mproc__fail(MPROC_ETIMEDOUT);
            }
            mpp_sleep_ms(left < 0 || left > 5 ? 5 : left);
            continue;
        }
        close(fd);
        return connect_error(err);
    }
    if (family != AF_UNIX && self_connected(fd)) {
        close(fd);
        return connect_error(ECONNREFUSED);
    }
    *out_fd = fd;
    return 0;
}

/* ---- TCP ------------------------------------------------------------------------------------ */

int mpp_tcp_listen(const mpp_tcp_addr *addr, mpp_handle *listener)
{
    const struct addrinfo *p = (const struct addrinfo *)addr;
    int fd = -1;
    int rc = new_socket(p->ai_family, &fd);
    if (rc)
        return rc;
    /* A restarted server can bind again while old connections sit in TIME_WAIT (two
     * live listeners on one address still collide). */
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, p->ai_addr, p->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) {
        *listener = fd;
        return 0;
    }
    rc = bind_error(errno);
    close(fd);
    return rc;
}

int mpp_tcp_bound(mpp_handle listener, struct mproc__net_addr *bound)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (getsockname((int)listener, (struct sockaddr *)&ss, &len) < 0)
        return mproc__fail_os_now();
    int rc = getnameinfo((struct sockaddr *)&ss, len, bound->host, sizeof bound->host, bound->port,
                         sizeof bound->port, NI_NUMERICHOST | NI_NUMERICSERV);
    if (rc)
        return rc == EAI_SYSTEM ? mproc__fail_os_now() : mproc__fail(MPROC_EOS);
    return 0;
}

/* Waits until the deadline for a client on listener fd. */
static int accept_fd(int listener, bool tcp, int64_t deadline, mpp_conn **out)
{
    for (;;) {
#if defined(MPP_LINUX)
        int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
#else
        int fd = accept(listener, NULL, NULL);
#endif
        if (fd >= 0) {
#if !defined(MPP_LINUX)
            int rc = px_set_cloexec(fd, true);
            if (!rc)
                rc = set_nonblocking(fd);
            if (rc) {
                close(fd);
                return rc;
            }
#endif
#ifdef SO_NOSIGPIPE
            int one = 1;
            setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
            return wrap_conn(fd, tcp, out);
        }
        int err = errno;
        if (err == EINTR || err == ECONNABORTED || err == EPROTO)
            continue; /* a client that left before we took it */
        if (err != EAGAIN && err != EWOULDBLOCK)
            return mproc__fail_os(err);
        int ready = px_wait_fd(listener, POLLIN, mproc__remaining(deadline));
        if (ready < 0)
            return ready;
        if (ready == 0)
            return mproc__fail(MPROC_ETIMEDOUT);
    }
}

int mpp_tcp_accept(mpp_handle listener, int64_t deadline, mpp_conn **out)
{
    return accept_fd((int)listener, true, deadline, out);
}

void mpp_tcp_close(mpp_handle listener)
{
    close((int)listener);
}

int mpp_tcp_connect(const mpp_tcp_addr *addr, int64_t deadline, mpp_handle *sock)
{
    const struct addrinfo *p = (const struct addrinfo *)addr;
    int fd = -1;
    int rc = connect_fd(p->ai_family, p->ai_addr, p->ai_addrlen, deadline, &fd);
    if (!rc)
        *sock = fd;
    return rc;
}

int mpp_tcp_conn(mpp_handle sock, mpp_conn **out)
{
    return wrap_conn((int)sock, true, out);
}

/* ---- local sockets -------------------------------------------------------------------------- */

struct mpp_local_listener {
    int fd;
#ifndef PX_ABSTRACT
    bool has_file; /* a socket file to remove at close, if it is still ours */
    dev_t dev;
    ino_t ino;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
#endif
};

#ifndef PX_ABSTRACT
/* Whether a socket file is left over by a server that is gone (nobody accepts there). */
static bool stale_socket_file(const struct sockaddr_un *sa, socklen_t len)
{
    int fd = -1;
    if (new_socket(AF_UNIX, &fd))
        return false;
    bool stale = connect(fd, (const struct sockaddr *)sa, len) < 0 && errno == ECONNREFUSED;
    close(fd);
    return stale;
}
#endif

void mpp_local_close(mpp_local_listener *l, bool owner)
{
    if (!l)
        return;
#ifndef PX_ABSTRACT
    /* Removes the socket file unless another server replaced it meanwhile. */
    struct stat st;
    if (owner && l->has_file && stat(l->path, &st) == 0 && st.st_dev == l->dev &&
        st.st_ino == l->ino)
        unlink(l->path);
#else
    (void)owner;
#endif
    if (l->fd >= 0)
        close(l->fd);
    mproc_free(l);
}

static int listen_local(mpp_local_listener *l, const char *name)
{
    struct sockaddr_un sa;
    socklen_t len = 0;
    int rc = local_sockaddr(name, &sa, &len);
    if (rc)
        return rc;
    int fd = -1;
    rc = new_socket(AF_UNIX, &fd);
    if (rc)
        return rc;
    int bound = bind(fd, (struct sockaddr *)&sa, len);
#ifndef PX_ABSTRACT
    if (bound < 0 && errno == EADDRINUSE && stale_socket_file(&sa, len)) {
        unlink(sa.sun_path);
        bound = bind(fd, (struct sockaddr *)&sa, len);
    }
#endif
    if (bound < 0) {
        rc = bind_error(errno);
        close(fd);
        return rc;
    }
#ifndef PX_ABSTRACT
    struct stat st;
    if (stat(sa.sun_path, &st) == 0) {
        l->has_file = true;
        l->dev = st.st_dev;
        l->ino = st.st_ino;
        memcpy(l->path, sa.sun_path, sizeof l->path);
    }
#endif
    l->fd = fd; /* (the file, if any, goes with the listener from here on) */
    if (listen(fd, SOMAXCONN) < 0)
        return mproc__fail_os_now();
    return 0;
}

int mpp_local_listen(const char *name, mpp_local_listener **out)
{
    mpp_local_listener *l = mproc_calloc(1, sizeof *l);
    if (!l)
        return mproc__fail(MPROC_ENOMEM);
    l->fd = -1;
    int rc = listen_local(l, name);
    if (rc) {
        mpp_local_close(l, true);
        return rc;
    }
    *out = l;
    return 0;
}

int mpp_local_accept(mpp_local_listener *l, int64_t deadline, mpp_conn **out)
{
    return accept_fd(l->fd, false, deadline, out);
}

int mpp_local_connect(const char *name, int64_t deadline, mpp_conn **out)
{
    struct sockaddr_un sa;
    socklen_t len = 0;
    int fd = -1;
    int rc = local_sockaddr(name, &sa, &len);
    if (!rc)
        rc = connect_fd(AF_UNIX, (struct sockaddr *)&sa, len, deadline, &fd);
    return rc ? rc : wrap_conn(fd, false, out);
}

/* ---- randomness ------------------------------------------------------------------------------ */

int mpp_random_bytes(void *buf, size_t n)
{
    if (!buf && n)
        return mproc__fail(MPROC_EINVAL);
#ifdef PX_ARC4RANDOM
    arc4random_buf(buf, n);
    return 0;
#else
    unsigned char *p = buf;
    size_t done = 0;
#if defined(MPP_LINUX)
    while (done < n) {
        ssize_t r = getrandom(p + done, n - done, 0);
        if (r > 0) {
            done += (size_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == ENOSYS || errno == EPERM))
            break; /* an old kernel or a filter: the device below */
        return mproc__fail_os_now();
    }
    if (done == n)
        return 0;
#endif
    int fd = -1;
    do
        fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return mproc__fail_os_now();
    while (done < n) {
        ssize_t r = read(fd, p + done, n - done);
        if (r > 0) {
            done += (size_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        int rc = r < 0 ? mproc__fail_os_now() : mproc__fail(MPROC_EOS);
        close(fd);
        return rc;
    }
    close(fd);
    return 0;
#endif
}
