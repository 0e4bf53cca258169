/* mproc — synchronization between processes: Lock, RLock, Semaphore, BoundedSemaphore,
 * Condition, Event, Barrier.
 *
 * Every object lives in shared memory and works between any threads of any processes it
 * reached: through fork, or in an argument pack (mproc_pack_handle) under every start
 * method. Each process's handle is its own: destroying it never disturbs the others, and
 * the object's memory goes with the last handle (nothing is left behind, even when
 * processes are killed).
 *
 * Every wait takes timeout_ms (MPROC_FOREVER, 0 to poll, or a bound) and returns
 * MPROC_ETIMEDOUT when it passes.
 *
 * Robust locks: when a process dies holding a Lock or RLock, the next acquirer gets the
 * lock within about 20 ms with MPROC_EOWNERDEAD instead of 0 — it then holds the lock,
 * and the object stays usable; the data it protects may be half-updated. (Waiters check
 * the holder's pid every 20 ms while they wait; a pid reused within that window would
 * hide the death.)
 *
 *   mproc_lock *l;
 *   mproc_lock_create(&l);
 *   if (mproc_lock_acquire(l, 1000) == 0) {     // 0, MPROC_EOWNERDEAD, MPROC_ETIMEDOUT
 *       ...
 *       mproc_lock_release(l);
 *   }
 *   mproc_sem *s;
 *   mproc_sem_create(&s, 2);
 *   int64_t v;
 *   mproc_sem_value(s, &v);                     // numbers come out through int64_t *
 *   mproc_sem_destroy(s);
 *   mproc_lock_destroy(l); */
#ifndef MPROC_SYNC_H
#define MPROC_SYNC_H

