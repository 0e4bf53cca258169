/* mproc — managers: Python's Manager() and BaseManager, objects that live in a server
 * process and are used through proxies.
 *
 * A manager is a server holding shared objects (dict, list, namespace, queues, locks,
 * semaphores, events, conditions, barriers, values, arrays). Every process that holds a
 * proxy talks to that server over a connection: locally (a Unix socket / named pipe) or
 * over TCP. Connections authenticate both ways with an HMAC-SHA256 challenge on a shared
 * key before anything is executed. The wire protocol is in doc/manager-protocol.md.
 *
 *   mproc_manager *m;
 *   mproc_manager_start(&m, NULL);                 // Manager(): a server process
 *   mproc_mdict *d;
 *   mproc_manager_dict(m, &d);                     // m.dict()
 *   mproc_mdict_set_i64(d, MPROC_KEY("year"), 2000);
 *   mproc_pack_handle(args, d);                    // a proxy travels in packs
 *   ... in the child: mproc_unpack_mdict(&u, &d); mproc_mdict_add_i64(d, MPROC_KEY("year"), 1, NULL);
 *   mproc_proxy_destroy(d);
 *   mproc_manager_destroy(m);                      // shuts the server down
 *
 * Proxies go into argument packs (mproc_pack_handle) and work in Process children, Pool
 * tasks and initializers under every start method, and in any process that got the pack's
 * bytes; a proxy passed on again by a child keeps working. A pack holding a proxy holds the
 * manager's address and key: treat its bytes as secret.
 *
 * Every call can fail with MPROC_ECLOSED when the server is gone (killed, shut down,
 * unreachable), never hangs: blocking calls take a timeout, and every round trip has a
 * bound. Keys and values are bytes; MPROC_KEY("text") passes a C string as a key. Objects
 * live as long as their server (closing a proxy frees only the proxy).
 *
 * Blocking calls on the server (a lock's acquire, a queue's get, an event's wait, ...) are
 * sent as slices of at most a few seconds that the proxy repeats until its own timeout, so
 * the server never waits for a client that is gone. */
#ifndef MPROC_MANAGER_H
#define MPROC_MANAGER_H

#include <string.h>

#include "common.h"
#include "pack.h"
#include "process.h"
#include "shared.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A key given as a C string: MPROC_KEY("count") is ("count", 5). */
#define MPROC_KEY(s) (s), strlen(s)

typedef struct mproc_manager mproc_manager;

typedef struct mproc_manager_opts {
    /* start/serve: where to listen; connect: where the server is.
     *   "host:port"   TCP ("127.0.0.1:5438"; port 0 picks a free port; ":5438" is
     *                 loopback). Binding to anything but loopback is the caller's explicit
     *                 choice ("0.0.0.0:5438").
     *   "local:NAME"  this machine only: a Unix socket (abstract on Linux) or a named pipe.
     * NULL for start/serve: a fresh private local address. Required for connect. */
    const char *address;
    /* The shared secret. start: NULL gives 32 random bytes (known to this process and to
     * every process its proxies reach). serve and connect: required, at least 1 byte. */
    const void *authkey;
    size_t authkey_len;
    /* start: how the server process is started (NULL: the default method). */
    mproc_context *ctx;
    /* start/connect: how long to wait for the server to be ready, in ms (0: MPROC_FOREVER).
     * A started server process that ends before it is ready ends the start at once. */
    int64_t timeout_ms;
    /* serve/start: the largest request the server accepts, in bytes (0: 1 GiB + 64 KiB).
     * Larger frames are refused and that connection is closed. */
    size_t max_message;
} mproc_manager_opts;

/* Manager(): starts a server process (a daemon child of this process) and connects to it.
 * opts may be NULL. MPROC_ETIMEDOUT when opts' timeout passes first; the server's own code
 * when it cannot serve (MPROC_EEXIST for an address in use, MPROC_EINVAL for a bad one);
 * MPROC_ECLOSED when its process ends before it is ready (or what mproc_process_start
 * gives, MPROC_ESPAWN, when it ends sooner). On failure no process is left. */
MPROC_API int mproc_manager_start(mproc_manager **out, const mproc_manager_opts *opts);
/* BaseManager(address, authkey).get_server(): serves from this process, on threads of its
 * own, until mproc_manager_shutdown (from here or from any client). Returns at once; the
 * objects created through the returned manager live in this process and can be published
 * with mproc_manager_register. */
