/* Windows listening and connecting (managers): Winsock TCP for "host:port", the named pipe
 * \\.\pipe\NAME for "local:NAME".
 *
 * TCP: every socket is non-blocking and not inheritable, Nagle off on connections. A
 * connected socket becomes an mpp_conn (conn.c marks it as a socket) whose reads and
 * writes are plain recv/send bounded by select() waits, here: recv and send either move
 * bytes or say "would block" at once, so a timeout never leaves an operation half done and
 * nothing read is lost. Each select waits at most a quarter second before the call is tried
 * again, so a wait the network stack forgets to end (a peer gone while waiting to write)
 * costs that much at worst.
 *
 * Pipes: the listener always keeps one instance waiting (the first created with
 * FILE_FLAG_FIRST_PIPE_INSTANCE, so the name is ours; Wine ignores the flag, so the name
 * is also looked up first), with an overlapped ConnectNamedPipe
 * in flight on it across accepts: a timed-out accept leaves it pending, and the next accept
 * (or the close) picks it up. Once a client came, the next instance is created before the
 * connected one is handed out, so clients never see "no such pipe" between accepts, only
 * ERROR_PIPE_BUSY, which connect waits out with WaitNamedPipeW within its timeout. */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <bcrypt.h>

#include "win32.h"

#include <stdio.h>
#include <string.h>
#include <wchar.h>

/* ---- Winsock ------------------------------------------------------------------------------ */

static INIT_ONCE wsa_once = INIT_ONCE_STATIC_INIT;
static int wsa_error;

static BOOL CALLBACK wsa_startup(PINIT_ONCE once, PVOID param, PVOID *context)
{
    (void)once;
    (void)param;
    (void)context;
    WSADATA data;
    wsa_error = WSAStartup(MAKEWORD(2, 2), &data); /* for the life of the process */
    return TRUE;
}

static int net_init(void)
{
    InitOnceExecuteOnce(&wsa_once, wsa_startup, NULL, NULL);
    return wsa_error ? mproc__fail_os(wsa_error) : 0;
}

/* A Winsock error as a code (recorded as the OS error). */
static int sock_fail(int err)
{
    mproc__fail_os(err);
    switch (err) {
    case WSAECONNREFUSED: case WSAECONNRESET: case WSAECONNABORTED: case WSAESHUTDOWN:
    case WSAENOTCONN: case WSAENETRESET: case WSAEDISCON:
        return MPROC_ECLOSED;
    case WSAETIMEDOUT: return MPROC_ETIMEDOUT;
    case WSAENOBUFS: case WSA_NOT_ENOUGH_MEMORY: return MPROC_ENOMEM;
    case WSAEAFNOSUPPORT: case WSAEPROTONOSUPPORT: case WSAESOCKTNOSUPPORT: return MPROC_ENOTSUP;
    case WSAEINVAL: case WSAENOTSOCK: case WSAEFAULT: return MPROC_EINVAL;
    case WSAEMFILE: return MPROC_EOS;
    default: return mpp_map_os_error(err);
    }
}

static int sock_fail_now(void)
{
    return sock_fail(WSAGetLastError());
}

/* Addresses are parsed by the core (mproc__parse_address). */
static int resolve(const mproc__net_addr *a, struct addrinfo **out)
{
    int rc = net_init();
    if (rc)
        return rc;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_NUMERICSERV;
    int err = getaddrinfo(a->host, a->port, &hints, out);
    if (err == 0)
        return 0;
    mproc__fail_os(err);
    switch (err) {
    case WSAHOST_NOT_FOUND: case WSANO_DATA: case WSANO_RECOVERY: case WSATRY_AGAIN:
        return MPROC_ENOENT;
    case WSA_NOT_ENOUGH_MEMORY: return MPROC_ENOMEM;
    case WSAEAFNOSUPPORT: return MPROC_ENOTSUP;
    default: return MPROC_EOS;
    }
}