#include "common.h"
#include "pack.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Lock and RLock ----------------------------------------------------------------------
 * One type: a Lock may be released by any thread of any process (as Python's); an RLock is
 * owned by the thread that acquired it, which may acquire it again and must release it as
 * many times. */
typedef struct mproc_lock mproc_lock;
typedef struct mproc_lock mproc_rlock;

/* Lock(): a new, free lock. MPROC_EINVAL for a NULL out, MPROC_ENOMEM, MPROC_EOS when the shared
 * memory cannot be made. */
MPROC_API int mproc_lock_create(mproc_lock **out);
/* RLock(): a new, free re-entrant lock (the same type as a Lock). Errors as
 * mproc_lock_create. */
MPROC_API int mproc_rlock_create(mproc_lock **out);
/* 0, MPROC_EOWNERDEAD (acquired from a dead holder), MPROC_ETIMEDOUT. A Lock acquired
 * again by its holder waits like any other acquirer (as Python's). */
MPROC_API int mproc_lock_acquire(mproc_lock *l, int64_t timeout_ms);
/* MPROC_ESTATE if the lock is not held (RLock: not held by this thread). */
MPROC_API int mproc_lock_release(mproc_lock *l);
/* 1 if held by anyone, 0 if free. */
MPROC_API int mproc_lock_locked(mproc_lock *l);
/* Frees this process's handle; the lock lives on in processes that hold one. NULL is a no-op. */
MPROC_API void mproc_lock_destroy(mproc_lock *l);
/* The RLock spellings of the same calls. */
static inline int mproc_rlock_acquire(mproc_lock *l, int64_t timeout_ms)
{
    return mproc_lock_acquire(l, timeout_ms);
}
/* RLock.release(): mproc_lock_release. */
static inline int mproc_rlock_release(mproc_lock *l)
{
    return mproc_lock_release(l);
}
/* mproc_lock_destroy, for an RLock. */
static inline void mproc_rlock_destroy(mproc_lock *l)
{
    mproc_lock_destroy(l);
}
/* Re-opens a Lock or RLock sent in a pack (a new handle to destroy). */
MPROC_API int mproc_unpack_lock(mproc_unpacker *u, mproc_lock **out);

/* ---- Semaphore and BoundedSemaphore ------------------------------------------------------ */
typedef struct mproc_sem mproc_sem;

/* value: 0 .. INT32_MAX (else MPROC_EINVAL). */
MPROC_API int mproc_sem_create(mproc_sem **out, int64_t value);
/* Releasing beyond the initial value is MPROC_ESTATE (Python's ValueError). */
MPROC_API int mproc_sem_create_bounded(mproc_sem **out, int64_t value);
/* acquire(timeout): 0, or MPROC_ETIMEDOUT (timeout 0: a poll). */
MPROC_API int mproc_sem_acquire(mproc_sem *s, int64_t timeout_ms);
/* release(): adds one and wakes a waiter; a bounded one beyond its initial value is
 * MPROC_ESTATE. */
MPROC_API int mproc_sem_release(mproc_sem *s);
/* *value: the current value (>= 0). */
MPROC_API int mproc_sem_value(mproc_sem *s, int64_t *value);
/* Frees this process's handle; the semaphore lives on in processes that hold one. NULL is a no-
 * op. */
MPROC_API void mproc_sem_destroy(mproc_sem *s);
/* Re-opens a Semaphore sent in a pack: a new handle of this process, to destroy. MPROC_ETYPE
 * when the next field is another kind, MPROC_EINVAL at the end of the pack or for NULL. */
MPROC_API int mproc_unpack_sem(mproc_unpacker *u, mproc_sem **out);

/* ---- Condition ---------------------------------------------------------------------------
 * Wait/notify around a lock, which the caller must hold for wait and notify
 * (MPROC_ESTATE otherwise). A Condition travels in a pack together with its lock. */
typedef struct mproc_cond mproc_cond;

/* lock: the Lock or RLock to use (the condition opens its own handle to it; the caller
 * keeps and destroys theirs), or NULL for a new RLock, as Python's Condition(). */
MPROC_API int mproc_cond_create(mproc_cond **out, mproc_lock *lock);
/* The condition's lock (owned by the condition). */
MPROC_API mproc_lock *mproc_cond_lock(mproc_cond *c);
/* Acquires the condition's lock (as mproc_lock_acquire). */
MPROC_API int mproc_cond_acquire(mproc_cond *c, int64_t timeout_ms);
/* Releases the condition's lock (as mproc_lock_release). */
MPROC_API int mproc_cond_release(mproc_cond *c);
/* Releases the lock, waits for a notify or the timeout, takes the lock back (in both
 * cases, as Python). 0 when notified, MPROC_ETIMEDOUT, MPROC_EOWNERDEAD (notified or not,
 * the lock came back from a dead holder). Spurious wake-ups are possible, as in Python:
 * wait in a loop on a predicate, or use mproc_cond_wait_for. */
MPROC_API int mproc_cond_wait(mproc_cond *c, int64_t timeout_ms);
/* Waits until pred(arg) is true (non-zero): 0 once it is, MPROC_ETIMEDOUT if it is still
 * false at the timeout. pred runs with the lock held. */
MPROC_API int mproc_cond_wait_for(mproc_cond *c, int (*pred)(void *arg), void *arg,
                                  int64_t timeout_ms);
/* Wakes up to n waiters (notify(n), n >= 0); returns how many waiters it woke (a count). */
MPROC_API int mproc_cond_notify(mproc_cond *c, int64_t n);
/* Wakes every waiter; returns how many it woke. */
MPROC_API int mproc_cond_notify_all(mproc_cond *c);
/* Frees this process's handle (and its handle to the lock). NULL is a no-op. */
MPROC_API void mproc_cond_destroy(mproc_cond *c);
/* Re-opens a Condition (and its lock) sent in a pack: a new handle of this process, to destroy.
 * MPROC_ETYPE when the next field is another kind, MPROC_EINVAL at the end of the pack or for
 * NULL. */
MPROC_API int mproc_unpack_cond(mproc_unpacker *u, mproc_cond **out);

/* ---- Event -------------------------------------------------------------------------------- */
typedef struct mproc_event mproc_event;

/* Event(): a new event, not set. MPROC_EINVAL for a NULL out, MPROC_ENOMEM, MPROC_EOS when the
 * shared memory cannot be made. */
MPROC_API int mproc_event_create(mproc_event **out);
/* set(): sets the flag and wakes every waiter. */
MPROC_API int mproc_event_set(mproc_event *e);
/* clear(): unsets the flag. */
MPROC_API int mproc_event_clear(mproc_event *e);
/* 1 if set, 0 if not. */
MPROC_API int mproc_event_is_set(mproc_event *e);
/* 0 once set, MPROC_ETIMEDOUT. */
MPROC_API int mproc_event_wait(mproc_event *e, int64_t timeout_ms);
/* Frees this process's handle; the event lives on in processes that hold one. NULL is a
 * no-op. */
MPROC_API void mproc_event_destroy(mproc_event *e);
/* Re-opens an Event sent in a pack: a new handle of this process, to destroy. MPROC_ETYPE when
 * the next field is another kind, MPROC_EINVAL at the end of the pack or for NULL. */
MPROC_API int mproc_unpack_event(mproc_unpacker *u, mproc_event **out);

/* ---- Barrier -------------------------------------------------------------------------------- */
typedef struct mproc_barrier mproc_barrier;

/* Waits take this to mean "the barrier's own timeout". */
#define MPROC_BARRIER_DEFAULT ((int64_t)-2)

typedef struct mproc_barrier_opts {
    int64_t parties;    /* 1 .. INT32_MAX */
    const char *action; /* a task run by the last process to arrive, before the others go
                           (NULL: none; its result is dropped); if it fails, the barrier
                           breaks */
    int64_t timeout_ms; /* used by waits given MPROC_BARRIER_DEFAULT; 0: MPROC_FOREVER */
} mproc_barrier_opts;

/* Barrier(parties, action, timeout): MPROC_EINVAL for a NULL out or opts, parties out of 1 ..
 * INT32_MAX or a negative timeout; MPROC_ETOOBIG for a too long action name, MPROC_ENOTASK for
 * an unknown one; MPROC_ENOMEM; MPROC_EOS when the shared memory cannot be made. */
MPROC_API int mproc_barrier_create(mproc_barrier **out, const mproc_barrier_opts *opts);
/* Waits for all parties: the arrival index (0 .. parties-1, distinct) once all came;
 * MPROC_EBROKEN if the barrier is or becomes broken (abort, reset, another's timeout, a
 * failed action); MPROC_ETIMEDOUT for the waiter whose timeout broke it (as Python, a
 * timeout breaks the barrier for everyone); MPROC_ETASK to the one whose action failed. */
MPROC_API int mproc_barrier_wait(mproc_barrier *b, int64_t timeout_ms);
/* Breaks the barrier: waiters and later arrivals get MPROC_EBROKEN until a reset. */
MPROC_API int mproc_barrier_abort(mproc_barrier *b);
/* Back to empty and unbroken; current waiters get MPROC_EBROKEN. */
MPROC_API int mproc_barrier_reset(mproc_barrier *b);
/* *parties: how many must arrive; *n: how many wait now. */
MPROC_API int mproc_barrier_parties(mproc_barrier *b, int64_t *parties);
/* *n: how many parties wait now. */
MPROC_API int mproc_barrier_n_waiting(mproc_barrier *b, int64_t *n);
/* 1 if broken, 0 if not. */
MPROC_API int mproc_barrier_broken(mproc_barrier *b);
/* Frees this process's handle; the barrier lives on in processes that hold one. NULL is a
 * no-op. */
MPROC_API void mproc_barrier_destroy(mproc_barrier *b);
/* Re-opens a Barrier sent in a pack: a new handle of this process, to destroy. MPROC_ETYPE when
 * the next field is another kind, MPROC_EINVAL at the end of the pack or for NULL. */
MPROC_API int mproc_unpack_barrier(mproc_unpacker *u, mproc_barrier **out);

#ifdef __cplusplus
}
#endif
#endif