MPROC_API int mproc_manager_serve(mproc_manager **out, const mproc_manager_opts *opts);
/* BaseManager(address, authkey).connect(). MPROC_EAUTH for a wrong key, MPROC_ECLOSED when
 * nobody serves there, MPROC_ETIMEDOUT. */
MPROC_API int mproc_manager_connect(mproc_manager **out, const mproc_manager_opts *opts);
/* The address clients use (the real port when 0 was asked for). Valid while m lives. */
MPROC_API const char *mproc_manager_address(const mproc_manager *m);
/* start: the server process's pid; other managers: 0. */
MPROC_API int64_t mproc_manager_pid(const mproc_manager *m);
/* serve: waits until the server stopped (serve_forever with a bound): 0, or
 * MPROC_ETIMEDOUT. Other managers: MPROC_ESTATE. */
MPROC_API int mproc_manager_wait(mproc_manager *m, int64_t timeout_ms);
/* Stops the server: start: asks it, then ends the server process (killed if it does not
 * end in time); serve: stops serving here; connect: asks the server to stop. Proxies of
 * that server then fail with MPROC_ECLOSED. Calling it twice is fine. */
MPROC_API int mproc_manager_shutdown(mproc_manager *m, int64_t timeout_ms);
/* Frees the manager; a started or served one is shut down first (as `with Manager()`). */
MPROC_API void mproc_manager_destroy(mproc_manager *m);

/* Objects. Each call creates the object in the server and gives a proxy (Python's
 * manager.dict(), manager.Queue(maxsize), ...). Close proxies with mproc_proxy_destroy. */
typedef struct mproc_mdict mproc_mdict;
typedef struct mproc_mlist mproc_mlist;
typedef struct mproc_mns mproc_mns;
typedef struct mproc_mqueue mproc_mqueue;
typedef struct mproc_mlock mproc_mlock;
typedef struct mproc_msem mproc_msem;
typedef struct mproc_mevent mproc_mevent;
typedef struct mproc_mcond mproc_mcond;
typedef struct mproc_mbarrier mproc_mbarrier;
typedef struct mproc_mvalue mproc_mvalue;
typedef struct mproc_marray mproc_marray;

MPROC_API int mproc_manager_dict(mproc_manager *m, mproc_mdict **out);
MPROC_API int mproc_manager_list(mproc_manager *m, mproc_mlist **out);
MPROC_API int mproc_manager_namespace(mproc_manager *m, mproc_mns **out);
/* maxsize <= 0: unbounded. */
MPROC_API int mproc_manager_queue(mproc_manager *m, mproc_mqueue **out, int64_t maxsize);
MPROC_API int mproc_manager_joinable_queue(mproc_manager *m, mproc_mqueue **out, int64_t maxsize);
MPROC_API int mproc_manager_lock(mproc_manager *m, mproc_mlock **out);
MPROC_API int mproc_manager_rlock(mproc_manager *m, mproc_mlock **out);
MPROC_API int mproc_manager_semaphore(mproc_manager *m, mproc_msem **out, int64_t value);
MPROC_API int mproc_manager_bounded_semaphore(mproc_manager *m, mproc_msem **out, int64_t value);
MPROC_API int mproc_manager_event(mproc_manager *m, mproc_mevent **out);
/* lock: the condition's lock (a Lock or RLock of the same manager), NULL for a new RLock. */
MPROC_API int mproc_manager_condition(mproc_manager *m, mproc_mlock *lock, mproc_mcond **out);
MPROC_API int mproc_manager_barrier(mproc_manager *m, int64_t parties, mproc_mbarrier **out);
MPROC_API int mproc_manager_value(mproc_manager *m, mproc_type type, mproc_mvalue **out);
MPROC_API int mproc_manager_array(mproc_manager *m, mproc_type type, size_t length,
                                  mproc_marray **out);

/* Publishes an object of this server under a name (BaseManager.register + callable):
 * MPROC_EEXIST if the name is taken. proxy: any proxy of this manager's server. */
MPROC_API int mproc_manager_register(mproc_manager *m, const char *name, const void *proxy);
/* The object published under name (m.get_zhang_queue()): MPROC_ENOENT if there is none,
 * MPROC_ETYPE if it is of another kind. */