/* A non-blocking, non-inheritable TCP socket. */
static int new_socket(int family, SOCKET *out)
{
    SOCKET s = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                          WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL) /* Windows before 7 SP1 */
        s = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    if (s == INVALID_SOCKET)
        return sock_fail_now();
    SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
    u_long on = 1;
    if (ioctlsocket(s, FIONBIO, &on) != 0) {
        int rc = sock_fail_now();
        closesocket(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* Waits until s is readable (write: writable; both: or failed) or the deadline passed,
 * at most a quarter second per call: 1 ready, 0 not (yet), or an error. */
static int sock_wait(SOCKET s, bool write, int64_t deadline)
{
    int64_t left = mproc__remaining(deadline);
    if (left < 0 || left > 250)
        left = 250;
    fd_set set, failed;
    FD_ZERO(&set);
    FD_ZERO(&failed);
    FD_SET(s, &set);
    FD_SET(s, &failed);
    struct timeval tv = {(long)(left / 1000), (long)(left % 1000) * 1000};
    int n = select(0, write ? NULL : &set, write ? &set : NULL, &failed, &tv);
    if (n == SOCKET_ERROR)
        return sock_fail_now();
    return n > 0;
}

/* ---- sockets as connections (conn.c calls these for socket ends) ---------------------------- */

int w32_sock_write(uintptr_t sock, const void *buf, size_t len, int64_t deadline, size_t *done)
{
    SOCKET s = (SOCKET)sock;
    *done = 0;
    while (*done < len) {
        size_t chunk = len - *done;
        int part = chunk > (1u << 30) ? (1 << 30) : (int)chunk;
        int n = send(s, (const char *)buf + *done, part, 0);
        if (n > 0) {
            *done += (size_t)n;
            continue;
        }
        int err = n == 0 ? WSAEWOULDBLOCK : WSAGetLastError();
        if (err != WSAEWOULDBLOCK && err != WSAEINTR && err != WSAEINPROGRESS)
            return sock_fail(err);
        if (mproc__remaining(deadline) == 0)
            return 0;
        int rc = sock_wait(s, true, deadline);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int w32_sock_read(uintptr_t sock, void *buf, size_t cap, int64_t deadline, size_t *got)
{
    SOCKET s = (SOCKET)sock;
    *got = 0;
    int part = cap > (1u << 30) ? (1 << 30) : (int)cap;
    for (;;) {
        int n = recv(s, buf, part, 0);
        if (n > 0) {
            *got = (size_t)n;
            return 0;
        }
        if (n == 0)
            return MPROC_ECLOSED;
        int err = WSAGetLastError();
        if (err != WSAEWOULDBLOCK && err != WSAEINTR && err != WSAEINPROGRESS)
            return sock_fail(err);
        if (mproc__remaining(deadline) == 0)
            return 0;
        int rc = sock_wait(s, false, deadline);
        if (rc < 0)
            return rc;
    }
}

int w32_sock_wait_readable(uintptr_t sock, int64_t deadline)
{
    for (;;) {
        int rc = sock_wait((SOCKET)sock, false, deadline);
        if (rc != 0 || mproc__remaining(deadline) == 0)
            return rc;
    }
}

bool w32_sock_peer_closed(uintptr_t sock)
{
    char b;
    fd_set set;
    FD_ZERO(&set);
    FD_SET((SOCKET)sock, &set);
    struct timeval now = {0, 0};
    if (select(0, &set, NULL, NULL, &now) != 1)
        return false;
    int n = recv((SOCKET)sock, &b, 1, MSG_PEEK);
    return n == 0 || (n == SOCKET_ERROR && WSAGetLastError() != WSAEWOULDBLOCK);
}

void w32_sock_close(uintptr_t sock)
{
    closesocket((SOCKET)sock);
}

/* Wraps a connected socket (taken over: closed on failure). */
static int wrap_socket(SOCKET s, mpp_conn **out)
{
    BOOL one = TRUE;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    int rc = w32_conn_from_socket((uintptr_t)s, out);
    if (rc)
        closesocket(s);
    return rc;
}

/* Whether a socket is connected to itself (possible when connecting to a free local port,
 * under Wine as on Linux). */
static bool self_connected(SOCKET s)
{
    struct sockaddr_storage mine, peer;
    int ml = sizeof mine, pl = sizeof peer;
    memset(&mine, 0, sizeof mine);
    memset(&peer, 0, sizeof peer);
    return getsockname(s, (struct sockaddr *)&mine, &ml) == 0 &&
           getpeername(s, (struct sockaddr *)&peer, &pl) == 0 && ml == pl &&
           memcmp(&mine, &peer, (size_t)ml) == 0;
}

static int connect_socket(const struct addrinfo *ai, int64_t deadline, SOCKET *out)
{
    SOCKET s;
    int rc = new_socket(ai->ai_family, &s);
    if (rc)
        return rc;
    if (connect(s, ai->ai_addr, (int)ai->ai_addrlen) != 0) {
        int err = WSAGetLastError();
        if (err != WSAEWOULDBLOCK && err != WSAEINPROGRESS) {
            closesocket(s);
            return sock_fail(err);
        }
        for (;;) {
            fd_set done, failed;
            FD_ZERO(&done);
            FD_ZERO(&failed);
            FD_SET(s, &done);
            FD_SET(s, &failed);
            int64_t left = mproc__remaining(deadline);
            int64_t ms = left < 0 || left > 250 ? 250 : left;
            struct timeval tv = {(long)(ms / 1000), (long)(ms % 1000) * 1000};
            int n = select(0, NULL, &done, &failed, &tv);
            if (n == SOCKET_ERROR) {
                rc = sock_fail_now();
                closesocket(s);
                return rc;
            }
            if (FD_ISSET(s, &failed)) {
                int soerr = 0, sl = sizeof soerr;
                if (getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&soerr, &sl) != 0 || !soerr)
                    soerr = WSAECONNREFUSED;
                closesocket(s);
                return sock_fail(soerr);
            }
            if (FD_ISSET(s, &done))
                break;
            if (mproc__remaining(deadline) == 0) {
                closesocket(s);
                return mproc__fail(MPROC_ETIMEDOUT);
            }
        }
    }
    if (self_connected(s)) {
        closesocket(s);
        return sock_fail(WSAECONNREFUSED);
    }
    *out = s;
    return 0;
}

/* ---- named pipes ------------------------------------------------------------------------------ */

static wchar_t *pipe_path(const char *name)
{
    wchar_t *w = w32_utf16(name);
    if (!w)
        return NULL;
    size_t n = wcslen(w) + 10;
    wchar_t *path = mproc_malloc(n * sizeof *path);
    if (path)
        _snwprintf(path, n, L"\\\\.\\pipe\\%ls", w);
    mproc_free(w);
    if (path)
        path[n - 1] = 0;
    return path;
}

static HANDLE new_instance(const wchar_t *path, bool first)
{
    DWORD open_mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED |
                      (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0);
    return CreateNamedPipeW(path, open_mode,
                            PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT |
                                PIPE_REJECT_REMOTE_CLIENTS,
                            PIPE_UNLIMITED_INSTANCES, 1 << 16, 1 << 16, 0, NULL);
}

static int connect_pipe(const char *name, int64_t deadline, mpp_conn **out)
{
    wchar_t *path = pipe_path(name);
    if (!path)
        return mproc__fail(MPROC_ENOMEM);
    int rc;
    for (;;) {
        HANDLE h = CreateFileW(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                               FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT |
                                   SECURITY_IDENTIFICATION,
                               NULL);
        if (h != INVALID_HANDLE_VALUE) {
            rc = mpp_conn_adopt((mpp_handle)h, out);
            if (rc)
                CloseHandle(h);
            break;
        }
        DWORD err = GetLastError();
        if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND) {
            rc = (mproc__fail_os((int)err), MPROC_ECLOSED);
            break;
        }
        if (err != ERROR_PIPE_BUSY) {
            rc = mproc__fail_os((int)err);
            break;
        }
        /* every instance taken: wait for the server to offer another */
        int64_t left = mproc__remaining(deadline);
        if (left == 0) {
            rc = mproc__fail(MPROC_ETIMEDOUT);
            break;
        }
        DWORD ms = left < 0 || left > 100 ? 100 : (DWORD)left; /* never 0: the default wait */
        if (!WaitNamedPipeW(path, ms) && GetLastError() != ERROR_SEM_TIMEOUT)
            Sleep(1); /* (gone or not there yet: CreateFileW says which) */
    }
    mproc_free(path);
    return rc;
}

/* ---- listeners ------------------------------------------------------------------------------ */

struct mpp_listener {
    bool local;
    SOCKET sock;         /* TCP */
    wchar_t *path;       /* local: \\.\pipe\NAME */
    HANDLE pending;      /* local: the instance waiting for the next client, or NULL */
    HANDLE event;        /* local: of ov */
    OVERLAPPED ov;       /* local: the ConnectNamedPipe on pending, while connecting */
    bool connecting;
};

static int listen_tcp(mpp_listener *l, const mproc__net_addr *a)
{
    struct addrinfo *list;
    int rc = resolve(a, &list);
    if (rc)
        return rc;
    rc = MPROC_ENOENT;
    for (struct addrinfo *p = list; p; p = p->ai_next) {
        SOCKET s;
        int r = new_socket(p->ai_family, &s);
        if (r) {
            if (p == list)
                rc = r;
            continue;
        }
        /* Nobody else may bind this address while we listen (Windows would otherwise let a
         * socket with SO_REUSEADDR take it over). */
        BOOL one = TRUE;
        setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&one, sizeof one);
        if (bind(s, p->ai_addr, (int)p->ai_addrlen) == 0 && listen(s, SOMAXCONN) == 0) {
            l->sock = s;
            rc = 0;
            break;
        }
        int err = WSAGetLastError();
        r = err == WSAEADDRINUSE || err == WSAEACCES ? (mproc__fail_os(err), MPROC_EEXIST)
                                                      : sock_fail(err);
        if (p == list)
            rc = r;
        closesocket(s);
    }
    freeaddrinfo(list);
    return rc == MPROC_ENOENT ? mproc__fail(rc) : rc;
}

static int listen_pipe(mpp_listener *l, const char *name)
{
    l->path = pipe_path(name);
    if (!l->path)
        return mproc__fail(MPROC_ENOMEM);
    if (wcslen(l->path) > 256)
        return mproc__fail(MPROC_EINVAL);
    l->event = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!l->event)
        return mproc__fail_os_now();
    /* FILE_FLAG_FIRST_PIPE_INSTANCE refuses a name another server has; Wine (8) ignores
     * the flag, so first ask whether the name has an instance (waiting or busy). */
    if (WaitNamedPipeW(l->path, 1) || GetLastError() == ERROR_SEM_TIMEOUT)
        return mproc__fail_os((int)ERROR_PIPE_BUSY), MPROC_EEXIST;
    l->pending = new_instance(l->path, true);
    if (l->pending == INVALID_HANDLE_VALUE) {
        l->pending = NULL;
        DWORD err = GetLastError();
        mproc__fail_os((int)err);
        /* another server has the name (or all its instances) */
        if (err == ERROR_ACCESS_DENIED || err == ERROR_PIPE_BUSY)
            return MPROC_EEXIST;
        return mpp_map_os_error((int)err);
    }
    return 0;
}

