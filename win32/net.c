/* Windows listening and connecting, one OS step each (the core's modules/net.c parses the
 * address and tries a host's addresses): Winsock TCP for "host:port", the named pipe
 * \\.\pipe\NAME for "local:NAME".
 *
 * TCP: every socket is non-blocking and not inheritable, Nagle off on connections. A
 * connected socket becomes an mpp_conn (conn.c marks it as a socket) whose reads and
 * writes are sock.c's.
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

/* ---- Winsock and TCP ------------------------------------------------------------------------ */

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

/* Addresses are parsed by the core (mproc__parse_address). */
int mpp_tcp_resolve(const char *host, const char *port, mpp_tcp_addr **list)
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
    struct addrinfo *first = NULL;
    int err = getaddrinfo(host, port, &hints, &first);
    if (err == 0) {
        *list = (mpp_tcp_addr *)first;
        return 0;
    }
    mproc__fail_os(err);
    switch (err) {
    case WSAHOST_NOT_FOUND:
    case WSANO_DATA:
    case WSANO_RECOVERY:
    case WSATRY_AGAIN: return MPROC_ENOENT;
    case WSA_NOT_ENOUGH_MEMORY: return MPROC_ENOMEM;
    case WSAEAFNOSUPPORT: return MPROC_ENOTSUP;
    default: return MPROC_EOS;
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

/* A non-blocking, non-inheritable TCP socket. */
static int new_socket(int family, SOCKET *out)
{
    SOCKET s = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                          WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL) /* Windows before 7 SP1 */
        s = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    if (s == INVALID_SOCKET)
        return w32_sock_fail_now();
    SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
    u_long on = 1;
    if (ioctlsocket(s, FIONBIO, &on) != 0) {
        int rc = w32_sock_fail_now();
        closesocket(s);
        return rc;
    }
    *out = s;
    return 0;
}

int mpp_tcp_conn(mpp_handle sock, mpp_conn **out)
{
    SOCKET s = (SOCKET)sock;
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

int mpp_tcp_connect(const mpp_tcp_addr *addr, int64_t deadline, mpp_handle *sock)
{
    const struct addrinfo *ai = (const struct addrinfo *)addr;
    SOCKET s;
    int rc = new_socket(ai->ai_family, &s);
    if (rc)
        return rc;
    if (connect(s, ai->ai_addr, (int)ai->ai_addrlen) != 0) {
        int err = WSAGetLastError();
        if (err != WSAEWOULDBLOCK && err != WSAEINPROGRESS) {
            closesocket(s);
            return w32_sock_fail(err);
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
                rc = w32_sock_fail_now();
                closesocket(s);
                return rc;
            }
            if (FD_ISSET(s, &failed)) {
                int soerr = 0, sl = sizeof soerr;
                if (getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&soerr, &sl) != 0 || !soerr)
                    soerr = WSAECONNREFUSED;
                closesocket(s);
                return w32_sock_fail(soerr);
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
        return w32_sock_fail(WSAECONNREFUSED);
    }
    *sock = (mpp_handle)s;
    return 0;
}

int mpp_tcp_listen(const mpp_tcp_addr *addr, mpp_handle *listener)
{
    const struct addrinfo *p = (const struct addrinfo *)addr;
    SOCKET s;
    int rc = new_socket(p->ai_family, &s);
    if (rc)
        return rc;
    /* Nobody else may bind this address while we listen (Windows would otherwise let a
     * socket with SO_REUSEADDR take it over). */
    BOOL one = TRUE;
    setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&one, sizeof one);
    if (bind(s, p->ai_addr, (int)p->ai_addrlen) == 0 && listen(s, SOMAXCONN) == 0) {
        *listener = (mpp_handle)s;
        return 0;
    }
    int err = WSAGetLastError();
    rc = err == WSAEADDRINUSE || err == WSAEACCES ? (mproc__fail_os(err), MPROC_EEXIST)
                                                  : w32_sock_fail(err);
    closesocket(s);
    return rc;
}

int mpp_tcp_bound(mpp_handle listener, struct mproc__net_addr *bound)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (getsockname((SOCKET)listener, (struct sockaddr *)&ss, &len) != 0)
        return w32_sock_fail_now();
    int err = getnameinfo((struct sockaddr *)&ss, len, bound->host, sizeof bound->host, bound->port,
                          sizeof bound->port, NI_NUMERICHOST | NI_NUMERICSERV);
    return err ? w32_sock_fail(err) : 0;
}

int mpp_tcp_accept(mpp_handle listener, int64_t deadline, mpp_conn **out)
{
    SOCKET l = (SOCKET)listener;
    for (;;) {
        SOCKET s = accept(l, NULL, NULL);
        if (s != INVALID_SOCKET) {
            SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
            u_long on = 1;
            if (ioctlsocket(s, FIONBIO, &on) != 0) {
                int rc = w32_sock_fail_now();
                closesocket(s);
                return rc;
            }
            return mpp_tcp_conn((mpp_handle)s, out);
        }
        int err = WSAGetLastError();
        if (err == WSAECONNRESET || err == WSAEINTR)
            continue; /* a client that left before we took it */
        if (err != WSAEWOULDBLOCK)
            return w32_sock_fail(err);
        int rc = w32_sock_wait(l, false, deadline);
        if (rc < 0)
            return rc;
        if (rc == 0 && mproc__remaining(deadline) == 0)
            return mproc__fail(MPROC_ETIMEDOUT);
    }
}

void mpp_tcp_close(mpp_handle listener)
{
    closesocket((SOCKET)listener);
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
    DWORD open_mode =
        PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0);
    return CreateNamedPipeW(path, open_mode,
                            PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT |
                                PIPE_REJECT_REMOTE_CLIENTS,
                            PIPE_UNLIMITED_INSTANCES, 1 << 16, 1 << 16, 0, NULL);
}

int mpp_local_connect(const char *name, int64_t deadline, mpp_conn **out)
{
    wchar_t *path = pipe_path(name);
    if (!path)
        return mproc__fail(MPROC_ENOMEM);
    int rc;
    for (;;) {
        HANDLE h = CreateFileW(
            path, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
            FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, NULL);
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

/* ---- pipe listeners ------------------------------------------------------------------------- */

struct mpp_local_listener {
    wchar_t *path;  /* \\.\pipe\NAME */
    HANDLE pending; /* the instance waiting for the next client, or NULL */
    HANDLE event;   /* of ov */
    OVERLAPPED ov;  /* the ConnectNamedPipe on pending, while connecting */
    bool connecting;
};

/* No fork on Windows: only the listener's own process ever holds it, so it always owns the
 * name. */
void mpp_local_close(mpp_local_listener *l, bool owner)
{
    (void)owner;
    if (!l)
        return;
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

static int listen_pipe(mpp_local_listener *l, const char *name)
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

int mpp_local_listen(const char *name, mpp_local_listener **out)
{
    mpp_local_listener *l = mproc_calloc(1, sizeof *l);
    if (!l)
        return mproc__fail(MPROC_ENOMEM);
    int rc = listen_pipe(l, name);
    if (rc) {
        mpp_local_close(l, true);
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

int mpp_local_accept(mpp_local_listener *l, int64_t deadline, mpp_conn **out)
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
