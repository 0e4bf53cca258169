/* The modules layer (process, task, conn, net, queue, sync, value, shm, subprocess): what its
 * files offer each other and the layers above (pool/, futures/, manager/) beyond the
 * public API. */
#ifndef MPROC_MODULES_H
#define MPROC_MODULES_H

#include "mproc.h"
#include "objects/objects.h"

/* ---- process.c ------------------------------------------------------------------------- */
/* For waits on processes: 1 if p has ended, 0 with its sentinel while it runs,
 * MPROC_ESTATE before start, MPROC_EINVAL for NULL. */
int mproc__process_sentinel(mproc_process *p, mpp_handle *sentinel);
/* The backend child of a started, not yet reaped process (NULL otherwise). */
mpp_child *mproc__process_child(mproc_process *p);

/* ---- conn.c ---------------------------------------------------------------------------- */
/* The backend end of a pipe end (NULL if c is not a live one). */
mpp_conn *mproc__conn_os(mproc_conn *c);

/* ---- net.c ----------------------------------------------------------------------------- */
/* Listening and connecting over the platform's TCP and local primitives. Addresses are text:
 *   "host:port"   TCP; host is an IPv4 address, "[v6 address]" or a name; port 0 asks for
 *                 any free port. An empty host (":5438") is loopback.
 *   "local:NAME"  this machine only (mpp_local_listen).
 * Connections are mpp_conn ends as above. */
typedef struct mproc__listener mproc__listener;
/* Listens; bound (cap bytes) receives the address clients should use (the real port
 * for port 0). MPROC_EINVAL for a malformed address, MPROC_EEXIST when it is in use. */
int mproc__listen(const char *address, mproc__listener **out, char *bound, size_t cap);
/* Waits up to timeout_ms for one client: 0, or MPROC_ETIMEDOUT. */
int mproc__accept(mproc__listener *l, int64_t timeout_ms, mpp_conn **out);
void mproc__listener_close(mproc__listener *l);
/* In a forked child: closes this process's copy only, leaving the address to its owner. */
void mproc__listener_abandon(mproc__listener *l);
/* Connects within timeout_ms: 0, MPROC_ECLOSED when nobody listens there (refused, no
 * such pipe or socket), MPROC_ETIMEDOUT, MPROC_EINVAL for a malformed address. */
int mproc__connect(const char *address, int64_t timeout_ms, mpp_conn **out);

/* ---- queue.c --------------------------------------------------------------------------- */
/* Whether a put of len bytes would go into the ring whole, now, without waiting (for a
 * sole producer, which then knows its nowait put succeeds). */
bool mproc__queue_fits(mproc_queue *q, size_t len);

/* ---- sync.c ---------------------------------------------------------------------------- */
/* Locks are also embedded in other objects' segments (a Value's lock): the state is
 * placed by the owner and the lock is a borrowed view of it. */
struct mproc_lock {
    mproc__shared o;
};
size_t mproc__lock_state_size(void);
void mproc__lock_state_init(void *state, bool recursive);
/* A borrowed Lock over the lock state at `offset` in owner's segment, parked on park. */
void mproc__lock_view(struct mproc_lock *view, const mproc__shared *owner, size_t offset,
                      uint32_t park_index);

/* ---- subprocess.c ---------------------------------------------------------------------- */
/* The environment for a program: NULL (inherit), or o->env merged over this process's
 * environment (extend) or alone (replace), a later setting of a name winning, as an array
 * in one block (mproc_free). MPROC_EINVAL for an entry without a name or '='. */
int mproc__popen_environment(const mproc_popen_opts *o, char ***out);

/* ---- value.c --------------------------------------------------------------------------- */
/* Element access of Value / Array by type, for the manager's values too: range rules as
 * mproc_value's (MPROC_ETOOBIG, MPROC_ETYPE). No locking. */
int mproc__elem_get_i64(uint32_t type, const void *p, int64_t *out);
int mproc__elem_get_f64(uint32_t type, const void *p, double *out);
int mproc__elem_set_i64(uint32_t type, void *p, int64_t v);
int mproc__elem_set_f64(uint32_t type, void *p, double v);
int mproc__elem_add_i64(uint32_t type, void *p, int64_t delta, int64_t *result);

#endif
