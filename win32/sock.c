/* Windows: connected Winsock sockets as connection ends (conn.c sends a socket end's reads,
 * writes, waits and close here) and what net.c's listening and connecting share with them.
 *
 * Every socket is non-blocking (net.c makes them so): recv and send either move bytes or
 * say "would block" at once, and the waits between are select() bounded by the deadline,
 * so a timeout never leaves an operation half done and nothing read is lost. Each select
 * waits at most a quarter second before the call is tried again, so a wait the network
 * stack forgets to end (a peer gone while waiting to write) costs that much at worst. */
#include <winsock2.h>

#include "win32.h"

int w32_sock_fail(int err)
{
    mproc__fail_os(err);
    switch (err) {
    case WSAECONNREFUSED:
    case WSAECONNRESET:
    case WSAECONNABORTED:
    case WSAESHUTDOWN:
    case WSAENOTCONN:
    case WSAENETRESET:
    case WSAEDISCON: return MPROC_ECLOSED;
    case WSAETIMEDOUT: return MPROC_ETIMEDOUT;
    case WSAENOBUFS:
    case WSA_NOT_ENOUGH_MEMORY: return MPROC_ENOMEM;
    case WSAEAFNOSUPPORT:
    case WSAEPROTONOSUPPORT:
    case WSAESOCKTNOSUPPORT: return MPROC_ENOTSUP;
    case WSAEINVAL:
    case WSAENOTSOCK:
    case WSAEFAULT: return MPROC_EINVAL;
    case WSAEMFILE: return MPROC_EOS;
    default: return mpp_map_os_error(err);
    }
}

int w32_sock_fail_now(void)
{
    return w32_sock_fail(WSAGetLastError());
}

int w32_sock_wait(uintptr_t sock, bool write, int64_t deadline)
{
    SOCKET s = (SOCKET)sock;
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
        return w32_sock_fail_now();
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
            return w32_sock_fail(err);
        if (mproc__remaining(deadline) == 0)
            return 0;
        int rc = w32_sock_wait(s, true, deadline);
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
            return w32_sock_fail(err);
        if (mproc__remaining(deadline) == 0)
            return 0;
        int rc = w32_sock_wait(s, false, deadline);
        if (rc < 0)
            return rc;
    }
}

int w32_sock_wait_readable(uintptr_t sock, int64_t deadline)
{
    for (;;) {
        int rc = w32_sock_wait(sock, false, deadline);
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