MPROC_API int mproc_manager_lookup_dict(mproc_manager *m, const char *name, mproc_mdict **out);
MPROC_API int mproc_manager_lookup_list(mproc_manager *m, const char *name, mproc_mlist **out);
MPROC_API int mproc_manager_lookup_namespace(mproc_manager *m, const char *name, mproc_mns **out);
MPROC_API int mproc_manager_lookup_queue(mproc_manager *m, const char *name, mproc_mqueue **out);
MPROC_API int mproc_manager_lookup_lock(mproc_manager *m, const char *name, mproc_mlock **out);
MPROC_API int mproc_manager_lookup_semaphore(mproc_manager *m, const char *name, mproc_msem **out);
MPROC_API int mproc_manager_lookup_event(mproc_manager *m, const char *name, mproc_mevent **out);
MPROC_API int mproc_manager_lookup_condition(mproc_manager *m, const char *name, mproc_mcond **out);
MPROC_API int mproc_manager_lookup_barrier(mproc_manager *m, const char *name,
                                           mproc_mbarrier **out);
MPROC_API int mproc_manager_lookup_value(mproc_manager *m, const char *name, mproc_mvalue **out);
MPROC_API int mproc_manager_lookup_array(mproc_manager *m, const char *name, mproc_marray **out);

/* Proxies in packs: mproc_pack_handle(pack, proxy) writes one; these read it back (a new
 * proxy of this process, to close with mproc_proxy_destroy). MPROC_ETYPE if the field is
 * not a proxy of that kind. */
MPROC_API int mproc_unpack_mdict(mproc_unpacker *u, mproc_mdict **out);
MPROC_API int mproc_unpack_mlist(mproc_unpacker *u, mproc_mlist **out);
MPROC_API int mproc_unpack_mns(mproc_unpacker *u, mproc_mns **out);
MPROC_API int mproc_unpack_mqueue(mproc_unpacker *u, mproc_mqueue **out);
MPROC_API int mproc_unpack_mlock(mproc_unpacker *u, mproc_mlock **out);
MPROC_API int mproc_unpack_msem(mproc_unpacker *u, mproc_msem **out);
MPROC_API int mproc_unpack_mevent(mproc_unpacker *u, mproc_mevent **out);
MPROC_API int mproc_unpack_mcond(mproc_unpacker *u, mproc_mcond **out);
MPROC_API int mproc_unpack_mbarrier(mproc_unpacker *u, mproc_mbarrier **out);
MPROC_API int mproc_unpack_mvalue(mproc_unpacker *u, mproc_mvalue **out);
MPROC_API int mproc_unpack_marray(mproc_unpacker *u, mproc_marray **out);
/* Closes any proxy (NULL is fine). The object stays in the server. */
MPROC_API void mproc_proxy_destroy(void *proxy);

/* ---- batches: many calls, one round trip --------------------------------------------------
 * Between begin and end, calls made by this thread on proxies of that server are queued
 * and return 0 at once; their outputs (mproc_bytes, int64_t, double) are filled in by
 * end, which sends them in one message. The server runs them in order, one by one (a
 * batch is not a transaction: use mproc_mdict_add_i64 / _cas for atomic updates). A call
 * that waits (a lock, a queue's get) waits at most 2 s inside a batch.
 * codes (n entries, may be NULL) receives what each call would have returned. Calls on
 * another server's proxies during a batch are MPROC_ESTATE. */
MPROC_API int mproc_batch_begin(const void *proxy_or_manager);
/* Sends the batch, waits up to timeout_ms for the answers: 0 when every call succeeded,
 * else the first failure's code (the rest still ran). MPROC_ESTATE without a batch. */
MPROC_API int mproc_batch_end(int64_t timeout_ms, int *codes, size_t n);
/* Drops a batch without sending it (its outputs are not touched). */
MPROC_API void mproc_batch_cancel(void);

/* ---- dict (bytes → bytes; Python's dict proxy) ---------------------------------------------
 * A missing key is MPROC_ENOENT (KeyError). Lists of keys or items come back as a pack's
 * bytes: BYTES fields (keys), or key and value alternating (items), in insertion order;
 * free them with mproc_bytes_free. update takes such a pack (STR fields count as their
 * text). The _i64 forms store a value as 8 bytes little endian; reading another length is
 * MPROC_ETYPE. */
MPROC_API int mproc_mdict_set(mproc_mdict *d, const void *key, size_t klen, const void *val,
                              size_t vlen);
