/* mproc — managers: Python's Manager() and BaseManager, objects that live in a server
 * process and are used through proxies.
 *
 * A manager is a server holding shared objects (dict, list, namespace, queues, locks,
 * semaphores, events, conditions, barriers, values, arrays). Every process that holds a
 * proxy talks to that server over a connection: locally (a Unix socket / named pipe) or
 * over TCP. Connections authenticate both ways with an HMAC-SHA256 challenge on a shared
 * key before anything is executed. The wire protocol is in doc/manager-protocol.md.
 *
 *   #include <mproc.h>                                  // MPROC_ARGS, MPROC_UNPACK: values.h
 *
 *   mproc_manager *m;
 *   mproc_manager_start(&m, NULL);                      // Manager(): a server process
 *   mproc_mdict *d;
 *   mproc_manager_dict(m, &d);                          // d = m.dict()
 *   mproc_mdict_set(d, MPROC_ARGS("year"), MPROC_ARGS(2000));       // d["year"] = 2000
 *   mproc_process_opts o = {.target = "birthday", .args = MPROC_ARGS(d)}; // proxies travel
 *   ...
 *   MPROC_TASK(birthday, in, out)                       // in the child
 *   {
 *       mproc_mdict *d;
 *       if (MPROC_UNPACK(in, &d))
 *           return 1;
 *       int rc = mproc_mdict_add_i64(d, MPROC_ARGS("year"), 1, NULL);  // d["year"] += 1
 *       mproc_proxy_destroy(d);
 *       return rc != 0;
 *   }
 *   ...
 *   mproc_bytes v;                                      // back in the parent
 *   int64_t year;
 *   if (mproc_mdict_get(d, MPROC_ARGS("year"), &v) == 0 && MPROC_UNPACK(&v, &year) == 0)
 *       printf("%lld\n", (long long)year);              // 2001
 *   mproc_bytes_free(&v);
 *   mproc_proxy_destroy(d);
 *   mproc_manager_destroy(m);                           // shuts the server down
 *
 * Keys, values and items are packs (mproc/pack.h; MPROC_ARGS(...) writes one in place): a
 * get gives the stored pack's bytes, read with MPROC_UNPACK and freed with
 * mproc_bytes_free. Keys compare by their encoded bytes: MPROC_ARGS(1) and MPROC_ARGS(1LL)
 * are one key, MPROC_ARGS(1), MPROC_ARGS("1") and MPROC_ARGS(1.0) three. A pack holding OS
 * handles (a lock, a queue, a pipe end, ...) cannot be stored or sent: MPROC_ENOTSUP,
 * before anything is sent. Proxies can: they are an address and an id.
 *
 * Proxies go into argument packs (MPROC_ARGS(d), mproc_pack_handle) and work in Process
 * children, Pool tasks and initializers under every start method, and in any process that
 * got the pack's bytes; a proxy passed on again by a child keeps working. A pack holding a
 * proxy holds the manager's address and key: treat its bytes as secret.
 *
 * Every call can fail with MPROC_ECLOSED when the server is gone (killed, shut down,
 * unreachable), never hangs on a server that is gone: blocking calls take a timeout, and
 * every round trip has a bound. Calls on a NULL proxy, or on a proxy of another kind, are
 * MPROC_EINVAL; so are NULL keys, values and outputs that are not said to be optional.
 * Objects live as long as their server (closing a proxy frees only the proxy).
 *
 * Blocking calls on the server (a lock's acquire, a queue's get, an event's wait, ...) are
 * sent as slices of at most a few seconds that the proxy repeats until its own timeout, so
 * the server never waits for a client that is gone. */
#ifndef MPROC_MANAGER_H
#define MPROC_MANAGER_H

#include "common.h"
#include "pack.h"
#include "process.h"
#include "shared.h"

