/* Windows connections: overlapped named pipes.
 *
 * mpp_pipe creates "\\.\pipe\mproc-<pid>-<n>-<random>" as the first and only instance,
 * rejecting remote clients, and opens its client end at once, so nobody else can get in
 * between. Reads and writes are overlapped with a deadline; a timed-out operation is
 * cancelled and whatever it moved before the cancel is counted, so nothing is lost.
 *
 * Waiting for readability uses zero-byte overlapped reads, which complete when data comes
 * (what CPython does). Where that is not honoured (a zero-byte read completing at once with
 * nothing there), the wait falls back to peeking every few milliseconds. Waits over more
 * than 64 objects run in groups on helper threads. */
#define _CRT_RAND_S
#include "win32.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mpp_conn {
    HANDLE pipe;
    HANDLE read_event, write_event; /* one per direction: a duplex end may read and write
                                       from two threads at once */
    HANDLE probe_event;             /* for zero-byte reads in waits */
    bool is_socket;                 /* a TCP connection (net.c): sock, no pipe or events */
    uintptr_t sock;
};

static int conn_new(HANDLE pipe, mpp_conn **out)
{
    mpp_conn *c = mproc_calloc(1, sizeof *c);
    if (!c)
        return mproc__fail(MPROC_ENOMEM);
    c->pipe = pipe;
    c->read_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    c->write_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    c->probe_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!c->read_event || !c->write_event || !c->probe_event) {
        int rc = mproc__fail_os_now();
        HANDLE events[] = {c->read_event, c->write_event, c->probe_event};
        for (int i = 0; i < 3; i++)
            if (events[i])
                CloseHandle(events[i]);
        mproc_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int mpp_pipe(mpp_conn **a, mpp_conn **b, bool duplex)
{
    static volatile LONG counter;
    unsigned r1 = 0, r2 = 0;
    rand_s(&r1);
    rand_s(&r2);
    wchar_t name[128];
    _snwprintf(name, sizeof name / sizeof name[0], L"\\\\.\\pipe\\mproc-%lu-%ld-%08x%08x",
               (unsigned long)GetCurrentProcessId(), (long)InterlockedIncrement(&counter), r1, r2);
    name[sizeof name / sizeof name[0] - 1] = 0;
    DWORD open_mode = (duplex ? PIPE_ACCESS_DUPLEX : PIPE_ACCESS_INBOUND) | FILE_FLAG_OVERLAPPED |
                      FILE_FLAG_FIRST_PIPE_INSTANCE;
    HANDLE server = CreateNamedPipeW(name, open_mode,
                                     PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT |
                                         PIPE_REJECT_REMOTE_CLIENTS,
                                     1, 1 << 16, 1 << 16, 0, NULL);
    if (server == INVALID_HANDLE_VALUE)
        return mproc__fail_os_now();
    HANDLE client = CreateFileW(
        name, duplex ? GENERIC_READ | GENERIC_WRITE : GENERIC_WRITE | FILE_READ_ATTRIBUTES, 0, NULL,
        OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
    if (client == INVALID_HANDLE_VALUE) {
        int rc = mproc__fail_os_now();
        CloseHandle(server);
        return rc;
    }
    OVERLAPPED ov = {0};
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    BOOL connected = ConnectNamedPipe(server, &ov);
    DWORD error = GetLastError();
    if (!connected && error == ERROR_IO_PENDING) {
        DWORD n;
        connected = GetOverlappedResult(server, &ov, &n, TRUE);
        error = GetLastError();
    }
    if (ov.hEvent)
        CloseHandle(ov.hEvent);
    if (!connected && error != ERROR_PIPE_CONNECTED) {
        CloseHandle(server);
        CloseHandle(client);
        return mproc__fail_os((int)error);
    }
    int rc = conn_new(server, a);
    if (!rc) {
        rc = conn_new(client, b);
        if (rc) {
            mpp_conn_close(*a);
            CloseHandle(client);
            return rc;
        }
    } else {
        CloseHandle(server);
        CloseHandle(client);
    }
    return rc;
}

int mpp_conn_adopt(mpp_handle h, mpp_conn **out)
{
    return conn_new((HANDLE)h, out);
}

int w32_conn_from_socket(uintptr_t sock, mpp_conn **out)
{
    mpp_conn *c = mproc_calloc(1, sizeof *c);
    if (!c)
        return mproc__fail(MPROC_ENOMEM);
    c->pipe = INVALID_HANDLE_VALUE;
    c->is_socket = true;
    c->sock = sock;
    *out = c;
    return 0;
}

/* (A socket end gives its SOCKET value; handing it to a child is not supported: the
 * child's end would fail its reads and writes with an error.) */
mpp_handle mpp_conn_handle(const mpp_conn *c)
{
    return c->is_socket ? (mpp_handle)c->sock : (mpp_handle)c->pipe;
}

static DWORD wait_ms(int64_t deadline)
{
    int64_t left = mproc__remaining(deadline);
    return left < 0 ? INFINITE : left > 0x7ffffffe ? 0x7ffffffe : (DWORD)left;
}

static bool is_closed_error(DWORD e)
{
    return e == ERROR_BROKEN_PIPE || e == ERROR_NO_DATA || e == ERROR_PIPE_NOT_CONNECTED;
}

/* Runs one overlapped operation to completion or the deadline (then cancels it); *moved
 * counts what it transferred either way. */
static int overlapped_io(mpp_conn *c, bool write, void *buf, DWORD len, int64_t deadline,
                         DWORD *moved)
{
    HANDLE event = write ? c->write_event : c->read_event;
    OVERLAPPED ov = {0};
    ov.hEvent = event;
    ResetEvent(event);
    *moved = 0;
    BOOL ok =
        write ? WriteFile(c->pipe, buf, len, NULL, &ov) : ReadFile(c->pipe, buf, len, NULL, &ov);
    DWORD error = ok ? 0 : GetLastError();
    if (!ok && error != ERROR_IO_PENDING)
        return is_closed_error(error) ? (mproc__fail_os((int)error), MPROC_ECLOSED)
                                      : mproc__fail_os((int)error);
    if (!ok && WaitForSingleObject(event, wait_ms(deadline)) != WAIT_OBJECT_0)
        CancelIoEx(c->pipe, &ov);
    ok = GetOverlappedResult(c->pipe, &ov, moved, TRUE);
    error = ok ? 0 : GetLastError();
    if (!ok && error != ERROR_OPERATION_ABORTED)
        return is_closed_error(error) ? (mproc__fail_os((int)error), MPROC_ECLOSED)
                                      : mproc__fail_os((int)error);
    return 0;
}

int mpp_conn_write(mpp_conn *c, const void *buf, size_t len, int64_t deadline, size_t *done)
{
    if (c->is_socket)
        return w32_sock_write(c->sock, buf, len, deadline, done);
    *done = 0;
    while (*done < len) {
        size_t chunk = len - *done;
        DWORD part = chunk > (1u << 30) ? (1u << 30) : (DWORD)chunk, moved = 0;
        int rc = overlapped_io(c, true, (char *)buf + *done, part, deadline, &moved);
        *done += moved;
        if (rc)
            return rc;
        if (moved < part && mproc__remaining(deadline) == 0)
            return 0;
    }
    return 0;
}

int mpp_conn_read(mpp_conn *c, void *buf, size_t cap, int64_t deadline, size_t *got)
{
    if (c->is_socket)
        return w32_sock_read(c->sock, buf, cap, deadline, got);
    *got = 0;
    DWORD avail = 0;
    if (!PeekNamedPipe(c->pipe, NULL, 0, NULL, &avail, NULL)) {
        DWORD error = GetLastError();
        return is_closed_error(error) ? MPROC_ECLOSED : mproc__fail_os((int)error);
    }
    DWORD want = cap > (1u << 30) ? (1u << 30) : (DWORD)cap;
    if (avail > 0 && avail < want)
        want = avail; /* what is there completes at once */
    else if (avail == 0 && mproc__remaining(deadline) == 0)
        return 0;
    DWORD moved = 0;
    /* Data seen by the peek normally completes the read at once; the caller's deadline
     * still bounds it (another handle to this end may take the data first). */
    int rc = overlapped_io(c, false, buf, want, deadline, &moved);
    *got = moved;
    return rc;
}

void mpp_conn_close(mpp_conn *c)
{
    if (!c)
        return;
    if (c->is_socket) {
        w32_sock_close(c->sock);
        mproc_free(c);
        return;
    }
    CloseHandle(c->pipe);
    CloseHandle(c->read_event);
    CloseHandle(c->write_event);
    CloseHandle(c->probe_event);
    mproc_free(c);
}

/* ---- waiting -------------------------------------------------------------------------------- */

typedef struct group_wait {
    HANDLE *handles; /* count handles + the stop event last */
    DWORD count;
    HANDLE done;
} group_wait;

static DWORD WINAPI group_waiter(LPVOID arg)
{
    group_wait *g = arg;
    WaitForMultipleObjects(g->count + 1, g->handles, FALSE, INFINITE);
    SetEvent(g->done);
    return 0;
}

/* Waits until any handle is signalled or ms pass; true if one was. */
static bool wait_any_handle(HANDLE *h, size_t n, DWORD ms)
{
    if (n == 0) {
        Sleep(ms == INFINITE ? 0 : ms);
        return false;
    }
    if (n <= MAXIMUM_WAIT_OBJECTS) {
        DWORD r = WaitForMultipleObjects((DWORD)n, h, FALSE, ms);
        return r < WAIT_OBJECT_0 + n;
    }
    /* Groups of 63 on threads, each also woken by a shared stop event. */
    enum { GROUP = MAXIMUM_WAIT_OBJECTS - 1 };
    size_t groups = (n + GROUP - 1) / GROUP;
    if (groups > MAXIMUM_WAIT_OBJECTS)
        groups = MAXIMUM_WAIT_OBJECTS; /* more than 4032 objects: the rest are polled */
    HANDLE stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    group_wait *g = mproc_calloc(groups, sizeof *g);
    HANDLE *threads = mproc_calloc(groups, sizeof *threads);
    HANDLE *dones = mproc_calloc(groups, sizeof *dones);
    bool signalled = false;
    size_t started = 0;
    if (stop && g && threads && dones) {
        for (size_t i = 0; i < groups; i++) {
            size_t first = i * GROUP, count = n - first < GROUP ? n - first : GROUP;
            g[i].handles = mproc_malloc((count + 1) * sizeof(HANDLE));
            g[i].done = CreateEventW(NULL, TRUE, FALSE, NULL);
            if (!g[i].handles || !g[i].done)
                break;
            memcpy(g[i].handles, h + first, count * sizeof(HANDLE));
            g[i].handles[count] = stop;
            g[i].count = (DWORD)count;
            dones[i] = g[i].done;
            threads[i] = CreateThread(NULL, 64 * 1024, group_waiter, &g[i], 0, NULL);
            if (!threads[i])
                break;
            started++;
        }
        if (started)
            signalled =
                WaitForMultipleObjects((DWORD)started, dones, FALSE, ms) < WAIT_OBJECT_0 + started;
        SetEvent(stop);
        WaitForMultipleObjects((DWORD)started, threads, TRUE, INFINITE);
    }
    for (size_t i = 0; g && i < groups; i++) {
        if (threads && threads[i])
            CloseHandle(threads[i]);
        if (g[i].done)
            CloseHandle(g[i].done);
        mproc_free(g[i].handles);
    }
    if (stop)
        CloseHandle(stop);
    mproc_free(g);
    mproc_free(threads);
    mproc_free(dones);
    if (started < groups) /* could not watch them all: let the caller poll */
        Sleep(1);
    return signalled;
}

/* Whether a connection can be read now (data, or its end). */
static bool conn_ready_now(mpp_conn *c)
{
    if (c->is_socket)
        return w32_sock_wait_readable(c->sock, mproc__deadline(0)) != 0;
    DWORD avail = 0;
    if (!PeekNamedPipe(c->pipe, NULL, 0, NULL, &avail, NULL))
        return true; /* ended or broken: a read will say which */
    return avail > 0;
}

int mpp_wait(const mpp_waitable *items, size_t n, int64_t timeout_ms, bool *ready)
{
    int64_t deadline = mproc__deadline(timeout_ms);
    if (n == 1 && items[0].conn && items[0].conn->is_socket) { /* one socket: select() */
        int rc = w32_sock_wait_readable(items[0].conn->sock, deadline);
        if (rc < 0)
            return rc;
        ready[0] = rc > 0;
        return rc;
    }
    HANDLE *handles = mproc_malloc((n ? n : 1) * sizeof *handles);
    OVERLAPPED *probes = mproc_calloc(n ? n : 1, sizeof *probes);
    bool *probing = mproc_calloc(n ? n : 1, sizeof *probing);
    if (!handles || !probes || !probing) {
        mproc_free(handles);
        mproc_free(probes);
        mproc_free(probing);
        return mproc__fail(MPROC_ENOMEM);
    }
    int count = 0;
    for (;;) {
        size_t m = 0;
        bool poll_needed = false;
        count = 0;
        for (size_t i = 0; i < n; i++) {
            ready[i] = items[i].conn
                           ? conn_ready_now(items[i].conn)
                           : WaitForSingleObject((HANDLE)items[i].sentinel, 0) == WAIT_OBJECT_0;
            count += ready[i];
        }
        if (count || mproc__remaining(deadline) == 0)
            break;
        for (size_t i = 0; i < n; i++) {
            bool repeat = false; /* the same item twice: WaitForMultipleObjects refuses it */
            for (size_t k = 0; k < i && !repeat; k++)
                repeat = items[k].conn == items[i].conn && items[k].sentinel == items[i].sentinel;
            if (repeat)
                continue;
            if (!items[i].conn) {
                handles[m++] = (HANDLE)items[i].sentinel;
                continue;
            }
            mpp_conn *c = items[i].conn;
            if (c->is_socket) { /* sockets among other items are looked at every few ms */
                poll_needed = true;
                continue;
            }
            memset(&probes[i], 0, sizeof probes[i]);
            probes[i].hEvent = c->probe_event;
            ResetEvent(c->probe_event);
            static char none;
            BOOL ok = ReadFile(c->pipe, &none, 0, NULL, &probes[i]);
            if (!ok && GetLastError() == ERROR_IO_PENDING) {
                probing[i] = true;
                handles[m++] = c->probe_event;
            } else if (conn_ready_now(c)) {
                handles[m++] = c->probe_event; /* it is ready: the loop will see it */
                SetEvent(c->probe_event);
            } else {
                poll_needed = true; /* a zero-byte read that does not wait: peek instead */
            }
        }
        DWORD ms = wait_ms(deadline);
        /* Peek-only ends, and objects past the 4032 that helper threads watch, are looked
         * at again every few milliseconds. */
        if ((poll_needed || m > (size_t)MAXIMUM_WAIT_OBJECTS * (MAXIMUM_WAIT_OBJECTS - 1)) &&
            (ms == INFINITE || ms > 5))
            ms = 5;
        wait_any_handle(handles, m, ms);
        for (size_t i = 0; i < n; i++)
            if (probing[i]) {
                DWORD moved;
                CancelIoEx(items[i].conn->pipe, &probes[i]);
                GetOverlappedResult(items[i].conn->pipe, &probes[i], &moved, TRUE);
                probing[i] = false;
            }
    }
    mproc_free(handles);
    mproc_free(probes);
    mproc_free(probing);
    return count;
}

bool mpp_conn_peer_closed(mpp_conn *c)
{
    if (c->is_socket)
        return w32_sock_peer_closed(c->sock);
    DWORD avail = 0;
    return !PeekNamedPipe(c->pipe, NULL, 0, NULL, &avail, NULL) &&
           GetLastError() == ERROR_BROKEN_PIPE;
}