MPROC_API int mproc_mdict_get(mproc_mdict *d, const void *key, size_t klen, mproc_bytes *val);
MPROC_API int mproc_mdict_del(mproc_mdict *d, const void *key, size_t klen);
/* 1 if present, 0 if not. */
MPROC_API int mproc_mdict_contains(mproc_mdict *d, const void *key, size_t klen);
/* Number of entries. */
MPROC_API int mproc_mdict_len(mproc_mdict *d);
MPROC_API int mproc_mdict_keys(mproc_mdict *d, mproc_bytes *keys);
MPROC_API int mproc_mdict_items(mproc_mdict *d, mproc_bytes *items);
MPROC_API int mproc_mdict_update(mproc_mdict *d, const mproc_pack *items);
MPROC_API int mproc_mdict_clear(mproc_mdict *d);
/* Sets key to def unless present; val receives the value now stored. */
MPROC_API int mproc_mdict_setdefault(mproc_mdict *d, const void *key, size_t klen, const void *def,
                                     size_t dlen, mproc_bytes *val);
MPROC_API int mproc_mdict_pop(mproc_mdict *d, const void *key, size_t klen, mproc_bytes *val);
MPROC_API int mproc_mdict_set_i64(mproc_mdict *d, const void *key, size_t klen, int64_t v);
MPROC_API int mproc_mdict_get_i64(mproc_mdict *d, const void *key, size_t klen, int64_t *v);
/* d[key] += delta in one step on the server (a missing key counts as 0); result may be
 * NULL. MPROC_ETOOBIG on overflow. */
MPROC_API int mproc_mdict_add_i64(mproc_mdict *d, const void *key, size_t klen, int64_t delta,
                                  int64_t *result);
/* Compare-and-set: when key holds expected (expected NULL: when key is absent), stores
 * desired and returns 1; otherwise 0. */
MPROC_API int mproc_mdict_cas(mproc_mdict *d, const void *key, size_t klen, const void *expected,
                              size_t elen, const void *desired, size_t dlen);

/* ---- list (of bytes; Python's list proxy) ----------------------------------------------------
 * Indexes count from the end when negative, as in Python; out of range is MPROC_ENOENT. */
MPROC_API int mproc_mlist_append(mproc_mlist *l, const void *data, size_t len);
/* Appends every field of items (BYTES or STR). */
MPROC_API int mproc_mlist_extend(mproc_mlist *l, const mproc_pack *items);
MPROC_API int mproc_mlist_get(mproc_mlist *l, int64_t index, mproc_bytes *out);
MPROC_API int mproc_mlist_set(mproc_mlist *l, int64_t index, const void *data, size_t len);
MPROC_API int mproc_mlist_pop(mproc_mlist *l, int64_t index, mproc_bytes *out);
MPROC_API int mproc_mlist_len(mproc_mlist *l);
MPROC_API int mproc_mlist_reverse(mproc_mlist *l);
/* l[start:stop] as a pack's bytes of BYTES fields (Python's slice rules; INT64_MAX for
 * "to the end"). */
MPROC_API int mproc_mlist_slice(mproc_mlist *l, int64_t start, int64_t stop, mproc_bytes *out);

/* ---- Namespace (named fields; a missing one is MPROC_ENOENT, Python's AttributeError) ---- */
MPROC_API int mproc_mns_set(mproc_mns *ns, const char *name, const void *data, size_t len);
MPROC_API int mproc_mns_get(mproc_mns *ns, const char *name, mproc_bytes *out);
MPROC_API int mproc_mns_del(mproc_mns *ns, const char *name);
MPROC_API int mproc_mns_set_i64(mproc_mns *ns, const char *name, int64_t v);
MPROC_API int mproc_mns_get_i64(mproc_mns *ns, const char *name, int64_t *v);

/* ---- Queue / JoinableQueue -------------------------------------------------------------------
 * put waits while a bounded queue is full, get while it is empty: a poll (timeout 0:
 * put_nowait / get_nowait) is MPROC_EFULL / MPROC_EEMPTY, any other timeout that passes
 * MPROC_ETIMEDOUT (as a local queue's). task_done / join on a plain Queue are MPROC_ETYPE. */
MPROC_API int mproc_mqueue_put(mproc_mqueue *q, const void *data, size_t len, int64_t timeout_ms);
MPROC_API int mproc_mqueue_get(mproc_mqueue *q, mproc_bytes *out, int64_t timeout_ms);
MPROC_API int mproc_mqueue_qsize(mproc_mqueue *q);
/* 1 / 0. */
MPROC_API int mproc_mqueue_empty(mproc_mqueue *q);
MPROC_API int mproc_mqueue_full(mproc_mqueue *q);
MPROC_API int mproc_mqueue_task_done(mproc_mqueue *q);
MPROC_API int mproc_mqueue_join(mproc_mqueue *q, int64_t timeout_ms);