#ifdef __cplusplus
extern "C" {
#endif

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
 * with mproc_manager_register. MPROC_EINVAL without a key or for a bad address,
 * MPROC_EEXIST for an address in use. When accepting fails (the descriptor limit, EMFILE)
 * the server waits before trying again, from 1 ms doubling up to 100 ms, so it does not spin;
 * only object id 0 (the server) can be shut down by a client's SHUTDOWN. */
MPROC_API int mproc_manager_serve(mproc_manager **out, const mproc_manager_opts *opts);
/* BaseManager(address, authkey).connect(). MPROC_EINVAL without an address or a key,
 * MPROC_EAUTH for a wrong key, MPROC_ECLOSED when nobody serves there, MPROC_ETIMEDOUT when
 * opts' timeout passes first, MPROC_EPROTO when what answers is not a manager. */
MPROC_API int mproc_manager_connect(mproc_manager **out, const mproc_manager_opts *opts);
/* The address clients use (the real port when 0 was asked for). A server on every
 * interface reports the wildcard it is bound to ("0.0.0.0:PORT", "[::]:PORT"); connecting
 * to a wildcard host goes to loopback, so clients on this machine can use the address as
 * it is. Valid while m lives; NULL for NULL. */
MPROC_API const char *mproc_manager_address(const mproc_manager *m);
/* start: the server process's pid; other managers (and NULL): 0. */
MPROC_API int64_t mproc_manager_pid(const mproc_manager *m);
/* serve: waits until the server stopped (serve_forever with a bound): 0, or
 * MPROC_ETIMEDOUT. Other managers: MPROC_ESTATE. */
MPROC_API int mproc_manager_wait(mproc_manager *m, int64_t timeout_ms);
/* Stops the server: start: asks it, then waits up to timeout_ms for the server process to
 * end (killed if it does not); serve: stops serving here; connect: asks the server to stop.
 * Proxies of that server then fail with MPROC_ECLOSED. Calling it twice is fine. */
MPROC_API int mproc_manager_shutdown(mproc_manager *m, int64_t timeout_ms);
/* Frees the manager (NULL is fine); a started or served one is shut down first (as `with
 * Manager()`, waiting 10 s at most for its process). */
MPROC_API void mproc_manager_destroy(mproc_manager *m);

/* Objects. Each call creates the object in the server and gives a proxy (Python's
 * manager.dict(), manager.Queue(maxsize), ...), to close with mproc_proxy_destroy.
 * MPROC_ECLOSED when the server is gone; MPROC_ESTATE inside a batch (the proxy is needed
 * at once). */
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

/* manager.dict(): a new empty dict in the server and its proxy in *out. */
MPROC_API int mproc_manager_dict(mproc_manager *m, mproc_mdict **out);
/* manager.list(): a new empty list in the server and its proxy in *out. */
MPROC_API int mproc_manager_list(mproc_manager *m, mproc_mlist **out);
/* manager.Namespace(): a new namespace in the server and its proxy in *out. */
MPROC_API int mproc_manager_namespace(mproc_manager *m, mproc_mns **out);
/* maxsize <= 0: unbounded. */
MPROC_API int mproc_manager_queue(mproc_manager *m, int64_t maxsize, mproc_mqueue **out);
/* manager.JoinableQueue(maxsize) (maxsize <= 0: unbounded). */
MPROC_API int mproc_manager_joinable_queue(mproc_manager *m, int64_t maxsize, mproc_mqueue **out);
/* manager.Lock(). */
MPROC_API int mproc_manager_lock(mproc_manager *m, mproc_mlock **out);
/* manager.RLock() (a proxy of the same type as a Lock's). */
MPROC_API int mproc_manager_rlock(mproc_manager *m, mproc_mlock **out);
/* value < 0: MPROC_EINVAL. A bounded one's bound is its initial value. */
MPROC_API int mproc_manager_semaphore(mproc_manager *m, int64_t value, mproc_msem **out);
/* manager.BoundedSemaphore(value): releasing beyond value is MPROC_ESTATE; value < 0:
 * MPROC_EINVAL. */
MPROC_API int mproc_manager_bounded_semaphore(mproc_manager *m, int64_t value, mproc_msem **out);
/* manager.Event(), not set. */
MPROC_API int mproc_manager_event(mproc_manager *m, mproc_mevent **out);
/* lock: the condition's lock (a Lock or RLock of the same manager, else MPROC_EINVAL), NULL
 * for a new RLock. */
MPROC_API int mproc_manager_condition(mproc_manager *m, mproc_mlock *lock, mproc_mcond **out);
/* parties < 1: MPROC_EINVAL. */
MPROC_API int mproc_manager_barrier(mproc_manager *m, int64_t parties, mproc_mbarrier **out);
/* Value(type) / Array(type, length), zeroed: an unknown type or a length < 1 is
 * MPROC_EINVAL, more than the server's max_message allows MPROC_ETOOBIG. */
MPROC_API int mproc_manager_value(mproc_manager *m, mproc_type type, mproc_mvalue **out);
/* manager.Array(type, len), zeroed; an unknown type or a len < 1 is MPROC_EINVAL. */
MPROC_API int mproc_manager_array(mproc_manager *m, mproc_type type, int64_t length,
                                  mproc_marray **out);

/* Publishes an object of this server under a name (BaseManager.register + callable):
 * MPROC_EEXIST if the name is taken. proxy: any proxy of this manager's server (else
 * MPROC_EINVAL). */
MPROC_API int mproc_manager_register(mproc_manager *m, const char *name, const void *proxy);
/* The object published under name (m.get_zhang_queue()): MPROC_ENOENT if there is none,
 * MPROC_ETYPE if it is of another kind. */
MPROC_API int mproc_manager_lookup_dict(mproc_manager *m, const char *name, mproc_mdict **out);
/* The list published under name, as mproc_manager_lookup_dict. */
MPROC_API int mproc_manager_lookup_list(mproc_manager *m, const char *name, mproc_mlist **out);
/* The Namespace published under name, as mproc_manager_lookup_dict. */
MPROC_API int mproc_manager_lookup_namespace(mproc_manager *m, const char *name, mproc_mns **out);
/* The Queue published under name, as mproc_manager_lookup_dict. */
MPROC_API int mproc_manager_lookup_queue(mproc_manager *m, const char *name, mproc_mqueue **out);
/* The Lock or RLock published under name, as mproc_manager_lookup_dict. */
MPROC_API int mproc_manager_lookup_lock(mproc_manager *m, const char *name, mproc_mlock **out);
/* The Semaphore published under name, as mproc_manager_lookup_dict. */
MPROC_API int mproc_manager_lookup_semaphore(mproc_manager *m, const char *name, mproc_msem **out);
/* The Event published under name, as mproc_manager_lookup_dict. */
MPROC_API int mproc_manager_lookup_event(mproc_manager *m, const char *name, mproc_mevent **out);
/* The Condition published under name, as mproc_manager_lookup_dict. */
MPROC_API int mproc_manager_lookup_condition(mproc_manager *m, const char *name, mproc_mcond **out);
/* The Barrier published under name, as mproc_manager_lookup_dict. */
MPROC_API int mproc_manager_lookup_barrier(mproc_manager *m, const char *name,
                                           mproc_mbarrier **out);
/* The Value published under name, as mproc_manager_lookup_dict. */
MPROC_API int mproc_manager_lookup_value(mproc_manager *m, const char *name, mproc_mvalue **out);
/* The Array published under name, as mproc_manager_lookup_dict. */
MPROC_API int mproc_manager_lookup_array(mproc_manager *m, const char *name, mproc_marray **out);

/* Proxies in packs: MPROC_ARGS(proxy) or mproc_pack_handle(pack, proxy) writes one; these
 * read it back (a new proxy of this process, to close with mproc_proxy_destroy; MPROC_UNPACK
 * calls them). MPROC_ETYPE if the field is not a proxy of that kind (nothing is read). */
MPROC_API int mproc_unpack_mdict(mproc_unpacker *u, mproc_mdict **out);
/* Reads a list proxy from a pack, as mproc_unpack_mdict. */
MPROC_API int mproc_unpack_mlist(mproc_unpacker *u, mproc_mlist **out);
/* Reads a Namespace proxy from a pack, as mproc_unpack_mdict. */
MPROC_API int mproc_unpack_mns(mproc_unpacker *u, mproc_mns **out);
/* Reads a Queue proxy from a pack, as mproc_unpack_mdict. */
MPROC_API int mproc_unpack_mqueue(mproc_unpacker *u, mproc_mqueue **out);
/* Reads a Lock proxy from a pack, as mproc_unpack_mdict. */
MPROC_API int mproc_unpack_mlock(mproc_unpacker *u, mproc_mlock **out);
/* Reads a Semaphore proxy from a pack, as mproc_unpack_mdict. */
MPROC_API int mproc_unpack_msem(mproc_unpacker *u, mproc_msem **out);
/* Reads a Event proxy from a pack, as mproc_unpack_mdict. */
MPROC_API int mproc_unpack_mevent(mproc_unpacker *u, mproc_mevent **out);
/* Reads a Condition proxy from a pack, as mproc_unpack_mdict. */
MPROC_API int mproc_unpack_mcond(mproc_unpacker *u, mproc_mcond **out);
/* Reads a Barrier proxy from a pack, as mproc_unpack_mdict. */
MPROC_API int mproc_unpack_mbarrier(mproc_unpacker *u, mproc_mbarrier **out);
/* Reads a Value proxy from a pack, as mproc_unpack_mdict. */
MPROC_API int mproc_unpack_mvalue(mproc_unpacker *u, mproc_mvalue **out);
/* Reads a Array proxy from a pack, as mproc_unpack_mdict. */
MPROC_API int mproc_unpack_marray(mproc_unpacker *u, mproc_marray **out);
/* Closes any proxy and frees it (NULL is fine). The object stays in the server. */
MPROC_API void mproc_proxy_destroy(void *proxy);

/* ---- batches: many calls, one round trip --------------------------------------------------
 * Between begin and end, calls made by this thread on proxies of that server are queued
 * and return 0 at once; their outputs (mproc_bytes, int64_t, double) are filled in by
 * end, which sends them in one message. The server runs them in order, one by one (a
 * batch is not a transaction: use mproc_mdict_add_i64 / _cas for atomic updates). A call
 * that waits (a lock, a queue's get) waits at most 2 s inside a batch.
 * Begins a batch on the server of proxy_or_manager: MPROC_EINVAL for what is neither,
 * MPROC_ESTATE when this thread has one already. Calls on another server's proxies during
 * a batch are MPROC_ESTATE; so are the calls that give a proxy, and a barrier's
 * parties / n_waiting / broken. */
MPROC_API int mproc_batch_begin(const void *proxy_or_manager);
/* Sends the batch, waits up to timeout_ms for the answers: 0 when every call succeeded,
 * else the first failure's code (the rest still ran); MPROC_ETOOBIG (nothing sent) when
 * the batch exceeds the server's max_message. codes (n entries, may be NULL) receives what
 * each call would have returned. The batch is over either way. MPROC_ESTATE without a
 * batch. */
MPROC_API int mproc_batch_end(int64_t timeout_ms, int *codes, size_t n);
/* Drops a batch without sending it (its outputs are not touched); nothing without one. */
MPROC_API void mproc_batch_cancel(void);

/* ---- dict (Python's dict proxy; keys and values are packs) ------------------------------
 * A missing key is MPROC_ENOENT (KeyError). Values come back as the stored pack's bytes,
 * keys and items as a pack of nested packs; free them with mproc_bytes_free. */
/* d[key] = value. */
MPROC_API int mproc_mdict_set(mproc_mdict *d, const mproc_pack *key, const mproc_pack *value);
/* d[key]: value receives the value's pack bytes (for MPROC_UNPACK). */
MPROC_API int mproc_mdict_get(mproc_mdict *d, const mproc_pack *key, mproc_bytes *value);
/* del d[key]. */
MPROC_API int mproc_mdict_del(mproc_mdict *d, const mproc_pack *key);
/* key in d: 1 if present, 0 if not. */
MPROC_API int mproc_mdict_contains(mproc_mdict *d, const mproc_pack *key);
/* len(d). */
MPROC_API int mproc_mdict_len(mproc_mdict *d, int64_t *n);
/* list(d): a pack whose fields are the keys, each a nested pack, in insertion order. */
MPROC_API int mproc_mdict_keys(mproc_mdict *d, mproc_bytes *keys);
/* list(d.items()): a pack whose fields are the pairs, each a nested pack of two nested
 * packs (the key, the value), in insertion order. */
MPROC_API int mproc_mdict_items(mproc_mdict *d, mproc_bytes *items);
/* d.update(pairs): pairs' fields are nested packs of two nested packs (key, value), as
 * items gives them; another field is MPROC_ETYPE, and then nothing is stored. */
MPROC_API int mproc_mdict_update(mproc_mdict *d, const mproc_pack *pairs);
/* d.clear(). */
MPROC_API int mproc_mdict_clear(mproc_mdict *d);
/* d.setdefault(key, def): stores def unless key is present; value (may be NULL) receives
 * the value now stored. */
MPROC_API int mproc_mdict_setdefault(mproc_mdict *d, const mproc_pack *key, const mproc_pack *def,
                                     mproc_bytes *value);
/* d.pop(key): value (may be NULL) receives the value removed. */
MPROC_API int mproc_mdict_pop(mproc_mdict *d, const mproc_pack *key, mproc_bytes *value);
/* d[key] += delta in one step on the server. A missing key counts as 0; the value stored is
 * the pack of one I64 (MPROC_ARGS(n)); a value of another shape is MPROC_ETYPE, an overflow
 * MPROC_ETOOBIG (the value stays). result (may be NULL) receives the new value. */
MPROC_API int mproc_mdict_add_i64(mproc_mdict *d, const mproc_pack *key, int64_t delta,
                                  int64_t *result);
/* d[key] read as an integer: the value must be the pack of one I64 (as mproc_mdict_add_i64
 * stores), otherwise MPROC_ETYPE; a missing key is mproc_mdict_get's error. */
MPROC_API int mproc_mdict_get_i64(mproc_mdict *d, const mproc_pack *key, int64_t *value);
/* str(d), Python's text of the dict: {'count': 4, 'name': 'x'}, each key and value as
 * mproc_pack_repr shows it. text: NUL-terminated, to free with mproc_bytes_free. */
MPROC_API int mproc_mdict_repr(mproc_mdict *d, mproc_bytes *text);
/* Compare-and-set in one step: when key holds expected (the same encoded bytes; expected
 * NULL: when key is absent), stores desired and returns 1; otherwise 0. */
MPROC_API int mproc_mdict_cas(mproc_mdict *d, const mproc_pack *key, const mproc_pack *expected,
                              const mproc_pack *desired);

/* ---- list (Python's list proxy; each item is a pack) -------------------------------------
 * Indexes count from the end when negative, as in Python; out of range is MPROC_ENOENT.
 * Items come back as their pack's bytes. */
/* l.append(value). */
MPROC_API int mproc_mlist_append(mproc_mlist *l, const mproc_pack *value);
/* l.extend(items): each field of items becomes one item, the pack of that one field
 * (MPROC_ARGS(1, "two", 3.0) appends three). */
MPROC_API int mproc_mlist_extend(mproc_mlist *l, const mproc_pack *items);
/* l[index]. */
MPROC_API int mproc_mlist_get(mproc_mlist *l, int64_t index, mproc_bytes *value);
/* l[index] = value. */
MPROC_API int mproc_mlist_set(mproc_mlist *l, int64_t index, const mproc_pack *value);
/* l.pop(index): value (may be NULL) receives the item removed. */
MPROC_API int mproc_mlist_pop(mproc_mlist *l, int64_t index, mproc_bytes *value);
/* len(l). */
MPROC_API int mproc_mlist_len(mproc_mlist *l, int64_t *n);
/* l.reverse(). */
MPROC_API int mproc_mlist_reverse(mproc_mlist *l);
/* l[start:stop]: a pack whose fields are the items, each a nested pack (Python's slice
 * rules; INT64_MAX for "to the end"). */
MPROC_API int mproc_mlist_slice(mproc_mlist *l, int64_t start, int64_t stop, mproc_bytes *items);

/* str(l), Python's text of the list: [1, 'two', 3.0]. text as mproc_mdict_repr's. */
MPROC_API int mproc_mlist_repr(mproc_mlist *l, mproc_bytes *text);

/* ---- Namespace (named fields holding packs; a missing one is MPROC_ENOENT, Python's
 * AttributeError) ---------------------------------------------------------------------- */
/* ns.name = value. */
MPROC_API int mproc_mns_set(mproc_mns *ns, const char *name, const mproc_pack *value);
/* ns.name: value receives its pack's bytes. */
MPROC_API int mproc_mns_get(mproc_mns *ns, const char *name, mproc_bytes *value);
/* del ns.name. */
MPROC_API int mproc_mns_del(mproc_mns *ns, const char *name);

/* ---- Queue / JoinableQueue (messages are bytes) ------------------------------------------
 * put waits while a bounded queue is full, get while it is empty: a poll (timeout 0:
 * put_nowait / get_nowait) is MPROC_EFULL / MPROC_EEMPTY, any other timeout that passes
 * MPROC_ETIMEDOUT (as a local queue's). task_done / join on a plain Queue are MPROC_ETYPE. */
/* Puts a copy of len bytes. */
MPROC_API int mproc_mqueue_put(mproc_mqueue *q, const void *data, size_t len, int64_t timeout_ms);
/* Puts a pack's bytes (MPROC_ARGS(...)); a get gives them, for MPROC_UNPACK. */
MPROC_API int mproc_mqueue_put_pack(mproc_mqueue *q, const mproc_pack *pack, int64_t timeout_ms);
/* Takes the oldest message: msg receives its bytes (free them with mproc_bytes_free). */
MPROC_API int mproc_mqueue_get(mproc_mqueue *q, int64_t timeout_ms, mproc_bytes *msg);
/* The number of messages in the queue. */
MPROC_API int mproc_mqueue_qsize(mproc_mqueue *q, int64_t *n);
/* 1 / 0. */
MPROC_API int mproc_mqueue_empty(mproc_mqueue *q);
/* 1 if the queue is full, else 0 (or a negative code). */
MPROC_API int mproc_mqueue_full(mproc_mqueue *q);
/* One message got earlier is done: MPROC_ESTATE when more are done than were put. */
MPROC_API int mproc_mqueue_task_done(mproc_mqueue *q);
/* Waits until every message put is done: 0, or MPROC_ETIMEDOUT. */
MPROC_API int mproc_mqueue_join(mproc_mqueue *q, int64_t timeout_ms);

/* ---- Lock / RLock ----------------------------------------------------------------------------
 * Owned by the calling thread of the calling process. acquire: 0, or MPROC_ETIMEDOUT. A
 * lock whose owner's process lost every connection to the server (it died) is freed, and
 * the next acquire gets it with MPROC_EOWNERDEAD. Releasing an unheld lock, or an RLock
 * held by another thread, is MPROC_ESTATE. */
MPROC_API int mproc_mlock_acquire(mproc_mlock *l, int64_t timeout_ms);
/* release(): MPROC_ESTATE if the lock is not held (an RLock: not by this proxy's thread). */
MPROC_API int mproc_mlock_release(mproc_mlock *l);

/* ---- Semaphore / BoundedSemaphore ------------------------------------------------------------
 * acquire: 0, or MPROC_ETIMEDOUT; over-release of a bounded one: MPROC_ESTATE. */
MPROC_API int mproc_msem_acquire(mproc_msem *s, int64_t timeout_ms);
/* release(): MPROC_ESTATE when a bounded semaphore would go beyond its bound. */
MPROC_API int mproc_msem_release(mproc_msem *s);
/* The current value. */
MPROC_API int mproc_msem_value(mproc_msem *s, int64_t *value);

/* ---- Event ---------------------------------------------------------------------------------- */
/* Sets the flag and wakes every waiter; clear unsets it. */
MPROC_API int mproc_mevent_set(mproc_mevent *e);
/* clear(): unsets the flag. */
MPROC_API int mproc_mevent_clear(mproc_mevent *e);
/* 1 / 0. */
MPROC_API int mproc_mevent_is_set(mproc_mevent *e);
/* 0 once set, MPROC_ETIMEDOUT. */
MPROC_API int mproc_mevent_wait(mproc_mevent *e, int64_t timeout_ms);

/* ---- Condition -------------------------------------------------------------------------------
 * acquire / release are its lock's. wait / notify need the lock held (else MPROC_ESTATE).
 * wait gives 0 when notified, MPROC_ETIMEDOUT; either way the lock is held again. notify
 * wakes up to n waiters (n < 0: MPROC_EINVAL), notify_all all of them; both return how many
 * they woke. */
MPROC_API int mproc_mcond_acquire(mproc_mcond *c, int64_t timeout_ms);
/* Releases the condition's lock (MPROC_ESTATE if not held). */
MPROC_API int mproc_mcond_release(mproc_mcond *c);
/* wait(timeout): releases the lock, waits for a notify, takes the lock back: 0 when notified,
 * MPROC_ETIMEDOUT. */
MPROC_API int mproc_mcond_wait(mproc_mcond *c, int64_t timeout_ms);
/* notify(n): wakes up to n waiters (the lock must be held: MPROC_ESTATE otherwise). */
MPROC_API int mproc_mcond_notify(mproc_mcond *c, int64_t n);
/* notify_all(): wakes every waiter (the lock must be held: MPROC_ESTATE otherwise). */
MPROC_API int mproc_mcond_notify_all(mproc_mcond *c);

/* ---- Barrier ---------------------------------------------------------------------------------
 * wait returns this party's index (0 .. parties-1) once all arrived; a timeout breaks the
 * barrier for everyone (MPROC_ETIMEDOUT here, MPROC_EBROKEN for the others), as in
 * Python; a broken barrier's wait is MPROC_EBROKEN until reset. The timeout is sent whole
 * (a barrier wait cannot be repeated). */
MPROC_API int mproc_mbarrier_wait(mproc_mbarrier *b, int64_t timeout_ms);
/* Breaks it: every waiter gets MPROC_EBROKEN. */
MPROC_API int mproc_mbarrier_abort(mproc_mbarrier *b);
/* Back to its start: waiters get MPROC_EBROKEN, the barrier is whole again. */
MPROC_API int mproc_mbarrier_reset(mproc_mbarrier *b);
/* How many parties it takes; how many wait now. */
MPROC_API int mproc_mbarrier_parties(mproc_mbarrier *b, int64_t *parties);
/* *n: how many parties wait now. */
MPROC_API int mproc_mbarrier_n_waiting(mproc_mbarrier *b, int64_t *n);
/* 1 / 0. */
MPROC_API int mproc_mbarrier_broken(mproc_mbarrier *b);

/* ---- Value / Array (typed as mproc_value / mproc_array, range rules included) ----------
 * As the local ones: integers read as int64 (a 'Q' above INT64_MAX is MPROC_ETOOBIG), floats
 * as double, integers too; setting an integer type from a double is MPROC_ETYPE, a value the
 * type cannot hold MPROC_ETOOBIG, an index past the end MPROC_EINVAL. */
MPROC_API int mproc_mvalue_get_i64(mproc_mvalue *v, int64_t *out);
/* value = x (range rules as mproc_value_set_i64). */
MPROC_API int mproc_mvalue_set_i64(mproc_mvalue *v, int64_t value);
/* *out = value, as a double. */
MPROC_API int mproc_mvalue_get_f64(mproc_mvalue *v, double *out);
/* value = x, from a double (as mproc_value_set_f64). */
MPROC_API int mproc_mvalue_set_f64(mproc_mvalue *v, double value);
/* value += delta in one step on the server; result may be NULL. */
MPROC_API int mproc_mvalue_add_i64(mproc_mvalue *v, int64_t delta, int64_t *result);
/* When the value is expected, stores desired and returns 1; otherwise 0. */
MPROC_API int mproc_mvalue_cas_i64(mproc_mvalue *v, int64_t expected, int64_t desired);
/* The number of elements. */
MPROC_API int mproc_marray_len(mproc_marray *a, int64_t *n);
/* Element index as an integer: MPROC_EINVAL for an index out of range. */
MPROC_API int mproc_marray_get_i64(mproc_marray *a, size_t index, int64_t *out);
/* Sets element index (range rules as mproc_array_set_i64: MPROC_ETOOBIG when the value does not
 * fit the type). */
MPROC_API int mproc_marray_set_i64(mproc_marray *a, size_t index, int64_t value);
/* Element index as a double: MPROC_EINVAL for an index out of range. */
MPROC_API int mproc_marray_get_f64(mproc_marray *a, size_t index, double *out);
/* Sets element index from a double (as mproc_array_set_f64). */
MPROC_API int mproc_marray_set_f64(mproc_marray *a, size_t index, double value);

#ifdef __cplusplus
}
#endif
#endif
