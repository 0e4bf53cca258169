/* Private to the Windows backend. */
#ifndef MPROC_WIN32_H
#define MPROC_WIN32_H

#include <windows.h>

#include "base/base.h"

/* UTF-8 <-> UTF-16; results from mproc_malloc, NULL on failure. */
wchar_t *w32_utf16(const char *utf8);
char *w32_utf8(const wchar_t *utf16);

/* Handles a new process inherits: short-lived inheritable duplicates, handed to
 * CreateProcessW through PROC_THREAD_ATTRIBUTE_HANDLE_LIST only and closed right after. */
typedef struct w32_inherit {
    HANDLE list[8];
    int count;
} w32_inherit;
/* Adds an inheritable duplicate of h and returns it (the value the child will see), or
 * NULL when h is not a handle or the list is full. */
HANDLE w32_inherit_add(w32_inherit *in, HANDLE h);
void w32_inherit_close(w32_inherit *in);
/* CreateProcessW with the handles of `in` as the only inherited ones and std (may hold
 * NULLs) as the standard handles. Returns 0 or the Win32 error. */
DWORD w32_create_process(const wchar_t *app, wchar_t *cmdline, DWORD flags, void *env,
                         const wchar_t *cwd, const HANDLE std[3], const w32_inherit *in,
                         PROCESS_INFORMATION *pi);

/* Exit codes TerminateProcess gives, read back as Python's -SIGTERM / -SIGKILL. */
#define W32_EXIT_TERMINATED 0x10000u
#define W32_SIGNAL_TERM 15
#define W32_SIGNAL_KILL 9
int w32_exitcode(DWORD code);
/* Waits up to ms for process to end: 1 and *exitcode (as Python) once ended, 0 while it
 * runs, or an error. */
int w32_process_ended(HANDLE process, DWORD ms, int *exitcode);
/* TerminateProcess with the code read back as -15 (force: -9); 0 if it has ended anyway. */
int w32_process_terminate(HANDLE process, bool force);

/* Winsock sockets (sock.c). A Winsock error as a code (recorded as the OS error); _now:
 * WSAGetLastError()'s. */
int w32_sock_fail(int err);
int w32_sock_fail_now(void);
/* Waits until sock is readable (write: writable; both: or failed) or the deadline passed,
 * at most a quarter second per call: 1 ready, 0 not (yet), or an error. */
int w32_sock_wait(uintptr_t sock, bool write, int64_t deadline);
/* Connected sockets as connections (TCP, from net.c): conn.c marks such an end and sends
 * its reads, writes, waits and close to these, which bound them by the deadline as for
 * pipes. */
int w32_sock_write(uintptr_t sock, const void *buf, size_t len, int64_t deadline, size_t *done);
int w32_sock_read(uintptr_t sock, void *buf, size_t cap, int64_t deadline, size_t *got);
/* 1 once readable (data, the end, or an error to read), 0 when the deadline passed, or an
 * error. */
int w32_sock_wait_readable(uintptr_t sock, int64_t deadline);
void w32_sock_close(uintptr_t sock);
/* Whether the peer closed the connection (nothing is consumed). */
bool w32_sock_peer_closed(uintptr_t sock);
/* The connection end around a connected socket (conn.c; taken over on success). */
int w32_conn_from_socket(uintptr_t sock, mpp_conn **out);

#endif