/* ---- Lock / RLock ----------------------------------------------------------------------------
 * Owned by the calling thread of the calling process. A lock whose owner's process lost
 * every connection to the server (it died) is freed, and the next acquire gets it with
 * MPROC_EOWNERDEAD. Releasing an unheld lock, or an RLock held by another thread, is
 * MPROC_ESTATE. */
MPROC_API int mproc_mlock_acquire(mproc_mlock *l, int64_t timeout_ms);
MPROC_API int mproc_mlock_release(mproc_mlock *l);

/* ---- Semaphore / BoundedSemaphore (over-release of a bounded one: MPROC_ESTATE) ---------- */
MPROC_API int mproc_msem_acquire(mproc_msem *s, int64_t timeout_ms);
MPROC_API int mproc_msem_release(mproc_msem *s);
/* The current value. */
MPROC_API int mproc_msem_value(mproc_msem *s, int64_t *value);

/* ---- Event ---------------------------------------------------------------------------------- */
MPROC_API int mproc_mevent_set(mproc_mevent *e);
MPROC_API int mproc_mevent_clear(mproc_mevent *e);
/* 1 / 0. */
MPROC_API int mproc_mevent_is_set(mproc_mevent *e);
/* 0 once set, MPROC_ETIMEDOUT. */
MPROC_API int mproc_mevent_wait(mproc_mevent *e, int64_t timeout_ms);

/* ---- Condition -------------------------------------------------------------------------------
 * wait / notify need the condition's lock held (else MPROC_ESTATE). wait gives 0 when
 * notified, MPROC_ETIMEDOUT; either way the lock is held again. */
MPROC_API int mproc_mcond_acquire(mproc_mcond *c, int64_t timeout_ms);
MPROC_API int mproc_mcond_release(mproc_mcond *c);
MPROC_API int mproc_mcond_wait(mproc_mcond *c, int64_t timeout_ms);
MPROC_API int mproc_mcond_notify(mproc_mcond *c, int64_t n);
MPROC_API int mproc_mcond_notify_all(mproc_mcond *c);

/* ---- Barrier ---------------------------------------------------------------------------------
 * wait returns this party's index (0 .. parties-1) once all arrived; a timeout breaks the
 * barrier for everyone (MPROC_ETIMEDOUT here, MPROC_EBROKEN for the others), as in
 * Python. The timeout is sent whole (a barrier wait cannot be repeated). */
MPROC_API int mproc_mbarrier_wait(mproc_mbarrier *b, int64_t timeout_ms);
MPROC_API int mproc_mbarrier_abort(mproc_mbarrier *b);
MPROC_API int mproc_mbarrier_reset(mproc_mbarrier *b);
MPROC_API int mproc_mbarrier_parties(mproc_mbarrier *b);
MPROC_API int mproc_mbarrier_n_waiting(mproc_mbarrier *b);
/* 1 / 0. */
MPROC_API int mproc_mbarrier_broken(mproc_mbarrier *b);

/* ---- Value / Array (typed as mproc_value / mproc_array, range rules included) ---------- */
MPROC_API int mproc_mvalue_get_i64(mproc_mvalue *v, int64_t *out);
MPROC_API int mproc_mvalue_set_i64(mproc_mvalue *v, int64_t value);
MPROC_API int mproc_mvalue_get_f64(mproc_mvalue *v, double *out);
MPROC_API int mproc_mvalue_set_f64(mproc_mvalue *v, double value);
/* value += delta in one step on the server; result may be NULL. */
MPROC_API int mproc_mvalue_add_i64(mproc_mvalue *v, int64_t delta, int64_t *result);
/* When the value is expected, stores desired and returns 1; otherwise 0. */
MPROC_API int mproc_mvalue_cas_i64(mproc_mvalue *v, int64_t expected, int64_t desired);
MPROC_API int mproc_marray_len(mproc_marray *a);
MPROC_API int mproc_marray_get_i64(mproc_marray *a, size_t index, int64_t *out);
MPROC_API int mproc_marray_set_i64(mproc_marray *a, size_t index, int64_t value);
MPROC_API int mproc_marray_get_f64(mproc_marray *a, size_t index, double *out);
MPROC_API int mproc_marray_set_f64(mproc_marray *a, size_t index, double value);

#ifdef __cplusplus
}
#endif
#endif