static int tcp_bound(SOCKET s, char *text, size_t cap)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (getsockname(s, (struct sockaddr *)&ss, &len) != 0)
        return sock_fail_now();
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
        if (v4->sin_addr.s_addr == htonl(INADDR_ANY))
            v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
        if (memcmp(&v6->sin6_addr, &in6addr_any, sizeof v6->sin6_addr) == 0)
            v6->sin6_addr = in6addr_loopback;
    }
    char host[NI_MAXHOST], port[NI_MAXSERV];
    int err = getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, port, sizeof port,
                          NI_NUMERICHOST | NI_NUMERICSERV);
    if (err)
        return sock_fail(err);
    int w = snprintf(text, cap, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
    return w < 0 || (size_t)w >= cap ? mproc__fail(MPROC_EINVAL) : 0;
}

int mpp_listen(const char *address, mpp_listener **out, char *bound, size_t cap)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    mproc__net_addr a;
    int rc = mproc__parse_address(address, &a);
    if (rc)
        return rc;
    mpp_listener *l = mproc_calloc(1, sizeof *l);
    if (!l)
        return mproc__fail(MPROC_ENOMEM);
    l->sock = INVALID_SOCKET;
    l->local = a.local;
    rc = a.local ? listen_pipe(l, a.host) : listen_tcp(l, &a);
    if (!rc && bound) {
        if (a.local) {
            int w = snprintf(bound, cap, "local:%s", a.host);
            rc = w < 0 || (size_t)w >= cap ? mproc__fail(MPROC_EINVAL) : 0;
        } else {
            rc = tcp_bound(l->sock, bound, cap);
        }
    }
    if (rc) {
        mpp_listener_close(l);
        return rc;
    }
    *out = l;
    return 0;
}

