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
/* Listening and connecting (mpp_listen, mpp_accept, mpp_connect, mpp_listener_close and
 * _abandon) are declared in platform.h, past the backend's list, where the tests reach
 * them. */

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

/* ---- value.c --------------------------------------------------------------------------- */
/* Element access of Value / Array by type, for the manager's values too: range rules as
 * mproc_value's (MPROC_ETOOBIG, MPROC_ETYPE). No locking. */
int mproc__elem_get_i64(uint32_t type, const void *p, int64_t *out);
int mproc__elem_get_f64(uint32_t type, const void *p, double *out);
int mproc__elem_set_i64(uint32_t type, void *p, int64_t v);
int mproc__elem_set_f64(uint32_t type, void *p, double v);
int mproc__elem_add_i64(uint32_t type, void *p, int64_t delta, int64_t *result);

#endif
