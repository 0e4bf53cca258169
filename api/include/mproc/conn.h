/* mproc — pipes between processes: Python's Pipe(), Connection and connection.wait().
 *
 * A connection sends and receives whole messages of bytes (framed: 0 bytes up to any size
 * the memory holds). POSIX: a socketpair (duplex) or a pipe (simplex). Windows: an
 * overlapped named pipe with an unguessable name that rejects remote clients.
 *
 * When every handle to the other end is closed — its process exited or was killed too —
 * recv gives MPROC_ECLOSED, and send gives MPROC_ECLOSED once nobody can read; nothing
 * hangs. As with Python, an end that a process does not use should be closed there, or
 * the other end cannot see the close. Ends travel in argument packs (mproc_pack_handle /
 * mproc_unpack_conn) under every start method; a started Process drops its own copies, so
 * only the caller's handle and the pack's (until the pack is destroyed) remain here.
 *
 *   mproc_conn *a, *b;
 *   mproc_pipe(&a, &b, true);
 *   mproc_conn_send_pack(a, MPROC_ARGS("sum", 3.5), MPROC_FOREVER);   // a typed message
 *   mproc_bytes msg;
 *   mproc_conn_recv(b, MPROC_FOREVER, &msg);
 *   const char *what; double x;
 *   MPROC_UNPACK(&msg, &what, &x);
 *   mproc_bytes_free(&msg);
 *   mproc_conn_destroy(a); mproc_conn_destroy(b); */
#ifndef MPROC_CONN_H
#define MPROC_CONN_H

#include "common.h"
#include "pack.h"
#include "process.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mproc_conn mproc_conn;

/* Pipe(duplex): two connected ends. duplex=false gives Python's (reader, writer): *a can
 * only receive and *b only send (the other direction is MPROC_EPERM). */
MPROC_API int mproc_pipe(mproc_conn **a, mproc_conn **b, bool duplex);

/* Sends one message. Returns 0 once it is written; MPROC_ETIMEDOUT if none of it could be
 * written in time. A message whose writing began is never cut: if the timeout passes half-
 * way, the rest is kept in this handle and goes out before anything else sent on it (the
 * next send, or close, finishes it). MPROC_ECLOSED when nobody can read any more. */
MPROC_API int mproc_conn_send(mproc_conn *c, const void *data, size_t len, int64_t timeout_ms);
/* Sends the encoded bytes of a pack (MPROC_ARGS(...) works) as one message, which the
 * receiver reads with MPROC_UNPACK. A pack holding objects with OS handles (locks, queues,
 * pipe ends, ...) cannot travel in a message: MPROC_ENOTSUP, nothing sent (manager proxies
 * do travel). Otherwise as mproc_conn_send. */
MPROC_API int mproc_conn_send_pack(mproc_conn *c, const mproc_pack *pack, int64_t timeout_ms);
/* Receives one whole message into *out (free with mproc_bytes_free). A timeout half-way
 * through a message keeps what came, and the next recv goes on with it. MPROC_ECLOSED at
 * the end: the other end is closed and everything sent was received. */
MPROC_API int mproc_conn_recv(mproc_conn *c, int64_t timeout_ms, mproc_bytes *out);
/* 1 when something can be read (or the end was reached) now or within timeout_ms, else
 * MPROC_ETIMEDOUT. */
MPROC_API int mproc_conn_poll(mproc_conn *c, int64_t timeout_ms);
/* 1 if this end can receive (send), else 0 (also once closed). */
MPROC_API int mproc_conn_readable(mproc_conn *c);
/* 1 if this end can send, else 0 (also once closed). */
MPROC_API int mproc_conn_writable(mproc_conn *c);
/* Closes the OS handle of this end (finishing a half-sent message within 1 s); the handle
 * stays valid for mproc_conn_destroy, and calls on it give MPROC_ECLOSED. Closing again is
 * 0. */
MPROC_API int mproc_conn_close(mproc_conn *c);
/* Closes the end if it is open, and frees the handle. NULL is a no-op. */
MPROC_API void mproc_conn_destroy(mproc_conn *c);

/* connection.wait(): a connection (ready when it can be read or has ended) or a process
 * (ready once it ended): set exactly one of the two. */
typedef struct mproc_waitable {
    mproc_conn *conn;
    mproc_process *process;
} mproc_waitable;

/* Waits until at least one item is ready; ready[i] tells which (all of them that are).
 * Returns how many are ready, or MPROC_ETIMEDOUT. Any number of items (Windows too, past
 * its 64-handle wait limit). */
MPROC_API int mproc_conn_wait(const mproc_waitable *items, size_t n, int64_t timeout_ms,
                              bool *ready);

/* Re-opens a pipe end sent in a pack (mproc_pack_handle): a new handle of this process, to
 * destroy. MPROC_ETYPE when the next field is not a pipe end, MPROC_EINVAL at the end of the
 * pack or for NULL. */
MPROC_API int mproc_unpack_conn(mproc_unpacker *u, mproc_conn **out);

#ifdef __cplusplus
}
#endif
#endif