static DWORD wait_ms(int64_t deadline)
{
    int64_t left = mproc__remaining(deadline);
    return left < 0 ? INFINITE : left > 0x7ffffffe ? 0x7ffffffe : (DWORD)left;
}

static int accept_pipe(mpp_listener *l, int64_t deadline, mpp_conn **out)
{
    if (!l->pending) { /* creating the next instance failed last time: again */
        HANDLE h = new_instance(l->path, false);
        if (h == INVALID_HANDLE_VALUE)
            return mproc__fail_os_now();
        l->pending = h;
    }
    if (!l->connecting) {
        memset(&l->ov, 0, sizeof l->ov);
        l->ov.hEvent = l->event;
        ResetEvent(l->event);
        BOOL ok = ConnectNamedPipe(l->pending, &l->ov);
        DWORD err = ok ? 0 : GetLastError();
        if (err == ERROR_IO_PENDING)
            l->connecting = true;
        else if (err && err != ERROR_PIPE_CONNECTED && err != ERROR_NO_DATA)
            return mproc__fail_os((int)err);
        /* (ERROR_NO_DATA: the client came and went already; its connection reads the end) */
    }
    if (l->connecting) {
        if (WaitForSingleObject(l->event, wait_ms(deadline)) != WAIT_OBJECT_0)
            return mproc__fail(MPROC_ETIMEDOUT); /* still pending, for the next accept */
        DWORD n;
        BOOL ok = GetOverlappedResult(l->pending, &l->ov, &n, TRUE);
        DWORD err = ok ? 0 : GetLastError();
        l->connecting = false;
        if (err && err != ERROR_PIPE_CONNECTED && err != ERROR_NO_DATA) {
            /* this instance is of no use: the next accept makes another */
            HANDLE broken = l->pending;
            l->pending = NULL;
            HANDLE h = new_instance(l->path, false);
            if (h != INVALID_HANDLE_VALUE)
                l->pending = h;
            CloseHandle(broken);
            return mproc__fail_os((int)err);
        }
    }
    /* A client is connected to pending: a new instance waits before it is handed out. */
    HANDLE got = l->pending;
    HANDLE h = new_instance(l->path, false);
    l->pending = h == INVALID_HANDLE_VALUE ? NULL : h;
    int rc = mpp_conn_adopt((mpp_handle)got, out);
    if (rc)
        CloseHandle(got);
    return rc;
}

static int accept_tcp(mpp_listener *l, int64_t deadline, mpp_conn **out)
{
    for (;;) {
        SOCKET s = accept(l->sock, NULL, NULL);
        if (s != INVALID_SOCKET) {
            SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
            u_long on = 1;
            if (ioctlsocket(s, FIONBIO, &on) != 0) {
                int rc = sock_fail_now();
                closesocket(s);
                return rc;
            }
            return wrap_socket(s, out);
        }
        int err = WSAGetLastError();
        if (err == WSAECONNRESET || err == WSAEINTR)
            continue; /* a client that left before we took it */
        if (err != WSAEWOULDBLOCK)
            return sock_fail(err);
        int rc = sock_wait(l->sock, false, deadline);
        if (rc < 0)
            return rc;
        if (rc == 0 && mproc__remaining(deadline) == 0)
            return mproc__fail(MPROC_ETIMEDOUT);
    }
}

int mpp_accept(mpp_listener *l, int64_t timeout_ms, mpp_conn **out)
{
    if (!l || !out)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    int64_t deadline = mproc__deadline(timeout_ms);
    return l->local ? accept_pipe(l, deadline, out) : accept_tcp(l, deadline, out);
}

/* No fork on Windows: only the listener's own process ever holds it. */
void mpp_listener_abandon(mpp_listener *l)
{
    mpp_listener_close(l);
}

void mpp_listener_close(mpp_listener *l)
{
    if (!l)
        return;
    if (l->sock != INVALID_SOCKET)
        closesocket(l->sock);
    if (l->pending) {
        if (l->connecting) {
            DWORD n;
            CancelIoEx(l->pending, &l->ov);
            GetOverlappedResult(l->pending, &l->ov, &n, TRUE);
        }
        CloseHandle(l->pending);
    }
    if (l->event)
        CloseHandle(l->event);
    mproc_free(l->path);
    mproc_free(l);
}

int mpp_connect(const char *address, int64_t timeout_ms, mpp_conn **out)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    mproc__net_addr a;
    int rc = mproc__parse_address(address, &a);
    if (rc)
        return rc;
    int64_t deadline = mproc__deadline(timeout_ms);
    if (a.local)
        return connect_pipe(a.host, deadline, out);
    /* (name lookup is not bounded by the timeout: getaddrinfo cannot be) */
    struct addrinfo *list;
    rc = resolve(&a, &list);
    if (rc)
        return rc;
    SOCKET s = INVALID_SOCKET;
    for (struct addrinfo *p = list; p; p = p->ai_next) {
        rc = connect_socket(p, deadline, &s);
        if (rc == 0 || rc == MPROC_ETIMEDOUT)
            break;
    }
    freeaddrinfo(list);
    return rc ? rc : wrap_socket(s, out);
}

/* ---- randomness ------------------------------------------------------------------------------ */

int mpp_random_bytes(void *buf, size_t n)
{
    if (!buf && n)
        return mproc__fail(MPROC_EINVAL);
    unsigned char *p = buf;
    while (n > 0) {
        ULONG part = n > 0x40000000u ? 0x40000000u : (ULONG)n;
        NTSTATUS status = BCryptGenRandom(NULL, p, part, BCRYPT_USE_SYSTEM_PREFERRED_RNG);
        if (!BCRYPT_SUCCESS(status))
            return mproc__fail_os((int)ERROR_GEN_FAILURE); /* (an NTSTATUS, not a Win32 error) */
        p += part;
        n -= part;
    }
    return 0;
}
