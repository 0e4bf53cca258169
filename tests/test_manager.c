/* Managers (mproc/manager.h): every proxy kind's calls in one process, batches, named
 * objects, bad input, authentication, hostile clients and servers on the wire, size limits
 * and addresses; under every start method: a server's life, the seed's counter in five
 * processes, proxies in Pool tasks and handed on by a child, a queue between processes, a
 * lock whose holder is killed, and a killed server. Every wait is bounded; the harness
 * checks after every case that no fd/handle, child or shm name leaked. */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/modules.h" /* the core's listen, accept and connect */
#include "base/sha256.h"     /* the handshake of a raw client */

#ifdef _WIN32
#include <winsock2.h>
#include <windows.h>
#else
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#endif

#ifdef _WIN32
/* Wine's winsock opens handles of its own, once, for the life of the process: at the
 * first overlapped socket, and at a thread's first select() (checked: later sockets and
 * selects add none). The harness would count them as leaks of the first case that also
 * starts a child (the job object's handle hides one otherwise); open them on the main
 * thread before the harness takes its snapshot. */
__attribute__((constructor)) static void first_socket(void)
{
    WSADATA data;
    if (WSAStartup(MAKEWORD(2, 2), &data) != 0)
        return;
    SOCKET s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    if (s == INVALID_SOCKET)
        return;
    fd_set set;
    FD_ZERO(&set);
    FD_SET(s, &set);
    struct timeval none = {0, 0};
    select(0, &set, NULL, NULL, &none);
    closesocket(s);
}
#endif

/* Every blocking call of the tests is bounded by this much (ms). */
#define WAIT_MS 60000

/* A server process that ends at once, before it is ready (start_fails_cleanly): a forked
 * child ends in the fork handler while die_in_forked_child is set; a child run from the
 * executable (spawn, or a forkserver started then) before main while the environment holds
 * DIE_AT_ONCE. */
#define DIE_AT_ONCE "MPROC_TEST_MANAGER_SERVER_DIES"
#ifndef _WIN32
static volatile sig_atomic_t die_in_forked_child;
static void maybe_die_after_fork(void)
{
    if (die_in_forked_child)
        _Exit(7);
}
#endif
__attribute__((constructor)) static void maybe_die_at_start(void)
{
    if (getenv(DIE_AT_ONCE))
        _Exit(7);
#ifndef _WIN32
    pthread_atfork(NULL, NULL, maybe_die_after_fork);
#endif
}

static void children_die_at_once(bool on)
{
#ifdef _WIN32
    SetEnvironmentVariableA(DIE_AT_ONCE, on ? "1" : NULL);
#else
    if (on)
        setenv(DIE_AT_ONCE, "1", 1);
    else
        unsetenv(DIE_AT_ONCE);
    die_in_forked_child = on;
#endif
}

/* ---- helpers -------------------------------------------------------------------------------------- */

/* Checks that b holds exactly the n bytes want, then frees it. */
static void check_bytes(mproc_bytes *b, const void *want, size_t n, const char *what)
{
    if (b->len != n || (n && memcmp(b->data, want, n) != 0))
        fail_msg("%s: got %llu bytes \"%.*s\", wanted %llu bytes \"%.*s\"", what,
                 (unsigned long long)b->len, (int)(b->len > 60 ? 60 : b->len),
                 b->data ? (const char *)b->data : "", (unsigned long long)n,
                 (int)(n > 60 ? 60 : n), (const char *)want);
    mproc_bytes_free(b);
}

static void check_text(mproc_bytes *b, const char *want, const char *what)
{
    check_bytes(b, want, strlen(want), what);
}

/* ---- packs: keys, values, items ---------------------------------------------------------- */

/* A pack in place (MPROC_ARGS), short: keys, values and the nested packs of keys, items and
 * slices are written with it. */
#define P(...) MPROC_ARGS(__VA_ARGS__)
/* An item of a dict: the nested pack of two nested packs, ITEM(("k"), (1)). */
#define ITEM(key, value) P(P key, P value)

/* The encoded bytes of a pack or a pack literal: a copy, to free. */
static mproc_bytes encoded(const mproc_pack *p)
{
    mproc_pack *outer = new_pack();
    mproc_bytes view, copy = {0};
    mproc_unpacker u, inner;
    assert_ok(mproc_pack_pack(outer, p));
    assert_ok(mproc_pack_view(outer, &view));
    assert_ok(mproc_unpack_init(&u, &view));
    assert_ok(mproc_unpack_pack(&u, &inner));
    assert_ok(mproc_bytes_copy(&copy, inner.data, inner.len));
    mproc_pack_destroy(outer);
    return copy;
}

/* The bytes a nested pack's cursor reads, for MPROC_UNPACK (borrowed). */
static mproc_bytes bytes_of(const mproc_unpacker *u)
{
    return (mproc_bytes){(void *)u->data, u->len};
}

/* A pack's fields as Python prints a tuple of them, for failure messages. */
static size_t describe(const void *data, size_t len, char *buf, size_t cap)
{
    mproc_unpacker u = {data, len, 0};
    size_t n = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; n < cap && mproc_unpack_peek(&u) > 0; i++) {
        const char *sep = i ? ", " : "";
        int64_t v = 0;
        double f = 0;
        const char *str = "";
        const void *d = NULL;
        size_t dlen = 0;
        mproc_unpacker in;
        switch (mproc_unpack_peek(&u)) {
        case MPROC_FIELD_I64:
            mproc_unpack_i64(&u, &v);
            n += (size_t)snprintf(buf + n, cap - n, "%s%lld", sep, (long long)v);
            break;
        case MPROC_FIELD_F64:
            mproc_unpack_f64(&u, &f);
            n += (size_t)snprintf(buf + n, cap - n, "%s%g", sep, f);
            break;
        case MPROC_FIELD_STR:
            mproc_unpack_str(&u, &str);
            n += (size_t)snprintf(buf + n, cap - n, "%s'%s'", sep, str);
            break;
        case MPROC_FIELD_BYTES:
            mproc_unpack_bytes(&u, &d, &dlen);
            n += (size_t)snprintf(buf + n, cap - n, "%sb'%.*s'", sep, (int)(dlen > 40 ? 40 : dlen),
                                  (const char *)d);
            break;
        case MPROC_FIELD_PACK:
            mproc_unpack_pack(&u, &in);
            n += (size_t)snprintf(buf + n, cap - n, "%s", sep);
            if (n < cap)
                n += describe(in.data, in.len, buf + n, cap - n);
            break;
        default:
            n += (size_t)snprintf(buf + n, cap - n, "%s<field %d>", sep, mproc_unpack_peek(&u));
            mproc_unpack_skip(&u);
        }
    }
    if (n < cap)
        n += (size_t)snprintf(buf + n, cap - n, ")");
    return n < cap ? n : cap - 1;
}

/* A pack of the fields of the bytes (nested packs too): what a program does to give bytes it
 * got (keys, items) back to a call that takes a pack. */
static mproc_pack *repack(const void *data, size_t len)
{
    mproc_pack *p = new_pack();
    mproc_unpacker u = {data, len, 0};
    int type;
    while ((type = mproc_unpack_peek(&u)) > 0) {
        int64_t v;
        double f;
        const char *str;
        const void *d;
        size_t n;
        mproc_unpacker in;
        mproc_pack *inner;
        switch (type) {
        case MPROC_FIELD_I64:
            assert_ok(mproc_unpack_i64(&u, &v));
            assert_ok(mproc_pack_i64(p, v));
            break;
        case MPROC_FIELD_F64:
            assert_ok(mproc_unpack_f64(&u, &f));
            assert_ok(mproc_pack_f64(p, f));
            break;
        case MPROC_FIELD_STR:
            assert_ok(mproc_unpack_str(&u, &str));
            assert_ok(mproc_pack_str(p, str));
            break;
        case MPROC_FIELD_BYTES:
            assert_ok(mproc_unpack_bytes(&u, &d, &n));
            assert_ok(mproc_pack_bytes(p, d, n));
            break;
        case MPROC_FIELD_PACK:
            assert_ok(mproc_unpack_pack(&u, &in));
            inner = repack(in.data, in.len);
            assert_ok(mproc_pack_pack(p, inner));
            mproc_pack_destroy(inner);
            break;
        default: fail_msg("repack: a field of type %d", type);
        }
    }
    assert_int_equal(type, 0);
    return p;
}

/* Checks that b holds the pack want (the same encoded bytes), then frees b. */
static void check_pack(mproc_bytes *b, const mproc_pack *want, const char *what)
{
    mproc_bytes w = encoded(want);
    if (b->len != w.len || (w.len && memcmp(b->data, w.data, w.len) != 0)) {
        char got[512], wanted[512];
        describe(b->data, b->len, got, sizeof got);
        describe(w.data, w.len, wanted, sizeof wanted);
        fail_msg("%s: got %s (%llu bytes), wanted %s (%llu bytes)", what, got,
                 (unsigned long long)b->len, wanted, (unsigned long long)w.len);
    }
    mproc_bytes_free(&w);
    mproc_bytes_free(b);
}
/* check_value(&b, "what", 1, "two"): b holds the pack (1, "two"). */
#define check_value(b, what, ...) check_pack((b), P(__VA_ARGS__), (what))

/* Checks that b is the empty pack (no keys, no items), then frees it. */
static void check_empty(mproc_bytes *b, const char *what)
{
    if (b->len != 0)
        fail_msg("%s: %llu bytes, wanted none", what, (unsigned long long)b->len);
    mproc_bytes_free(b);
}

/* d[key] as an int64_t: the get, then MPROC_UNPACK of its pack. */
static int mdict_get_int(mproc_mdict *d, const mproc_pack *key, int64_t *v)
{
    mproc_bytes b = {0};
    int rc = mproc_mdict_get(d, key, &b);
    if (rc == 0)
        rc = MPROC_UNPACK(&b, v);
    mproc_bytes_free(&b);
    return rc;
}

static int mns_get_int(mproc_mns *ns, const char *name, int64_t *v)
{
    mproc_bytes b = {0};
    int rc = mproc_mns_get(ns, name, &b);
    if (rc == 0)
        rc = MPROC_UNPACK(&b, v);
    mproc_bytes_free(&b);
    return rc;
}

/* Where a number goes that a case does not look at. */
static int64_t ignored;

/* The numbers objects hold, read where the call must succeed. */
static int64_t dict_len(mproc_mdict *d)
{
    int64_t n = -1;
    assert_ok(mproc_mdict_len(d, &n));
    return n;
}

static int64_t list_len(mproc_mlist *l)
{
    int64_t n = -1;
    assert_ok(mproc_mlist_len(l, &n));
    return n;
}

static int64_t qsize(mproc_mqueue *q)
{
    int64_t n = -1;
    assert_ok(mproc_mqueue_qsize(q, &n));
    return n;
}

static int64_t array_len(mproc_marray *a)
{
    int64_t n = -1;
    assert_ok(mproc_marray_len(a, &n));
    return n;
}

static int64_t parties(mproc_mbarrier *b)
{
    int64_t n = -1;
    assert_ok(mproc_mbarrier_parties(b, &n));
    return n;
}

static int64_t n_waiting(mproc_mbarrier *b)
{
    int64_t n = -1;
    assert_ok(mproc_mbarrier_n_waiting(b, &n));
    return n;
}

/* The context of a start method; false (having checked that it is refused) where the
 * platform has no such method. */
static bool method_ctx(mproc_start_method method, mproc_context **ctx)
{
    if (!mproc_start_method_available(method)) {
        assert_rc(mproc_context_get(ctx, method), MPROC_ENOTSUP);
        return false;
    }
    assert_ok(mproc_context_get(ctx, method));
    return true;
}

/* A manager whose server process is started under method (false: no such method here). */
static bool start_under(mproc_start_method method, mproc_manager **m)
{
    mproc_context *ctx;
    if (!method_ctx(method, &ctx))
        return false;
    assert_ok(mproc_manager_start(m, &(mproc_manager_opts){.ctx = ctx}));
    return true;
}

static const char KEY_A[] = "the key of this test";
static const char KEY_B[] = "another key entirely";

/* A server on threads of this process at address with KEY_A. */
static mproc_manager *serve_at(const char *address)
{
    mproc_manager *m;
    assert_ok(mproc_manager_serve(&m, &(mproc_manager_opts){.address = address,
                                                            .authkey = KEY_A,
                                                            .authkey_len = sizeof KEY_A - 1}));
    return m;
}

static mproc_manager *connect_to(const char *address)
{
    mproc_manager *c;
    assert_ok(mproc_manager_connect(&c, &(mproc_manager_opts){.address = address,
                                                              .authkey = KEY_A,
                                                              .authkey_len = sizeof KEY_A - 1}));
    return c;
}

/* A message of the queue test: its size and contents depend on its number. */
static size_t message_size(int64_t i)
{
    if (i == 0)
        return 0;
    if (i == 1 || i == 998)
        return (size_t)1 << 20;
    if (i == 500)
        return ((size_t)1 << 20) - 1;
    return (size_t)(i * 7919) % 5000;
}

static uint8_t message_byte(int64_t i, size_t j)
{
    return (uint8_t)(i * 31 + (int64_t)j * 7 + (int64_t)(j >> 9));
}

/* ---- tasks ------------------------------------------------------------------------------------- */

/* (dict, lock, rounds): rounds read-then-write increments of "year" under the lock, then
 * rounds atomic increments of "atomic" without it. */
MPROC_TASK(count_year, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_mdict *d;
    mproc_mlock *lock;
    int64_t rounds;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_mdict(&u, &d) || mproc_unpack_mlock(&u, &lock) ||
        mproc_unpack_i64(&u, &rounds))
        return 10;
    for (int64_t i = 0; i < rounds; i++) {
        int64_t year;
        if (mproc_mlock_acquire(lock, WAIT_MS) != 0)
            return 11;
        if (mdict_get_int(d, MPROC_ARGS("year"), &year) != 0)
            return 12;
        if (mproc_mdict_set(d, MPROC_ARGS("year"), MPROC_ARGS(year + 1)) != 0)
            return 13;
        if (mproc_mlock_release(lock) != 0)
            return 14;
    }
    for (int64_t i = 0; i < rounds; i++)
        if (mproc_mdict_add_i64(d, MPROC_ARGS("atomic"), 1, NULL) != 0)
            return 15;
    mproc_proxy_destroy(d);
    mproc_proxy_destroy(lock);
    return 0;
}

/* (dict, list, queue, x): d["k<x>"] = x, appends x to the list, puts the pack (x) into the
 * queue; returns x (a pack of one I64). */
MPROC_TASK(pool_writer, in, out)
{
    mproc_unpacker u;
    mproc_mdict *d = NULL;
    mproc_mlist *l = NULL;
    mproc_mqueue *q = NULL;
    int64_t x;
    int rc = 0;
    open_args(&u, in);
    if (mproc_unpack_mdict(&u, &d) || mproc_unpack_mlist(&u, &l) || mproc_unpack_mqueue(&u, &q) ||
        mproc_unpack_i64(&u, &x)) {
        rc = mproc_task_fail(out, "wanted (mdict, mlist, mqueue, x)");
        goto done;
    }
    char key[32];
    snprintf(key, sizeof key, "k%lld", (long long)x);
    if ((rc = mproc_mdict_set(d, MPROC_ARGS(key), MPROC_ARGS(x))) != 0 ||
        (rc = mproc_mlist_append(l, MPROC_ARGS(x))) != 0 ||
        (rc = mproc_mqueue_put_pack(q, MPROC_ARGS(x), WAIT_MS)) != 0) {
        rc = mproc_task_fail(out, "a proxy call failed: %s", mproc_errname(rc));
        goto done;
    }
    if (MPROC_PACK(out, x) != 0)
        rc = mproc_task_fail(out, "out of memory");
done:
    mproc_proxy_destroy(d);
    mproc_proxy_destroy(l);
    mproc_proxy_destroy(q);
    return rc;
}

/* (dict): d["grandchild"] = its pid, d["hops"] += 1. */
MPROC_TASK(grandchild_write, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_mdict *d;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_mdict(&u, &d))
        return 10;
    if (mproc_mdict_set(d, MPROC_ARGS("grandchild"), MPROC_ARGS(mproc_getpid())) != 0)
        return 11;
    if (mproc_mdict_add_i64(d, MPROC_ARGS("hops"), 1, NULL) != 0)
        return 12;
    mproc_proxy_destroy(d);
    return 0;
}

/* (dict, method): writes d["child"], packs its own proxy into a grandchild's args, closes
 * its proxy, and runs the grandchild (which writes through the proxy passed on). */
MPROC_TASK(hand_on, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_mdict *d;
    int64_t method;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_mdict(&u, &d) || mproc_unpack_i64(&u, &method))
        return 10;
    if (mproc_mdict_set(d, MPROC_ARGS("child"), MPROC_ARGS(mproc_getpid())) != 0)
        return 11;
    if (mproc_mdict_add_i64(d, MPROC_ARGS("hops"), 1, NULL) != 0)
        return 12;
    mproc_pack *args;
    if (mproc_pack_create(&args) != 0 || mproc_pack_handle(args, d) != 0)
        return 13;
    mproc_proxy_destroy(d); /* the pack holds what the grandchild needs */
    mproc_context *ctx;
    mproc_process *p;
    if (mproc_context_get(&ctx, (mproc_start_method)method) != 0)
        return 14;
    if (mproc_process_create(
            &p, &(mproc_process_opts){.target = "grandchild_write", .args = args, .ctx = ctx}) != 0)
        return 15;
    mproc_pack_destroy(args);
    if (mproc_process_start(p) != 0)
        return 16;
    if (mproc_process_join(p, WAIT_MS) != 0)
        return 17;
    int code = -1;
    mproc_process_exitcode(p, &code);
    mproc_process_destroy(p);
    return code == 0 ? 0 : 20 + (code & 63);
}

/* (queue, n): puts messages 0 .. n-1. */
MPROC_TASK(produce_messages, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_mqueue *q;
    int64_t n;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_mqueue(&u, &q) || mproc_unpack_i64(&u, &n))
        return 10;
    uint8_t *buf = malloc((size_t)1 << 20);
    if (!buf)
        return 11;
    for (int64_t i = 0; i < n; i++) {
        size_t size = message_size(i);
        for (size_t j = 0; j < size; j++)
            buf[j] = message_byte(i, j);
        if (mproc_mqueue_put(q, buf, size, WAIT_MS) != 0)
            return 12;
    }
    free(buf);
    mproc_proxy_destroy(q);
    return 0;
}

/* (queue, n): gets n messages and checks that they are 0 .. n-1 in order, then that the
 * queue is empty. */
MPROC_TASK(consume_messages, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_mqueue *q;
    int64_t n;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_mqueue(&u, &q) || mproc_unpack_i64(&u, &n))
        return 10;
    for (int64_t i = 0; i < n; i++) {
        mproc_bytes b = {0};
        if (mproc_mqueue_get(q, WAIT_MS, &b) != 0)
            return 11;
        if (b.len != message_size(i))
            return 12;
        const uint8_t *p = b.data;
        for (size_t j = 0; j < b.len; j++)
            if (p[j] != message_byte(i, j))
                return 13;
        mproc_bytes_free(&b);
    }
    mproc_bytes b = {0};
    if (mproc_mqueue_get(q, 0, &b) != MPROC_EEMPTY)
        return 14;
    mproc_proxy_destroy(q);
    return 0;
}

/* (manager lock, local event): takes the lock, says so, waits to be killed. */
MPROC_TASK(hold_mlock_until_killed, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_mlock *lock;
    mproc_event *held;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_mlock(&u, &lock) || mproc_unpack_event(&u, &held))
        return 10;
    if (mproc_mlock_acquire(lock, WAIT_MS) != 0)
        return 11;
    mproc_event_set(held);
    harness_sleep_ms(WAIT_MS);
    return 12;
}

/* (manager queue, local event): says it is about to wait, then gets with no timeout; 0 if
 * that ended with MPROC_ECLOSED, else 30 + the code's number. */
MPROC_TASK(get_forever, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_mqueue *q;
    mproc_event *ready;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_mqueue(&u, &q) || mproc_unpack_event(&u, &ready))
        return 10;
    mproc_event_set(ready);
    mproc_bytes b = {0};
    int rc = mproc_mqueue_get(q, MPROC_FOREVER, &b);
    mproc_bytes_free(&b);
    mproc_proxy_destroy(q);
    mproc_event_destroy(ready);
    return rc == MPROC_ECLOSED ? 0 : 30 - rc;
}

/* (manager lock, barrier, local event): takes the lock, says so, then waits at the barrier
 * (a wait the server holds whole) until killed. */
MPROC_TASK(hold_mlock_in_barrier, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_mlock *lock;
    mproc_mbarrier *b;
    mproc_event *held;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_mlock(&u, &lock) || mproc_unpack_mbarrier(&u, &b) ||
        mproc_unpack_event(&u, &held))
        return 10;
    if (mproc_mlock_acquire(lock, WAIT_MS) != 0)
        return 11;
    mproc_event_set(held);
    mproc_mbarrier_wait(b, WAIT_MS);
    harness_sleep_ms(WAIT_MS);
    return 12;
}

/* (method, path): starts a manager under method, writes its server's pid to path, and
 * waits to be killed. */
MPROC_TASK(start_manager_and_wait, in, out)
{
    (void)out;
    mproc_unpacker u;
    int64_t method;
    const char *path;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_i64(&u, &method) || mproc_unpack_str(&u, &path))
        return 10;
    mproc_context *ctx;
    mproc_manager *m;
    mproc_mdict *d;
    if (mproc_context_get(&ctx, (mproc_start_method)method) != 0)
        return 11;
    if (mproc_manager_start(&m, &(mproc_manager_opts){.ctx = ctx}) != 0)
        return 12;
    if (mproc_manager_dict(m, &d) != 0)
        return 13;
    harness_write_i64(path, mproc_manager_pid(m));
    harness_sleep_ms(WAIT_MS);
    return 14;
}

/* (local event): waits for it (a minute at most). */
MPROC_TASK(wait_for_event, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_event *e;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_event(&u, &e))
        return 10;
    int rc = mproc_event_wait(e, WAIT_MS);
    mproc_event_destroy(e);
    return rc == 0 ? 0 : 11;
}

/* (dict): d["child"] = 7 and reads it back; 0 if it reads 7. */
MPROC_TASK(write_and_read_back, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_mdict *d;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_mdict(&u, &d))
        return 10;
    int64_t v = -1;
    if (mproc_mdict_set(d, MPROC_ARGS("child"), MPROC_ARGS(7)) != 0)
        return 11;
    if (mdict_get_int(d, MPROC_ARGS("child"), &v) != 0)
        return 12;
    mproc_proxy_destroy(d);
    return v == 7 ? 0 : 13;
}

/* (bytes of a pack holding a dict proxy): a proxy that came as plain bytes, not as a handle
 * field; d["from bytes"] = 1. */
MPROC_TASK(proxy_from_bytes, in, out)
{
    (void)out;
    mproc_unpacker u, inner;
    const void *data;
    size_t len;
    mproc_mdict *d;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_bytes(&u, &data, &len))
        return 10;
    mproc_bytes copy = {(void *)data, len};
    if (mproc_unpack_init(&inner, &copy) || mproc_unpack_mdict(&inner, &d))
        return 11;
    int rc = mproc_mdict_set(d, MPROC_ARGS("from bytes"), MPROC_ARGS(1));
    mproc_proxy_destroy(d);
    return rc ? 12 : 0;
}

/* Pool initializer (dict): d["inits"] += 1. */
MPROC_TASK(count_init, in, out)
{
    mproc_unpacker u;
    mproc_mdict *d;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_mdict(&u, &d))
        return mproc_task_fail(out, "wanted (mdict)");
    int rc = mproc_mdict_add_i64(d, MPROC_ARGS("inits"), 1, NULL);
    mproc_proxy_destroy(d);
    return rc ? mproc_task_fail(out, "add_i64: %s", mproc_errname(rc)) : 0;
}

/* ---- dict ---------------------------------------------------------------------------------------- */

static void dict_ops(void **state)
{
    (void)state;
    mproc_manager *m;
    mproc_mdict *d, *other;
    mproc_bytes b = {0};
    int64_t v = 0;
    assert_ok(mproc_manager_start(&m, NULL));
    assert_ok(mproc_manager_dict(m, &d));
    assert_ok(mproc_manager_dict(m, &other));
    assert_int_equal(dict_len(d), 0);

    static const char bin_key[] = {'k', '\0', 'e', 'y'};
    const mproc_pack *bin = P(MPROC_BYTES(bin_key, sizeof bin_key));
    assert_ok(mproc_mdict_set(d, P("a"), P("1")));
    assert_ok(mproc_mdict_set(d, P("b"), P("22")));
    assert_ok(mproc_mdict_set(d, bin, P(MPROC_BYTES("", 0))));
    assert_int_equal(dict_len(d), 3);
    assert_int_equal(dict_len(other), 0); /* two dicts are two objects */
    assert_ok(mproc_mdict_get(d, P("a"), &b));
    check_value(&b, "d[a]", "1");
    assert_ok(mproc_mdict_get(d, bin, &b));
    check_value(&b, "d[k\\0ey]", MPROC_BYTES("", 0));
    assert_rc(mproc_mdict_get(d, P(MPROC_BYTES("k", 1)), &b), MPROC_ENOENT); /* not a prefix */
    assert_int_equal(mproc_mdict_contains(d, P("a")), 1);
    assert_int_equal(mproc_mdict_contains(d, bin), 1);
    assert_int_equal(mproc_mdict_contains(d, P("zz")), 0);
    assert_int_equal(mproc_mdict_contains(other, P("a")), 0);

    /* Overwriting keeps the key's place; deleting and setting again moves it to the end. */
    assert_ok(mproc_mdict_set(d, P("a"), P("111")));
    assert_ok(mproc_mdict_keys(d, &b));
    check_value(&b, "keys", P("a"), P("b"), bin);
    assert_ok(mproc_mdict_items(d, &b));
    check_value(&b, "items", ITEM(("a"), ("111")), ITEM(("b"), ("22")),
                P(bin, P(MPROC_BYTES("", 0))));
    assert_ok(mproc_mdict_del(d, P("b")));
    assert_rc(mproc_mdict_del(d, P("b")), MPROC_ENOENT);
    assert_rc(mproc_mdict_get(d, P("b"), &b), MPROC_ENOENT);
    assert_int_equal(mproc_mdict_contains(d, P("b")), 0);
    assert_ok(mproc_mdict_set(d, P("b"), P("2")));
    assert_ok(mproc_mdict_keys(d, &b));
    check_value(&b, "keys after del and set", P("a"), bin, P("b"));

    /* update: pairs as items gives them; a present key keeps its place. */
    assert_ok(mproc_mdict_update(d, P(ITEM(("s1"), ("v1")), ITEM(("a"), ("textval")))));
    assert_int_equal(dict_len(d), 4);
    assert_ok(mproc_mdict_get(d, P("s1"), &b));
    check_value(&b, "d[s1] after update", "v1");
    assert_ok(mproc_mdict_get(d, P("a"), &b));
    check_value(&b, "d[a] after update", "textval");
    assert_ok(mproc_mdict_keys(d, &b));
    check_value(&b, "keys after update", P("a"), bin, P("b"), P("s1"));
    mproc_pack *items = new_pack();
    assert_ok(mproc_mdict_update(d, items)); /* an empty update changes nothing */
    mproc_pack_destroy(items);
    assert_int_equal(dict_len(d), 4);

    /* setdefault and pop */
    assert_ok(mproc_mdict_setdefault(d, P("a"), P("def"), &b));
    check_value(&b, "setdefault of a present key", "textval");
    assert_ok(mproc_mdict_get(d, P("a"), &b));
    check_value(&b, "d[a] after setdefault", "textval");
    assert_ok(mproc_mdict_setdefault(d, P("new"), P("def"), &b));
    check_value(&b, "setdefault of a missing key", "def");
    assert_ok(mproc_mdict_get(d, P("new"), &b));
    check_value(&b, "d[new]", "def");
    assert_ok(mproc_mdict_pop(d, P("new"), &b));
    check_value(&b, "pop", "def");
    assert_rc(mproc_mdict_pop(d, P("new"), &b), MPROC_ENOENT);
    assert_int_equal(mproc_mdict_contains(d, P("new")), 0);
    assert_ok(mproc_mdict_setdefault(d, P("quiet"), P(1), NULL)); /* the value may be NULL */
    assert_ok(mproc_mdict_pop(d, P("quiet"), NULL));
    assert_int_equal(dict_len(d), 4);

    /* Numbers: the pack of one I64, read with MPROC_UNPACK, and nothing else. */
    assert_rc(mdict_get_int(d, P("a"), &v), MPROC_ETYPE); /* a STR */
    assert_rc(mdict_get_int(d, bin, &v), MPROC_ETYPE);    /* a BYTES */
    assert_rc(mdict_get_int(d, P("missing"), &v), MPROC_ENOENT);
    assert_ok(mproc_mdict_set(d, P("n"), P(42)));
    assert_ok(mproc_mdict_get(d, P("n"), &b));
    check_value(&b, "d[n] as a pack", 42);
    assert_ok(mproc_mdict_set(d, P("raw8"), P((int64_t)-7)));
    assert_ok(mdict_get_int(d, P("raw8"), &v));
    assert_int_equal(v, -7);
    assert_ok(mdict_get_int(d, P("n"), &v));
    assert_int_equal(v, 42);

    /* add_i64: a missing key counts as 0; overflow leaves the value as it was. */
    v = 0;
    assert_ok(mproc_mdict_add_i64(d, P("counter"), 5, &v));
    assert_int_equal(v, 5);
    assert_ok(mproc_mdict_add_i64(d, P("counter"), -7, &v));
    assert_int_equal(v, -2);
    assert_ok(mproc_mdict_add_i64(d, P("counter"), 3, NULL));
    assert_ok(mdict_get_int(d, P("counter"), &v));
    assert_int_equal(v, 1);
    assert_rc(mproc_mdict_add_i64(d, P("a"), 1, &v), MPROC_ETYPE);
    assert_ok(mproc_mdict_set(d, P("big"), P(INT64_MAX)));
    assert_rc(mproc_mdict_add_i64(d, P("big"), 1, &v), MPROC_ETOOBIG);
    assert_ok(mdict_get_int(d, P("big"), &v));
    assert_true(v == INT64_MAX);
    assert_ok(mproc_mdict_set(d, P("small"), P(INT64_MIN)));
    assert_rc(mproc_mdict_add_i64(d, P("small"), -1, NULL), MPROC_ETOOBIG);
    assert_ok(mdict_get_int(d, P("small"), &v));
    assert_true(v == INT64_MIN);
    assert_ok(mproc_mdict_add_i64(d, P("small"), INT64_MAX, &v));
    assert_int_equal(v, -1);

    /* cas: expected NULL means "absent". */
    assert_int_equal(mproc_mdict_cas(d, P("c"), NULL, P("x")), 1);
    assert_ok(mproc_mdict_get(d, P("c"), &b));
    check_value(&b, "d[c] after cas from absent", "x");
    assert_int_equal(mproc_mdict_cas(d, P("c"), NULL, P("y")), 0);
    assert_int_equal(mproc_mdict_cas(d, P("c"), P("z"), P("y")), 0);
    assert_int_equal(mproc_mdict_cas(d, P("c"), P("xx"), P("y")), 0);
    assert_int_equal(mproc_mdict_cas(d, P("c"), P(""), P("y")), 0);
    assert_ok(mproc_mdict_get(d, P("c"), &b));
    check_value(&b, "d[c] after failed cas", "x");
    assert_int_equal(mproc_mdict_cas(d, P("c"), P("x"), P("yy")), 1);
    assert_ok(mproc_mdict_get(d, P("c"), &b));
    check_value(&b, "d[c] after cas", "yy");
    assert_int_equal(mproc_mdict_cas(d, P("c2"), P("x"), P("y")), 0);
    assert_int_equal(mproc_mdict_contains(d, P("c2")), 0);

    /* A value of 200 KB goes both ways whole. */
    size_t big = 200 * 1024;
    uint8_t *blob = malloc(big);
    assert_non_null(blob);
    for (size_t i = 0; i < big; i++)
        blob[i] = message_byte(3, i);
    assert_ok(mproc_mdict_set(d, P("blob"), P(MPROC_BYTES(blob, big))));
    assert_ok(mproc_mdict_get(d, P("blob"), &b));
    check_value(&b, "d[blob]", MPROC_BYTES(blob, big));
    free(blob);

    assert_ok(mproc_mdict_clear(d));
    assert_int_equal(dict_len(d), 0);
    assert_ok(mproc_mdict_keys(d, &b));
    check_empty(&b, "keys of an empty dict");
    assert_ok(mproc_mdict_items(d, &b));
    check_empty(&b, "items of an empty dict");
    assert_rc(mproc_mdict_get(d, P("a"), &b), MPROC_ENOENT);
    assert_ok(mproc_mdict_clear(d));

    mproc_proxy_destroy(d);
    mproc_proxy_destroy(other);
    mproc_manager_destroy(m);
}

/* Keys compare by their encoded bytes: the I64 1, the STR "1", the F64 1.0, the BYTES "1"
 * and the pair (1, 1) are five keys; 1 as an int, a long long or a bool is one. Values keep
 * their types. */
static void dict_typed_keys(void **state)
{
    (void)state;
    mproc_manager *m;
    mproc_mdict *d;
    mproc_bytes b = {0};
    assert_ok(mproc_manager_start(&m, NULL));
    assert_ok(mproc_manager_dict(m, &d));
    assert_ok(mproc_mdict_set(d, P(1), P("int")));
    assert_ok(mproc_mdict_set(d, P("1"), P("str")));
    assert_ok(mproc_mdict_set(d, P(1.0), P("float")));
    assert_ok(mproc_mdict_set(d, P(MPROC_BYTES("1", 1)), P("bytes")));
    assert_ok(mproc_mdict_set(d, P(1, 1), P("pair")));
    assert_ok(mproc_mdict_set(d, P(P(1)), P("nested")));
    assert_int_equal(dict_len(d), 6);
    assert_ok(mproc_mdict_get(d, P(1LL), &b)); /* I64 whatever the C type */
    check_value(&b, "d[1LL]", "int");
    assert_ok(mproc_mdict_get(d, P((int8_t)1), &b));
    check_value(&b, "d[(int8_t)1]", "int");
    assert_ok(mproc_mdict_get(d, P(true), &b));
    check_value(&b, "d[true]", "int");
    assert_ok(mproc_mdict_get(d, P("1"), &b));
    check_value(&b, "d['1']", "str");
    assert_ok(mproc_mdict_get(d, P(1.0f), &b)); /* F64 from a float too */
    check_value(&b, "d[1.0f]", "float");
    assert_ok(mproc_mdict_get(d, P(MPROC_BYTES("1", 1)), &b));
    check_value(&b, "d[b'1']", "bytes");
    assert_ok(mproc_mdict_get(d, P(1, 1), &b));
    check_value(&b, "d[1, 1]", "pair");
    assert_ok(mproc_mdict_get(d, P(P(1)), &b));
    check_value(&b, "d[(1,)]", "nested");
    assert_rc(mproc_mdict_get(d, P(2), &b), MPROC_ENOENT);
    assert_rc(mproc_mdict_get(d, P(1, 1, 1), &b), MPROC_ENOENT);
    assert_rc(mproc_mdict_get(d, P("1 "), &b), MPROC_ENOENT);
    /* Replacing the STR key's value leaves the others. */
    assert_ok(mproc_mdict_set(d, P("1"), P(2.5, "two and a half", -3)));
    assert_ok(mproc_mdict_get(d, P("1"), &b));
    double f = 0;
    const char *text = NULL;
    int64_t n = 0;
    assert_ok(MPROC_UNPACK(&b, &f, &text, &n));
    assert_true(f == 2.5);
    assert_string_equal(text, "two and a half");
    assert_int_equal(n, -3);
    assert_rc(MPROC_UNPACK(&b, &n, &text, &f), MPROC_ETYPE); /* the types are kept */
    assert_rc(MPROC_UNPACK(&b, &f, &text), MPROC_EINVAL);    /* so is the count */
    mproc_bytes_free(&b);
    assert_ok(mproc_mdict_get(d, P(1), &b));
    check_value(&b, "d[1] after d['1'] changed", "int");
    assert_ok(mproc_mdict_del(d, P(1.0)));
    assert_int_equal(mproc_mdict_contains(d, P(1.0)), 0);
    assert_int_equal(mproc_mdict_contains(d, P(1)), 1);
    assert_ok(mproc_mdict_keys(d, &b));
    check_value(&b, "keys", P(1), P("1"), P(MPROC_BYTES("1", 1)), P(1, 1), P(P(1)));
    /* A key or value holding an OS handle cannot be stored; a proxy can. */
    mproc_lock *lock;
    assert_ok(mproc_lock_create(&lock));
    assert_rc(mproc_mdict_set(d, P("lock"), P(lock)), MPROC_ENOTSUP);
    assert_rc(mproc_mdict_set(d, P(lock), P(1)), MPROC_ENOTSUP);
    mproc_pack *with_lock = new_pack();
    assert_ok(MPROC_PACK(with_lock, lock));
    assert_rc(mproc_mdict_set(d, P("lock"), with_lock), MPROC_ENOTSUP);
    assert_rc(mproc_mdict_set(d, P("nested lock"), P(1, with_lock)), MPROC_ENOTSUP);
    mproc_pack_destroy(with_lock);
    mproc_lock_destroy(lock);
    assert_int_equal(dict_len(d), 5);
    mproc_mdict *inner, *again;
    assert_ok(mproc_manager_dict(m, &inner));
    assert_ok(mproc_mdict_set(d, P("inner"), P(inner)));
    assert_ok(mproc_mdict_get(d, P("inner"), &b));
    assert_ok(MPROC_UNPACK(&b, &again)); /* a proxy of the same dict */
    mproc_bytes_free(&b);
    assert_ok(mproc_mdict_set(again, P("through"), P("the stored proxy")));
    assert_ok(mproc_mdict_get(inner, P("through"), &b));
    check_value(&b, "inner['through']", "the stored proxy");
    mproc_proxy_destroy(again);
    mproc_proxy_destroy(inner);

    /* add_i64 works on the pack of one I64, whatever wrote it, and on a missing key; a
     * value of another shape is refused and stays */
    int64_t now = 0;
    assert_ok(mproc_mdict_set(d, P("n"), P((short)40)));
    assert_ok(mproc_mdict_add_i64(d, P("n"), 2, &now));
    assert_int_equal(now, 42);
    assert_ok(mproc_mdict_add_i64(d, P("fresh"), -5, &now));
    assert_int_equal(now, -5);
    assert_ok(mproc_mdict_get(d, P("fresh"), &b));
    check_value(&b, "d['fresh'] after add_i64", -5);
    assert_ok(mproc_mdict_set(d, P("two"), P(1, 2)));
    assert_rc(mproc_mdict_add_i64(d, P("two"), 1, &now), MPROC_ETYPE);
    assert_ok(mproc_mdict_set(d, P("real"), P(1.0)));
    assert_rc(mproc_mdict_add_i64(d, P("real"), 1, &now), MPROC_ETYPE);
    assert_ok(mproc_mdict_get(d, P("real"), &b));
    check_value(&b, "d['real'] after a refused add", 1.0);
    assert_int_equal(now, -5);
    /* cas compares the encoded bytes: 1 and 1LL match, 1.0 and "1" do not; NULL: absent */
    assert_int_equal(mproc_mdict_cas(d, P("n"), P(1.0 * 42), P(0)), 0);
    assert_int_equal(mproc_mdict_cas(d, P("n"), P("42"), P(0)), 0);
    assert_int_equal(mproc_mdict_cas(d, P("n"), NULL, P(0)), 0); /* present */
    assert_int_equal(mproc_mdict_cas(d, P("n"), P(42LL), P("done", 1)), 1);
    assert_ok(mproc_mdict_get(d, P("n"), &b));
    check_value(&b, "d['n'] after cas", "done", 1);
    assert_int_equal(mproc_mdict_cas(d, P("absent"), NULL, P(7)), 1);
    assert_int_equal(mproc_mdict_cas(d, P("absent"), NULL, P(8)), 0);
    assert_ok(mproc_mdict_add_i64(d, P("absent"), 1, &now)); /* a cas wrote the pack (7) */
    assert_int_equal(now, 8);
    assert_int_equal(mproc_mdict_cas(d, P("missing"), P(0), P(1)), 0);
    assert_int_equal(mproc_mdict_contains(d, P("missing")), 0);
    mproc_proxy_destroy(d);
    mproc_manager_destroy(m);
}

/* keys and items give packs of nested packs, read with MPROC_UNPACK; update takes them as
 * items gives them, so one dict's items make another dict the same. */
static void dict_items_round_trip(void **state)
{
    (void)state;
    mproc_manager *m;
    mproc_mdict *d, *copy;
    mproc_bytes keys = {0}, items = {0}, again = {0};
    assert_ok(mproc_manager_start(&m, NULL));
    assert_ok(mproc_manager_dict(m, &d));
    assert_ok(mproc_manager_dict(m, &copy));
    assert_ok(mproc_mdict_set(d, P("name"), P("小明")));
    assert_ok(mproc_mdict_set(d, P(7), P(1.5, 2)));
    assert_ok(mproc_mdict_set(d, P(2.5, "x"), P(MPROC_BYTES("\0\1", 2))));
    assert_ok(mproc_mdict_keys(d, &keys));
    assert_ok(mproc_mdict_items(d, &items));

    /* keys: three nested packs, in insertion order */
    mproc_unpacker k1, k2, k3;
    const char *name = NULL, *x = NULL;
    int64_t seven = 0;
    double f = 0;
    assert_ok(MPROC_UNPACK(&keys, &k1, &k2, &k3));
    mproc_bytes one = bytes_of(&k1), two = bytes_of(&k2), three = bytes_of(&k3);
    assert_ok(MPROC_UNPACK(&one, &name));
    assert_string_equal(name, "name");
    assert_ok(MPROC_UNPACK(&two, &seven));
    assert_int_equal(seven, 7);
    assert_ok(MPROC_UNPACK(&three, &f, &x));
    assert_true(f == 2.5);
    assert_string_equal(x, "x");

    /* items: pairs of nested packs */
    mproc_unpacker pair, key, value;
    mproc_unpacker cursor;
    assert_ok(mproc_unpack_init(&cursor, &items));
    assert_int_equal(mproc_unpack_remaining(&cursor), 3);
    assert_ok(mproc_unpack_skip(&cursor));
    assert_ok(mproc_unpack_pack(&cursor, &pair)); /* the second: (7,) -> (1.5, 2) */
    mproc_bytes p2 = bytes_of(&pair);
    assert_ok(MPROC_UNPACK(&p2, &key, &value));
    mproc_bytes kb = bytes_of(&key), vb = bytes_of(&value);
    int64_t two_i = 0;
    assert_ok(MPROC_UNPACK(&kb, &seven));
    assert_int_equal(seven, 7);
    assert_ok(MPROC_UNPACK(&vb, &f, &two_i));
    assert_true(f == 1.5);
    assert_int_equal(two_i, 2);

    /* update with items (a program gives bytes back as a pack field by field): the same
     * dict again, in the same order */
    mproc_pack *pairs = repack(items.data, items.len);
    assert_ok(mproc_mdict_set(copy, P(7), P("replaced")));
    assert_ok(mproc_mdict_set(copy, P("first"), P(0)));
    assert_ok(mproc_mdict_update(copy, pairs));
    assert_int_equal(dict_len(copy), 4);
    assert_ok(mproc_mdict_keys(copy, &again));
    check_value(&again, "keys of the copy", P(7), P("first"), P("name"), P(2.5, "x"));
    assert_ok(mproc_mdict_clear(copy));
    assert_ok(mproc_mdict_update(copy, pairs));
    assert_ok(mproc_mdict_items(copy, &again));
    if (again.len != items.len || memcmp(again.data, items.data, items.len) != 0)
        fail_msg("%s", "items of a dict updated with another's items differ from the other's");
    mproc_bytes_free(&again);
    /* pairs that are not pairs: nothing is stored */
    assert_rc(mproc_mdict_update(copy, P(ITEM(("new"), (1)), P(1), P(2))), MPROC_ETYPE);
    assert_rc(mproc_mdict_update(copy, P(ITEM(("new"), (1)), P(P(1), P(2), P(3)))), MPROC_ETYPE);
    assert_rc(mproc_mdict_update(copy, P(ITEM(("new"), (1)), P(P(1), 2))), MPROC_ETYPE);
    assert_rc(mproc_mdict_update(copy, P(ITEM(("new"), (1)), "new")), MPROC_ETYPE);
    assert_int_equal(mproc_mdict_contains(copy, P("new")), 0);
    assert_int_equal(dict_len(copy), 3);
    mproc_pack_destroy(pairs);
    mproc_bytes_free(&keys);
    mproc_bytes_free(&items);
    mproc_proxy_destroy(copy);
    mproc_proxy_destroy(d);
    mproc_manager_destroy(m);
}

/* Many keys, deleted and set again: the dict's index grows and drops its tombstones, and
 * every key stays found (a capacity of 10 probed 8 of its 20 slots, and a set hung). */
static void dict_many_keys(void **state)
{
    (void)state;
    enum { KEYS = 300 };
    mproc_manager *m;
    mproc_mdict *d;
    int64_t v = 0;
    assert_ok(mproc_manager_start(&m, NULL));
    assert_ok(mproc_manager_dict(m, &d));
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < KEYS; i++) {
            char key[16];
            snprintf(key, sizeof key, "key %d", i);
            if (round == 1 && i % 3 == 0)
                assert_ok(mproc_mdict_del(d, P(key)));
            else
                assert_ok(mproc_mdict_set(d, P(key), P(round * KEYS + i)));
        }
    assert_int_equal(dict_len(d), KEYS);
    for (int i = 0; i < KEYS; i++) {
        char key[16];
        snprintf(key, sizeof key, "key %d", i);
        assert_ok(mdict_get_int(d, P(key), &v));
        assert_int_equal(v, 2 * KEYS + i);
    }
    /* the sizes of the old capacities, each with tombstones */
    for (int live = 1; live <= 40; live++) {
        assert_ok(mproc_mdict_clear(d));
        for (int i = 0; i < live + 20; i++) {
            char key[16];
            snprintf(key, sizeof key, "k%d", i);
            assert_ok(mproc_mdict_set(d, P(key), P(i)));
            if (i >= live)
                assert_ok(mproc_mdict_del(d, P(key)));
        }
        assert_int_equal(dict_len(d), live);
    }
    mproc_proxy_destroy(d);
    mproc_manager_destroy(m);
}

/* ---- list ------------------------------------------------------------------------------------------ */

static void list_ops(void **state)
{
    (void)state;
    mproc_manager *m;
    mproc_mlist *l;
    mproc_bytes b = {0};
    const mproc_arg E = MPROC_BYTES("e", 1);
    assert_ok(mproc_manager_start(&m, NULL));
    assert_ok(mproc_manager_list(m, &l));
    assert_int_equal(list_len(l), 0);
    assert_rc(mproc_mlist_get(l, 0, &b), MPROC_ENOENT);
    assert_rc(mproc_mlist_get(l, -1, &b), MPROC_ENOENT);
    assert_rc(mproc_mlist_pop(l, -1, &b), MPROC_ENOENT);
    assert_ok(mproc_mlist_slice(l, 0, INT64_MAX, &b));
    check_empty(&b, "slice of an empty list");

    assert_ok(mproc_mlist_append(l, P("a")));
    assert_ok(mproc_mlist_append(l, P("b")));
    assert_ok(mproc_mlist_append(l, P("c")));
    assert_ok(mproc_mlist_extend(l, P("d", E)));
    mproc_pack *items = new_pack();
    assert_ok(mproc_mlist_extend(l, items)); /* nothing to add */
    assert_int_equal(list_len(l), 5);

    assert_ok(mproc_mlist_get(l, 0, &b));
    check_value(&b, "l[0]", "a");
    assert_ok(mproc_mlist_get(l, -1, &b));
    check_value(&b, "l[-1]", E);
    assert_ok(mproc_mlist_get(l, -5, &b));
    check_value(&b, "l[-5]", "a");
    assert_ok(mproc_mlist_get(l, 3, &b));
    check_value(&b, "l[3] (extended)", "d");
    assert_rc(mproc_mlist_get(l, 5, &b), MPROC_ENOENT);
    assert_rc(mproc_mlist_get(l, -6, &b), MPROC_ENOENT);
    assert_rc(mproc_mlist_get(l, INT64_MAX, &b), MPROC_ENOENT);
    assert_rc(mproc_mlist_get(l, INT64_MIN, &b), MPROC_ENOENT);

    assert_ok(mproc_mlist_set(l, -2, P("D")));
    assert_ok(mproc_mlist_get(l, 3, &b));
    check_value(&b, "l[3] after l[-2] = D", "D");
    assert_rc(mproc_mlist_set(l, 5, P("x")), MPROC_ENOENT);
    assert_rc(mproc_mlist_set(l, -6, P("x")), MPROC_ENOENT);
    assert_int_equal(list_len(l), 5);

    /* Python's slice rules. */
    assert_ok(mproc_mlist_slice(l, 0, INT64_MAX, &b));
    check_value(&b, "l[0:]", P("a"), P("b"), P("c"), P("D"), P(E));
    assert_ok(mproc_mlist_slice(l, 1, 3, &b));
    check_value(&b, "l[1:3]", P("b"), P("c"));
    assert_ok(mproc_mlist_slice(l, -2, INT64_MAX, &b));
    check_value(&b, "l[-2:]", P("D"), P(E));
    assert_ok(mproc_mlist_slice(l, 2, -1, &b));
    check_value(&b, "l[2:-1]", P("c"), P("D"));
    assert_ok(mproc_mlist_slice(l, -100, 2, &b));
    check_value(&b, "l[-100:2]", P("a"), P("b"));
    assert_ok(mproc_mlist_slice(l, 3, 100, &b));
    check_value(&b, "l[3:100]", P("D"), P(E));
    assert_ok(mproc_mlist_slice(l, 3, 1, &b));
    check_empty(&b, "l[3:1]");
    assert_ok(mproc_mlist_slice(l, -1, -3, &b));
    check_empty(&b, "l[-1:-3]");
    assert_ok(mproc_mlist_slice(l, 7, INT64_MAX, &b));
    check_empty(&b, "l[7:]");
    assert_ok(mproc_mlist_slice(l, INT64_MIN, INT64_MAX, &b));
    check_value(&b, "l[-huge:]", P("a"), P("b"), P("c"), P("D"), P(E));

    /* pop */
    assert_ok(mproc_mlist_pop(l, -1, &b));
    check_value(&b, "pop(-1)", E);
    assert_ok(mproc_mlist_pop(l, 0, &b));
    check_value(&b, "pop(0)", "a");
    assert_rc(mproc_mlist_pop(l, 3, &b), MPROC_ENOENT);
    assert_rc(mproc_mlist_pop(l, -4, &b), MPROC_ENOENT);
    assert_int_equal(list_len(l), 3);
    assert_ok(mproc_mlist_pop(l, -2, &b));
    check_value(&b, "pop(-2)", "c");
    assert_ok(mproc_mlist_append(l, P("c")));

    /* reverse */
    assert_ok(mproc_mlist_reverse(l));
    assert_ok(mproc_mlist_slice(l, 0, INT64_MAX, &b));
    check_value(&b, "reversed", P("c"), P("D"), P("b"));

    /* empty items, and emptying the list */
    assert_ok(mproc_mlist_append(l, P("")));
    assert_ok(mproc_mlist_get(l, -1, &b));
    check_value(&b, "an empty STR", "");
    assert_ok(mproc_mlist_append(l, items)); /* the empty pack */
    assert_ok(mproc_mlist_get(l, -1, &b));
    check_empty(&b, "an empty item");
    mproc_pack_destroy(items);
    assert_ok(mproc_mlist_pop(l, -1, NULL)); /* the item may be dropped */
    for (int i = 0; i < 4; i++) {
        assert_ok(mproc_mlist_pop(l, -1, &b));
        mproc_bytes_free(&b);
    }
    assert_int_equal(list_len(l), 0);
    assert_rc(mproc_mlist_pop(l, 0, &b), MPROC_ENOENT);
    assert_ok(mproc_mlist_reverse(l));

    mproc_proxy_destroy(l);
    mproc_manager_destroy(m);
}

/* A list's items are packs of any types: extend makes one item of each field, slice gives
 * them back as nested packs. */
/* print(d) and print(l) as Python shows them, and d[key] read back as an integer. */
static void dict_list_repr_get_i64(void **state)
{
    (void)state;
    mproc_manager *m;
    mproc_mdict *d;
    mproc_mlist *l;
    mproc_bytes text = {0};
    int64_t v = 0;
    assert_ok(mproc_manager_start(&m, NULL));
    assert_ok(mproc_manager_dict(m, &d));
    assert_ok(mproc_manager_list(m, &l));
    assert_ok(mproc_mdict_repr(d, &text));
    assert_string_equal(text.data, "{}");
    mproc_bytes_free(&text);
    assert_ok(mproc_mdict_add_i64(d, P("count"), 4, NULL));
    assert_ok(mproc_mdict_set(d, P(1, 2), P("it's", 0.5)));
    assert_ok(mproc_mdict_set(d, P(2.0), P(MPROC_BYTES("\x01", 1))));
    assert_ok(mproc_mdict_repr(d, &text));
    assert_string_equal(text.data, "{'count': 4, (1, 2): (\"it's\", 0.5), 2.0: b'\\x01'}");
    assert_int_equal(text.len, strlen(text.data));
    mproc_bytes_free(&text);

    assert_ok(mproc_mdict_get_i64(d, P("count"), &v));
    assert_int_equal(v, 4);
    v = 99;
    assert_rc(mproc_mdict_get_i64(d, P(1, 2), &v), MPROC_ETYPE); /* two fields */
    assert_rc(mproc_mdict_get_i64(d, P(2.0), &v), MPROC_ETYPE);  /* bytes */
    assert_int_equal(v, 99);                                     /* untouched on failure */
    assert_rc(mproc_mdict_get_i64(d, P("absent"), &v), mproc_mdict_get(d, P("absent"), &text));
    assert_rc(mproc_mdict_get_i64(d, P("count"), NULL), MPROC_EINVAL);
    assert_rc(mproc_mdict_get_i64(NULL, P("count"), &v), MPROC_EINVAL);

    assert_ok(mproc_mlist_repr(l, &text));
    assert_string_equal(text.data, "[]");
    mproc_bytes_free(&text);
    assert_ok(mproc_mlist_extend(l, P(1, "two", 3.0)));
    assert_ok(mproc_mlist_append(l, P(4, 5)));
    assert_ok(mproc_mlist_repr(l, &text));
    assert_string_equal(text.data, "[1, 'two', 3.0, (4, 5)]");
    mproc_bytes_free(&text);
    assert_rc(mproc_mlist_repr(l, NULL), MPROC_EINVAL);
    assert_rc(mproc_mdict_repr(NULL, &text), MPROC_EINVAL);
    assert_rc(mproc_mlist_repr((mproc_mlist *)d, &text), MPROC_EINVAL); /* a dict is no list */
    mproc_proxy_destroy(l);
    mproc_proxy_destroy(d);
    mproc_manager_destroy(m);
}

static void list_mixed_types(void **state)
{
    (void)state;
    mproc_manager *m;
    mproc_mlist *l;
    mproc_bytes b = {0};
    assert_ok(mproc_manager_start(&m, NULL));
    assert_ok(mproc_manager_list(m, &l));
    assert_ok(mproc_mlist_append(l, P(0, "zero"))); /* one item of two fields */
    assert_ok(mproc_mlist_extend(l, P(1, "two", 3.0, MPROC_BYTES("4", 1), P(5, 6))));
    assert_int_equal(list_len(l), 6);
    assert_ok(mproc_mlist_slice(l, 0, INT64_MAX, &b));
    check_value(&b, "l[:]", P(0, "zero"), P(1), P("two"), P(3.0), P(MPROC_BYTES("4", 1)),
                P(P(5, 6)));
    int64_t i = 0, j = 0;
    double f = 0;
    const char *str = NULL;
    mproc_unpacker nested;
    assert_ok(mproc_mlist_get(l, 0, &b));
    assert_ok(MPROC_UNPACK(&b, &i, &str));
    assert_true(i == 0 && strcmp(str, "zero") == 0);
    mproc_bytes_free(&b);
    assert_ok(mproc_mlist_get(l, 3, &b));
    assert_ok(MPROC_UNPACK(&b, &f));
    assert_true(f == 3.0);
    assert_rc(MPROC_UNPACK(&b, &i), MPROC_ETYPE);
    mproc_bytes_free(&b);
    assert_ok(mproc_mlist_pop(l, -1, &b));
    assert_ok(MPROC_UNPACK(&b, &nested));
    mproc_bytes inner = bytes_of(&nested);
    assert_ok(MPROC_UNPACK(&inner, &i, &j));
    assert_true(i == 5 && j == 6);
    mproc_bytes_free(&b);
    /* a slice's nested packs, read one by one */
    mproc_unpacker a, c;
    assert_ok(mproc_mlist_slice(l, 1, 3, &b));
    assert_ok(MPROC_UNPACK(&b, &a, &c));
    mproc_bytes first = bytes_of(&a), second = bytes_of(&c);
    assert_ok(MPROC_UNPACK(&first, &i));
    assert_int_equal(i, 1);
    assert_ok(MPROC_UNPACK(&second, &str));
    assert_string_equal(str, "two");
    mproc_bytes_free(&b);
    /* set and reverse keep types */
    assert_ok(mproc_mlist_set(l, 1, P(-1.5, 7)));
    assert_ok(mproc_mlist_reverse(l));
    assert_ok(mproc_mlist_slice(l, -2, INT64_MAX, &b));
    check_value(&b, "l[-2:] reversed", P(-1.5, 7), P(0, "zero"));
    /* a field holding an OS handle makes no item at all */
    mproc_lock *lock;
    assert_ok(mproc_lock_create(&lock));
    assert_rc(mproc_mlist_extend(l, P(8, lock)), MPROC_ENOTSUP);
    assert_rc(mproc_mlist_append(l, P(lock)), MPROC_ENOTSUP);
    assert_rc(mproc_mlist_set(l, 0, P(lock)), MPROC_ENOTSUP);
    mproc_lock_destroy(lock);
    assert_int_equal(list_len(l), 5);
    mproc_proxy_destroy(l);
    mproc_manager_destroy(m);
}

/* ---- Namespace ----------------------------------------------------------------------------------- */

static void namespace_ops(void **state)
{
    (void)state;
    mproc_manager *m;
    mproc_mns *ns, *ns2;
    mproc_bytes b = {0};
    int64_t v = 0;
    assert_ok(mproc_manager_start(&m, NULL));
    assert_ok(mproc_manager_namespace(m, &ns));
    assert_ok(mproc_manager_namespace(m, &ns2));
    assert_rc(mproc_mns_get(ns, "x", &b), MPROC_ENOENT);
    assert_rc(mproc_mns_del(ns, "x"), MPROC_ENOENT);
    assert_rc(mns_get_int(ns, "x", &v), MPROC_ENOENT);
    assert_ok(mproc_mns_set(ns, "x", P("hello")));
    assert_ok(mproc_mns_get(ns, "x", &b));
    check_value(&b, "ns.x", "hello");
    assert_ok(mproc_mns_set(ns, "x", P("bye")));
    assert_ok(mproc_mns_get(ns, "x", &b));
    check_value(&b, "ns.x overwritten", "bye");
    mproc_pack *empty = new_pack();
    assert_ok(mproc_mns_set(ns, "empty", empty));
    mproc_pack_destroy(empty);
    assert_ok(mproc_mns_get(ns, "empty", &b));
    check_empty(&b, "ns.empty");
    assert_ok(mproc_mns_set(ns, "n", P(-12345678901LL)));
    assert_ok(mns_get_int(ns, "n", &v));
    assert_true(v == -12345678901LL);
    assert_ok(mproc_mns_get(ns, "n", &b));
    check_value(&b, "ns.n as a pack", -12345678901LL);
    assert_rc(mns_get_int(ns, "x", &v), MPROC_ETYPE);
    assert_rc(mproc_mns_get(ns2, "x", &b), MPROC_ENOENT); /* two namespaces, two objects */
    assert_ok(mproc_mns_del(ns, "x"));
    assert_rc(mproc_mns_get(ns, "x", &b), MPROC_ENOENT);
    assert_rc(mproc_mns_del(ns, "x"), MPROC_ENOENT);
    assert_ok(mns_get_int(ns, "n", &v)); /* the others stay */
    assert_true(v == -12345678901LL);
    mproc_proxy_destroy(ns);
    mproc_proxy_destroy(ns2);
    mproc_manager_destroy(m);
}

/* A namespace's fields hold packs of any types, read back typed; a field holding OS
 * handles is refused, one holding a proxy is not. */
static void namespace_typed_values(void **state)
{
    (void)state;
    mproc_manager *m;
    mproc_mns *ns;
    mproc_mlist *l, *again = NULL;
    mproc_bytes b = {0};
    assert_ok(mproc_manager_start(&m, NULL));
    assert_ok(mproc_manager_namespace(m, &ns));
    assert_ok(mproc_manager_list(m, &l));
    assert_ok(mproc_mns_set(ns, "name", P("小明")));
    assert_ok(mproc_mns_set(ns, "age", P(18)));
    assert_ok(mproc_mns_set(ns, "height", P(1.75)));
    assert_ok(mproc_mns_set(ns, "photo", P(MPROC_BYTES("\x89PNG", 4))));
    assert_ok(mproc_mns_set(ns, "point", P(3, -4, P("nested", 5))));
    assert_ok(mproc_mns_set(ns, "friends", P(l)));
    const char *name = NULL;
    int age = 0;
    double height = 0;
    mproc_bytes photo = {0};
    int64_t x = 0, y = 0, five = 0;
    mproc_unpacker nested;
    const char *word = NULL;
    assert_ok(mproc_mns_get(ns, "name", &b));
    assert_ok(MPROC_UNPACK(&b, &name));
    assert_string_equal(name, "小明");
    assert_rc(MPROC_UNPACK(&b, &age), MPROC_ETYPE);
    mproc_bytes_free(&b);
    assert_ok(mproc_mns_get(ns, "age", &b));
    assert_ok(MPROC_UNPACK(&b, &age)); /* into an int */
    assert_int_equal(age, 18);
    assert_rc(MPROC_UNPACK(&b, &height), MPROC_ETYPE);
    mproc_bytes_free(&b);
    assert_ok(mproc_mns_get(ns, "height", &b));
    assert_ok(MPROC_UNPACK(&b, &height));
    assert_true(height == 1.75);
    mproc_bytes_free(&b);
    assert_ok(mproc_mns_get(ns, "photo", &b));
    assert_ok(MPROC_UNPACK(&b, &photo));
    assert_int_equal(photo.len, 4);
    assert_memory_equal(photo.data, "\x89PNG", 4);
    mproc_bytes_free(&b);
    assert_ok(mproc_mns_get(ns, "point", &b));
    assert_ok(MPROC_UNPACK(&b, &x, &y, &nested));
    mproc_bytes inner = bytes_of(&nested);
    assert_ok(MPROC_UNPACK(&inner, &word, &five));
    assert_true(x == 3 && y == -4 && five == 5);
    assert_string_equal(word, "nested");
    mproc_bytes_free(&b);
    assert_ok(mproc_mns_get(ns, "friends", &b));
    assert_ok(MPROC_UNPACK(&b, &again));
    mproc_bytes_free(&b);
    assert_ok(mproc_mlist_append(again, P("小红")));
    assert_int_equal(list_len(l), 1);
    mproc_proxy_destroy(again);
    /* the name is the field's, not a key of another type: "age" is not ("age", 0) */
    assert_ok(mproc_mns_set(ns, "age", P(19)));
    assert_ok(mproc_mns_get(ns, "age", &b));
    check_value(&b, "ns.age", 19);
    mproc_event *event;
    assert_ok(mproc_event_create(&event));
    assert_rc(mproc_mns_set(ns, "event", P(event)), MPROC_ENOTSUP);
    assert_rc(mproc_mns_get(ns, "event", &b), MPROC_ENOENT);
    mproc_event_destroy(event);
    assert_ok(mproc_mns_del(ns, "photo"));
    assert_rc(mproc_mns_get(ns, "photo", &b), MPROC_ENOENT);
    assert_ok(mproc_mns_get(ns, "height", &b)); /* the others stay */
    check_value(&b, "ns.height", 1.75);
    mproc_proxy_destroy(l);
    mproc_proxy_destroy(ns);
    mproc_manager_destroy(m);
}

/* ---- Value and Array --------------------------------------------------------------------------------- */

/* The same call on a local Value and on a manager's: same code, same value. */
static void same_i64(mproc_value *local, mproc_mvalue *remote, char type, const char *what)
{
    int64_t a = 0, b = 0;
    int ra = mproc_value_get_i64(local, &a), rb = mproc_mvalue_get_i64(remote, &b);
    if (ra != rb || (ra == 0 && a != b))
        fail_msg("type %c, %s: get_i64 gives %s %lld locally, %s %lld from the manager", type, what,
                 mproc_errname(ra), (long long)a, mproc_errname(rb), (long long)b);
    double x = 0, y = 0;
    ra = mproc_value_get_f64(local, &x);
    rb = mproc_mvalue_get_f64(remote, &y);
    if (ra != rb || (ra == 0 && x != y))
        fail_msg("type %c, %s: get_f64 gives %s %g locally, %s %g from the manager", type, what,
                 mproc_errname(ra), x, mproc_errname(rb), y);
}

static void value_array_ops(void **state)
{
    (void)state;
    mproc_manager *m;
    assert_ok(mproc_manager_start(&m, NULL));

    const int64_t ints[] = {0,
                            7,
                            -1,
                            127,
                            128,
                            -128,
                            -129,
                            255,
                            256,
                            300,
                            65535,
                            65536,
                            INT32_MAX,
                            (int64_t)INT32_MAX + 1,
                            INT32_MIN,
                            (int64_t)INT32_MIN - 1,
                            (int64_t)1 << 40,
                            INT64_MAX,
                            INT64_MIN};
    const double reals[] = {1.5, -2.25, 1e30, 1e300, 0.0};
    const int64_t deltas[] = {3, -10, 200, INT64_MAX, INT64_MIN};
    for (const char *t = "cbBhHiIlLqQfd"; *t; t++) {
        mproc_value *local;
        mproc_mvalue *remote;
        char what[80];
        assert_ok(mproc_value_create(&local, (mproc_type)*t, false));
        assert_ok(mproc_manager_value(m, (mproc_type)*t, &remote));
        same_i64(local, remote, *t, "a new value");
        for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
            int ra = mproc_value_set_i64(local, ints[i]),
                rb = mproc_mvalue_set_i64(remote, ints[i]);
            snprintf(what, sizeof what, "set_i64(%lld)", (long long)ints[i]);
            if (ra != rb)
                fail_msg("type %c, %s: %s locally, %s from the manager", *t, what,
                         mproc_errname(ra), mproc_errname(rb));
            same_i64(local, remote, *t, what);
        }
        for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
            int ra = mproc_value_set_f64(local, reals[i]),
                rb = mproc_mvalue_set_f64(remote, reals[i]);
            snprintf(what, sizeof what, "set_f64(%g)", reals[i]);
            if (ra != rb)
                fail_msg("type %c, %s: %s locally, %s from the manager", *t, what,
                         mproc_errname(ra), mproc_errname(rb));
            same_i64(local, remote, *t, what);
        }
        for (size_t i = 0; i < sizeof deltas / sizeof deltas[0]; i++) {
            assert_int_equal(mproc_value_set_i64(local, 5), mproc_mvalue_set_i64(remote, 5));
            int64_t a = 0, b = 0;
            int ra = mproc_value_add_i64(local, deltas[i], &a);
            int rb = mproc_mvalue_add_i64(remote, deltas[i], &b);
            snprintf(what, sizeof what, "5 + %lld", (long long)deltas[i]);
            if (ra != rb || (ra == 0 && a != b))
                fail_msg("type %c, %s: %s %lld locally, %s %lld from the manager", *t, what,
                         mproc_errname(ra), (long long)a, mproc_errname(rb), (long long)b);
            same_i64(local, remote, *t, what);
        }
        mproc_value_destroy(local);
        mproc_proxy_destroy(remote);
    }

    /* The rules themselves, not only agreement with the local Value. */
    mproc_mvalue *v;
    int64_t i = 0;
    double d = 0;
    assert_ok(mproc_manager_value(m, MPROC_T_BYTE, &v));
    assert_ok(mproc_mvalue_get_i64(v, &i));
    assert_int_equal(i, 0);
    assert_rc(mproc_mvalue_set_i64(v, 300), MPROC_ETOOBIG);
    assert_rc(mproc_mvalue_set_i64(v, -129), MPROC_ETOOBIG);
    assert_ok(mproc_mvalue_set_i64(v, -128));
    assert_rc(mproc_mvalue_set_f64(v, 1.5), MPROC_ETYPE);
    assert_ok(mproc_mvalue_get_f64(v, &d));
    assert_true(d == -128.0);
    assert_ok(mproc_mvalue_set_i64(v, 120));
    assert_rc(mproc_mvalue_add_i64(v, 10, &i), MPROC_ETOOBIG);
    assert_ok(mproc_mvalue_get_i64(v, &i));
    assert_int_equal(i, 120);
    assert_ok(mproc_mvalue_add_i64(v, 7, &i));
    assert_int_equal(i, 127);
    assert_ok(mproc_mvalue_add_i64(v, -27, NULL));
    assert_int_equal(mproc_mvalue_cas_i64(v, 100, 5), 1);
    assert_int_equal(mproc_mvalue_cas_i64(v, 100, 6), 0);
    assert_ok(mproc_mvalue_get_i64(v, &i));
    assert_int_equal(i, 5);
    mproc_proxy_destroy(v);
    assert_ok(mproc_manager_value(m, MPROC_T_DOUBLE, &v));
    assert_ok(mproc_mvalue_set_f64(v, 2.5));
    assert_rc(mproc_mvalue_get_i64(v, &i), MPROC_ETYPE);
    assert_ok(mproc_mvalue_get_f64(v, &d));
    assert_true(d == 2.5);
    mproc_proxy_destroy(v);
    assert_rc(mproc_manager_value(m, (mproc_type)'x', &v), MPROC_EINVAL);

    /* Arrays: against a local Array, index range included. */
    mproc_array *la;
    mproc_marray *a;
    assert_ok(mproc_array_create(&la, MPROC_T_INT, 5, false));
    assert_ok(mproc_manager_array(m, MPROC_T_INT, 5, &a));
    assert_int_equal(array_len(a), 5);
    for (size_t k = 0; k < 5; k++) {
        assert_ok(mproc_marray_get_i64(a, k, &i));
        assert_int_equal(i, 0);
        assert_ok(mproc_marray_set_i64(a, k, (int64_t)k * 1000 - 2000));
    }
    for (size_t k = 0; k < 5; k++) {
        assert_ok(mproc_marray_get_i64(a, k, &i));
        assert_int_equal(i, (int64_t)k * 1000 - 2000);
        assert_ok(mproc_marray_get_f64(a, k, &d));
        assert_true(d == (double)((int64_t)k * 1000 - 2000));
    }
    int want = mproc_array_get_i64(la, 5, &i);
    assert_true(want < 0);
    assert_rc(mproc_marray_get_i64(a, 5, &i), want);
    assert_rc(mproc_marray_set_i64(a, 5, 1), mproc_array_set_i64(la, 5, 1));
    assert_rc(mproc_marray_get_f64(a, 5, &d), mproc_array_get_f64(la, 5, &d));
    assert_rc(mproc_marray_get_i64(a, SIZE_MAX, &i), mproc_array_get_i64(la, SIZE_MAX, &i));
    assert_rc(mproc_marray_set_f64(a, 0, 1.5), MPROC_ETYPE);
    assert_rc(mproc_marray_set_i64(a, 0, (int64_t)1 << 40), MPROC_ETOOBIG);
    assert_ok(mproc_marray_get_i64(a, 0, &i));
    assert_int_equal(i, -2000);
    mproc_proxy_destroy(a);
    mproc_array_destroy(la);
    assert_ok(mproc_manager_array(m, MPROC_T_DOUBLE, 3, &a));
    assert_ok(mproc_marray_set_f64(a, 2, -0.5));
    assert_ok(mproc_marray_get_f64(a, 2, &d));
    assert_true(d == -0.5);
    assert_rc(mproc_marray_get_i64(a, 2, &i), MPROC_ETYPE);
    mproc_proxy_destroy(a);
    assert_rc(mproc_manager_array(m, MPROC_T_INT, 0, &a),
              mproc_array_create(&la, MPROC_T_INT, 0, false));
    assert_rc(mproc_manager_array(m, (mproc_type)'x', 3, &a), MPROC_EINVAL);
    a = NULL;
    assert_true(mproc_manager_array(m, MPROC_T_DOUBLE, (int64_t)1 << 40, &a) < 0); /* 8 TiB */
    assert_null(a);
    assert_true(mproc_manager_array(m, MPROC_T_DOUBLE, INT64_MAX, &a) < 0);
    assert_rc(mproc_manager_array(m, MPROC_T_DOUBLE, -1, &a), MPROC_EINVAL);
    assert_ok(mproc_manager_value(m, MPROC_T_INT, &v)); /* the server is fine */
    mproc_proxy_destroy(v);
    mproc_manager_destroy(m);
}

/* ---- Queue in one process ------------------------------------------------------------------------------ */

static mproc_mqueue *late_queue;
static int late_put_rc = 1;
static void put_later(void *arg)
{
    (void)arg;
    harness_sleep_ms(200);
    late_put_rc = mproc_mqueue_put(late_queue, "late", 4, 10000);
}

static void queue_in_one_process(void **state)
{
    (void)state;
    mproc_manager *m;
    mproc_mqueue *q, *jq;
    mproc_bytes b = {0};
    assert_ok(mproc_manager_start(&m, NULL));

    /* FIFO, sizes from 0 bytes up */
    assert_ok(mproc_manager_queue(m, 0, &q));
    assert_int_equal(mproc_mqueue_empty(q), 1);
    assert_int_equal(mproc_mqueue_full(q), 0);
    assert_int_equal(qsize(q), 0);
    for (int i = 0; i < 50; i++) {
        char msg[64];
        int n = snprintf(msg, sizeof msg, "message %d", i);
        assert_ok(mproc_mqueue_put(q, msg, i == 7 ? 0 : (size_t)n, 0));
    }
    assert_int_equal(qsize(q), 50);
    assert_int_equal(mproc_mqueue_empty(q), 0);
    assert_int_equal(mproc_mqueue_full(q), 0); /* unbounded */
    for (int i = 0; i < 50; i++) {
        char msg[64];
        int n = snprintf(msg, sizeof msg, "message %d", i);
        assert_ok(mproc_mqueue_get(q, 1000, &b));
        check_bytes(&b, msg, i == 7 ? 0 : (size_t)n, "FIFO order");
    }
    assert_rc(mproc_mqueue_get(q, 0, &b), MPROC_EEMPTY);
    int64_t t0 = harness_now_ms();
    assert_rc(mproc_mqueue_get(q, 50, &b), MPROC_ETIMEDOUT); /* not a poll */
    int64_t took = harness_now_ms() - t0;
    if (took < 40 || took > 5000)
        fail_msg("get(50 ms) on an empty queue took %lld ms", (long long)took);
    /* a get that waits is woken by a put from another thread */
    late_queue = q;
    harness_thread *t = harness_thread_start(put_later, NULL);
    t0 = harness_now_ms();
    assert_ok(mproc_mqueue_get(q, 20000, &b));
    took = harness_now_ms() - t0;
    harness_thread_join(t);
    assert_int_equal(late_put_rc, 0);
    check_text(&b, "late", "a message put while get waited");
    assert_true(took < 10000);
    /* a plain queue has no task_done / join */
    assert_rc(mproc_mqueue_task_done(q), MPROC_ETYPE);
    assert_rc(mproc_mqueue_join(q, 0), MPROC_ETYPE);
    mproc_proxy_destroy(q);

    /* maxsize */
    assert_ok(mproc_manager_queue(m, 2, &q));
    assert_ok(mproc_mqueue_put(q, "1", 1, 0));
    assert_ok(mproc_mqueue_put(q, "2", 1, 0));
    assert_int_equal(mproc_mqueue_full(q), 1);
    assert_int_equal(qsize(q), 2);
    assert_rc(mproc_mqueue_put(q, "3", 1, 0), MPROC_EFULL);
    t0 = harness_now_ms();
    assert_rc(mproc_mqueue_put(q, "3", 1, 50), MPROC_ETIMEDOUT);
    took = harness_now_ms() - t0;
    if (took < 40 || took > 5000)
        fail_msg("put(50 ms) on a full queue took %lld ms", (long long)took);
    assert_int_equal(qsize(q), 2);
    assert_ok(mproc_mqueue_get(q, 0, &b));
    check_text(&b, "1", "first of a bounded queue");
    assert_int_equal(mproc_mqueue_full(q), 0);
    assert_ok(mproc_mqueue_put(q, "3", 1, 0));
    assert_ok(mproc_mqueue_get(q, 0, &b));
    check_text(&b, "2", "second of a bounded queue");
    assert_ok(mproc_mqueue_get(q, 0, &b));
    check_text(&b, "3", "third of a bounded queue");
    mproc_proxy_destroy(q);

    /* JoinableQueue */
    assert_ok(mproc_manager_joinable_queue(m, 0, &jq));
    int rc = mproc_mqueue_task_done(jq);
    if (rc >= 0)
        fail_msg("task_done before any put returned %d", rc);
    if (rc != MPROC_ESTATE)
        print_message("note: task_done too often gives %s (a local JoinableQueue: MPROC_ESTATE)\n",
                      mproc_errname(rc));
    assert_ok(mproc_mqueue_join(jq, 0));
    for (int i = 0; i < 3; i++)
        assert_ok(mproc_mqueue_put(jq, "job", 3, 0));
    assert_int_equal(qsize(jq), 3);
    assert_rc(mproc_mqueue_join(jq, 0), MPROC_ETIMEDOUT);
    assert_rc(mproc_mqueue_join(jq, 50), MPROC_ETIMEDOUT);
    for (int i = 0; i < 3; i++) {
        assert_ok(mproc_mqueue_get(jq, 0, &b));
        mproc_bytes_free(&b);
    }
    assert_rc(mproc_mqueue_join(jq, 0), MPROC_ETIMEDOUT); /* got, not yet done */
    assert_ok(mproc_mqueue_task_done(jq));
    assert_ok(mproc_mqueue_task_done(jq));
    assert_rc(mproc_mqueue_join(jq, 20), MPROC_ETIMEDOUT);
    assert_ok(mproc_mqueue_task_done(jq));
    assert_ok(mproc_mqueue_join(jq, 0));
    assert_ok(mproc_mqueue_join(jq, 1000));
    rc = mproc_mqueue_task_done(jq);
    if (rc >= 0)
        fail_msg("one task_done too many returned %d", rc);
    assert_ok(mproc_mqueue_join(jq, 0)); /* the count did not go below zero */
    mproc_proxy_destroy(jq);
    mproc_manager_destroy(m);
}

/* A poll (timeout 0) of a put on a full queue is MPROC_EFULL, of a get on an empty one
 * MPROC_EEMPTY; any other timeout that passes is MPROC_ETIMEDOUT: alone, in a batch, past a
 * slice of the server's, and as on a local queue. */
static void queue_codes(void **state)
{
    (void)state;
    mproc_manager *m;
    mproc_mqueue *q;
    mproc_queue *local;
    mproc_bytes b = {0};
    int codes[2];
    assert_ok(mproc_manager_start(&m, NULL));
    assert_ok(mproc_manager_queue(m, 1, &q));
    assert_ok(mproc_queue_create(&local, 1));
    assert_rc(mproc_mqueue_get(q, 0, &b), MPROC_EEMPTY);
    assert_rc(mproc_queue_get(local, 0, &b), MPROC_EEMPTY);
    assert_rc(mproc_mqueue_get(q, 1, &b), MPROC_ETIMEDOUT);
    assert_rc(mproc_queue_get(local, 1, &b), MPROC_ETIMEDOUT);
    assert_ok(mproc_mqueue_put(q, "x", 1, 0));
    assert_ok(mproc_queue_put(local, "x", 1, 0));
    assert_rc(mproc_mqueue_put(q, "y", 1, 0), MPROC_EFULL);
    assert_rc(mproc_queue_put(local, "y", 1, 0), MPROC_EFULL);
    assert_rc(mproc_mqueue_put(q, "y", 1, 1), MPROC_ETIMEDOUT);
    assert_rc(mproc_queue_put(local, "y", 1, 1), MPROC_ETIMEDOUT);
    /* past a slice: the proxy's last slice is short, the code is the caller's */
    int64_t t0 = harness_now_ms();
    assert_rc(mproc_mqueue_put(q, "y", 1, 2100), MPROC_ETIMEDOUT);
    int64_t took = harness_now_ms() - t0;
    if (took < 2000 || took > 10000)
        fail_msg("put(2100 ms) on a full queue took %lld ms", (long long)took);
    /* in a batch: each call's own code */
    assert_ok(mproc_batch_begin(q));
    assert_ok(mproc_mqueue_put(q, "y", 1, 0));
    assert_ok(mproc_mqueue_put(q, "y", 1, 30));
    assert_rc(mproc_batch_end(30000, codes, 2), MPROC_EFULL);
    assert_int_equal(codes[0], MPROC_EFULL);
    assert_int_equal(codes[1], MPROC_ETIMEDOUT);
    assert_ok(mproc_mqueue_get(q, 0, &b));
    check_text(&b, "x", "the one message");
    assert_ok(mproc_batch_begin(q));
    assert_ok(mproc_mqueue_get(q, 0, &b));
    assert_ok(mproc_mqueue_get(q, 30, &b));
    assert_rc(mproc_batch_end(30000, codes, 2), MPROC_EEMPTY);
    assert_int_equal(codes[0], MPROC_EEMPTY);
    assert_int_equal(codes[1], MPROC_ETIMEDOUT);
    assert_null(b.data); /* a failed call leaves its output alone */
    mproc_queue_destroy(local);
    mproc_proxy_destroy(q);
    mproc_manager_destroy(m);
}

/* Typed messages: put_pack sends a pack's bytes, get gives them for MPROC_UNPACK, beside
 * plain bytes on the same queue; a pack holding OS handles is refused before it is sent,
 * one holding a proxy travels. */
static void mqueue_packs(void **state)
{
    (void)state;
    mproc_manager *m;
    mproc_mqueue *q;
    mproc_mdict *d, *d2 = NULL;
    mproc_bytes b = {0};
    assert_ok(mproc_manager_start(&m, NULL));
    assert_ok(mproc_manager_queue(m, 2, &q));
    assert_ok(mproc_manager_dict(m, &d));
    assert_ok(mproc_mqueue_put_pack(q, P(42, "answer", 0.5), 0));
    assert_ok(mproc_mqueue_put(q, "raw", 3, 0));
    assert_rc(mproc_mqueue_put_pack(q, P(1), 0), MPROC_EFULL);
    assert_rc(mproc_mqueue_put_pack(q, P(1), 20), MPROC_ETIMEDOUT);
    assert_int_equal(qsize(q), 2);
    int64_t n = 0;
    const char *text = NULL;
    double f = 0;
    assert_ok(mproc_mqueue_get(q, 0, &b));
    assert_ok(MPROC_UNPACK(&b, &n, &text, &f));
    assert_int_equal(n, 42);
    assert_string_equal(text, "answer");
    assert_true(f == 0.5);
    assert_rc(MPROC_UNPACK(&b, &text, &n, &f), MPROC_ETYPE);
    mproc_bytes_free(&b);
    assert_ok(mproc_mqueue_get(q, 0, &b));
    check_text(&b, "raw", "bytes put beside packs");
    /* a proxy travels; a lock does not, and nothing is sent */
    mproc_lock *lock;
    assert_ok(mproc_lock_create(&lock));
    assert_rc(mproc_mqueue_put_pack(q, P("with a lock", lock), 0), MPROC_ENOTSUP);
    mproc_lock_destroy(lock);
    assert_int_equal(qsize(q), 0);
    assert_ok(mproc_mqueue_put_pack(q, P("a dict", d), 0));
    assert_ok(mproc_mqueue_get(q, 1000, &b));
    assert_ok(MPROC_UNPACK(&b, &text, &d2));
    mproc_bytes_free(&b);
    assert_ok(mproc_mdict_set(d2, P("via"), P("the queue")));
    assert_ok(mproc_mdict_get(d, P("via"), &b));
    check_value(&b, "d['via']", "the queue");
    /* a pack built with MPROC_PACK, and the empty pack */
    mproc_pack *pk = new_pack();
    assert_ok(mproc_mqueue_put_pack(q, pk, 0));
    assert_ok(MPROC_PACK(pk, 7, "seven"));
    assert_ok(mproc_mqueue_put_pack(q, pk, 0));
    mproc_pack_destroy(pk);
    assert_ok(mproc_mqueue_get(q, 0, &b));
    check_empty(&b, "the empty pack");
    assert_ok(mproc_mqueue_get(q, 0, &b));
    check_value(&b, "a built pack", 7, "seven");
    assert_rc(mproc_mqueue_put_pack(q, NULL, 0), MPROC_EINVAL);
    mproc_proxy_destroy(d2);
    mproc_proxy_destroy(d);
    mproc_proxy_destroy(q);
    mproc_manager_destroy(m);
}

/* ---- Locks, semaphores, events, conditions, barriers in one process ----------------------------------- */

static mproc_mlock *shared_lock;
static int thread_rc[4];
static void lock_from_other_thread(void *arg)
{
    (void)arg;
    thread_rc[0] = mproc_mlock_acquire(shared_lock, 0);
    thread_rc[1] = mproc_mlock_acquire(shared_lock, 50);
}
static void release_from_other_thread(void *arg)
{
    (void)arg;
    thread_rc[0] = mproc_mlock_release(shared_lock);
    thread_rc[1] = mproc_mlock_acquire(shared_lock, 50);
}

static mproc_mevent *shared_event;
static void set_event_later(void *arg)
{
    harness_sleep_ms((int64_t)(intptr_t)arg);
    thread_rc[2] = mproc_mevent_set(shared_event);
}

static mproc_mcond *shared_cond;
static _Atomic int cond_waiting;
static void wait_on_cond(void *arg)
{
    (void)arg;
    thread_rc[0] = mproc_mcond_acquire(shared_cond, 10000);
    cond_waiting = 1; /* set under the lock: the notifier takes it only once we wait */
    thread_rc[1] = mproc_mcond_wait(shared_cond, 20000);
    thread_rc[2] = mproc_mcond_release(shared_cond);
}

static mproc_mbarrier *shared_barrier;
static void wait_on_barrier(void *arg)
{
    thread_rc[3] = mproc_mbarrier_wait(shared_barrier, (int64_t)(intptr_t)arg);
}

/* Waits (bounded) until n parties wait at the barrier. */
static void await_waiting(mproc_mbarrier *b, int n)
{
    int64_t end = harness_now_ms() + 10000;
    int64_t now;
    while ((now = n_waiting(b)) != n) {
        if (harness_now_ms() > end)
            fail_msg("n_waiting stayed %lld, wanted %d", (long long)now, n);
        harness_sleep_ms(5);
    }
}

static void sync_in_one_process(void **state)
{
    (void)state;
    mproc_manager *m;
    assert_ok(mproc_manager_start(&m, NULL));

    /* Lock */
    assert_ok(mproc_manager_lock(m, &shared_lock));
    assert_rc(mproc_mlock_release(shared_lock), MPROC_ESTATE);
    assert_ok(mproc_mlock_acquire(shared_lock, 0));
    assert_rc(mproc_mlock_acquire(shared_lock, 0), MPROC_ETIMEDOUT); /* not recursive */
    int64_t t0 = harness_now_ms();
    assert_rc(mproc_mlock_acquire(shared_lock, 50), MPROC_ETIMEDOUT);
    int64_t took = harness_now_ms() - t0;
    if (took < 40 || took > 5000)
        fail_msg("acquire(50 ms) of a held lock took %lld ms", (long long)took);
    harness_thread_join(harness_thread_start(lock_from_other_thread, NULL));
    assert_int_equal(thread_rc[0], MPROC_ETIMEDOUT);
    assert_int_equal(thread_rc[1], MPROC_ETIMEDOUT);
    assert_ok(mproc_mlock_release(shared_lock));
    assert_rc(mproc_mlock_release(shared_lock), MPROC_ESTATE);
    assert_ok(mproc_mlock_acquire(shared_lock, MPROC_FOREVER));
    /* A plain Lock may be released by another thread (Python's Lock). */
    harness_thread_join(harness_thread_start(release_from_other_thread, NULL));
    assert_int_equal(thread_rc[0], 0);
    assert_int_equal(thread_rc[1], 0); /* and that thread took it again */
    assert_rc(mproc_mlock_acquire(shared_lock, 0), MPROC_ETIMEDOUT);
    assert_ok(mproc_mlock_release(shared_lock));
    assert_ok(mproc_mlock_acquire(shared_lock, 0));
    assert_ok(mproc_mlock_release(shared_lock));
    mproc_proxy_destroy(shared_lock);

    /* RLock */
    assert_ok(mproc_manager_rlock(m, &shared_lock));
    assert_rc(mproc_mlock_release(shared_lock), MPROC_ESTATE);
    assert_ok(mproc_mlock_acquire(shared_lock, 0));
    assert_ok(mproc_mlock_acquire(shared_lock, 0));
    assert_ok(mproc_mlock_acquire(shared_lock, 10));
    harness_thread_join(harness_thread_start(release_from_other_thread, NULL));
    assert_int_equal(thread_rc[0], MPROC_ESTATE); /* held by another thread */
    assert_int_equal(thread_rc[1], MPROC_ETIMEDOUT);
    harness_thread_join(harness_thread_start(lock_from_other_thread, NULL));
    assert_int_equal(thread_rc[0], MPROC_ETIMEDOUT);
    assert_ok(mproc_mlock_release(shared_lock));
    assert_ok(mproc_mlock_release(shared_lock));
    harness_thread_join(harness_thread_start(lock_from_other_thread, NULL));
    assert_int_equal(thread_rc[0], MPROC_ETIMEDOUT); /* still held once */
    assert_ok(mproc_mlock_release(shared_lock));
    assert_rc(mproc_mlock_release(shared_lock), MPROC_ESTATE);
    harness_thread_join(harness_thread_start(lock_from_other_thread, NULL));
    assert_int_equal(thread_rc[0], 0); /* free: the thread takes it (twice: recursive) */
    assert_int_equal(thread_rc[1], 0);
    /* the thread ended holding it twice; this thread cannot release it */
    assert_rc(mproc_mlock_release(shared_lock), MPROC_ESTATE);
    assert_rc(mproc_mlock_acquire(shared_lock, 0), MPROC_ETIMEDOUT);
    mproc_proxy_destroy(shared_lock);

    /* Semaphore and BoundedSemaphore */
    mproc_msem *s;
    int64_t value = -1;
    assert_ok(mproc_manager_semaphore(m, 2, &s));
    assert_ok(mproc_msem_value(s, &value));
    assert_int_equal(value, 2);
    assert_ok(mproc_msem_acquire(s, 0));
    assert_ok(mproc_msem_acquire(s, 0));
    assert_ok(mproc_msem_value(s, &value));
    assert_int_equal(value, 0);
    assert_rc(mproc_msem_acquire(s, 0), MPROC_ETIMEDOUT);
    assert_rc(mproc_msem_acquire(s, 30), MPROC_ETIMEDOUT);
    for (int i = 0; i < 3; i++)
        assert_ok(mproc_msem_release(s)); /* unbounded: past its start */
    assert_ok(mproc_msem_value(s, &value));
    assert_int_equal(value, 3);
    mproc_proxy_destroy(s);
    assert_ok(mproc_manager_semaphore(m, 0, &s));
    assert_rc(mproc_msem_acquire(s, 0), MPROC_ETIMEDOUT);
    mproc_proxy_destroy(s);
    assert_ok(mproc_manager_bounded_semaphore(m, 1, &s));
    assert_rc(mproc_msem_release(s), MPROC_ESTATE);
    assert_ok(mproc_msem_acquire(s, 0));
    assert_ok(mproc_msem_value(s, &value));
    assert_int_equal(value, 0);
    assert_ok(mproc_msem_release(s));
    assert_rc(mproc_msem_release(s), MPROC_ESTATE);
    assert_ok(mproc_msem_value(s, &value));
    assert_int_equal(value, 1);
    mproc_proxy_destroy(s);

    /* Event */
    assert_ok(mproc_manager_event(m, &shared_event));
    assert_int_equal(mproc_mevent_is_set(shared_event), 0);
    assert_rc(mproc_mevent_wait(shared_event, 0), MPROC_ETIMEDOUT);
    t0 = harness_now_ms();
    assert_rc(mproc_mevent_wait(shared_event, 50), MPROC_ETIMEDOUT);
    took = harness_now_ms() - t0;
    if (took < 40 || took > 5000)
        fail_msg("wait(50 ms) on a clear event took %lld ms", (long long)took);
    assert_ok(mproc_mevent_set(shared_event));
    assert_int_equal(mproc_mevent_is_set(shared_event), 1);
    assert_ok(mproc_mevent_wait(shared_event, 0));
    assert_ok(mproc_mevent_wait(shared_event, MPROC_FOREVER));
    assert_ok(mproc_mevent_set(shared_event));
    assert_ok(mproc_mevent_clear(shared_event));
    assert_int_equal(mproc_mevent_is_set(shared_event), 0);
    harness_thread *t = harness_thread_start(set_event_later, (void *)(intptr_t)100);
    assert_ok(mproc_mevent_wait(shared_event, 20000));
    harness_thread_join(t);
    assert_int_equal(thread_rc[2], 0);
    mproc_proxy_destroy(shared_event);

    /* Condition with its own RLock */
    assert_ok(mproc_manager_condition(m, NULL, &shared_cond));
    assert_rc(mproc_mcond_wait(shared_cond, 0), MPROC_ESTATE);
    assert_rc(mproc_mcond_wait(shared_cond, 50), MPROC_ESTATE);
    assert_rc(mproc_mcond_notify(shared_cond, 1), MPROC_ESTATE);
    assert_rc(mproc_mcond_notify_all(shared_cond), MPROC_ESTATE);
    assert_rc(mproc_mcond_release(shared_cond), MPROC_ESTATE);
    assert_ok(mproc_mcond_acquire(shared_cond, 0));
    assert_ok(mproc_mcond_acquire(shared_cond, 0));          /* an RLock */
    assert_int_equal(mproc_mcond_notify(shared_cond, 1), 0); /* nobody waits */
    assert_int_equal(mproc_mcond_notify_all(shared_cond), 0);
    t0 = harness_now_ms();
    assert_rc(mproc_mcond_wait(shared_cond, 50), MPROC_ETIMEDOUT);
    took = harness_now_ms() - t0;
    if (took < 40 || took > 5000)
        fail_msg("wait(50 ms) on a condition took %lld ms", (long long)took);
    /* held again, at its depth */
    assert_ok(mproc_mcond_release(shared_cond));
    assert_ok(mproc_mcond_release(shared_cond));
    assert_rc(mproc_mcond_release(shared_cond), MPROC_ESTATE);
    /* a waiter on another thread is notified */
    cond_waiting = 0;
    memset(thread_rc, 0x7f, sizeof thread_rc);
    t = harness_thread_start(wait_on_cond, NULL);
    int64_t end = harness_now_ms() + 10000;
    while (!cond_waiting && harness_now_ms() < end)
        harness_sleep_ms(2);
    assert_true(cond_waiting);
    assert_ok(mproc_mcond_acquire(shared_cond, 10000));      /* free only once the thread waits */
    assert_int_equal(mproc_mcond_notify(shared_cond, 1), 1); /* how many it woke */
    assert_ok(mproc_mcond_release(shared_cond));
    harness_thread_join(t);
    assert_int_equal(thread_rc[0], 0);
    assert_int_equal(thread_rc[1], 0);
    assert_int_equal(thread_rc[2], 0);
    mproc_proxy_destroy(shared_cond);

    /* Condition over a plain Lock of the manager */
    mproc_mlock *l;
    assert_ok(mproc_manager_lock(m, &l));
    assert_ok(mproc_manager_condition(m, l, &shared_cond));
    assert_ok(mproc_mlock_acquire(l, 0));
    assert_rc(mproc_mcond_wait(shared_cond, 20), MPROC_ETIMEDOUT); /* the lock is its lock */
    assert_rc(mproc_mlock_acquire(l, 0), MPROC_ETIMEDOUT);         /* held again */
    assert_ok(mproc_mcond_release(shared_cond));
    assert_rc(mproc_mlock_release(l), MPROC_ESTATE);
    assert_rc(mproc_mcond_wait(shared_cond, 0), MPROC_ESTATE);
    mproc_proxy_destroy(shared_cond);
    mproc_proxy_destroy(l);

    /* Barrier */
    mproc_mbarrier *bad;
    assert_rc(mproc_manager_barrier(m, 0, &bad), MPROC_EINVAL);
    assert_ok(mproc_manager_barrier(m, 2, &shared_barrier));
    assert_int_equal(parties(shared_barrier), 2);
    assert_int_equal(n_waiting(shared_barrier), 0);
    assert_int_equal(mproc_mbarrier_broken(shared_barrier), 0);
    for (int round = 0; round < 3; round++) {
        thread_rc[3] = 99;
        t = harness_thread_start(wait_on_barrier, (void *)(intptr_t)20000);
        int mine = mproc_mbarrier_wait(shared_barrier, 20000);
        harness_thread_join(t);
        if (!((mine == 0 && thread_rc[3] == 1) || (mine == 1 && thread_rc[3] == 0)))
            fail_msg("barrier round %d: indexes %d and %d, wanted 0 and 1", round, mine,
                     thread_rc[3]);
    }
    /* a timeout breaks it for everyone until reset */
    assert_rc(mproc_mbarrier_wait(shared_barrier, 20), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_mbarrier_broken(shared_barrier), 1);
    assert_rc(mproc_mbarrier_wait(shared_barrier, 0), MPROC_EBROKEN);
    assert_ok(mproc_mbarrier_reset(shared_barrier));
    assert_int_equal(mproc_mbarrier_broken(shared_barrier), 0);
    /* abort reaches a waiter */
    t = harness_thread_start(wait_on_barrier, (void *)(intptr_t)20000);
    await_waiting(shared_barrier, 1);
    assert_ok(mproc_mbarrier_abort(shared_barrier));
    harness_thread_join(t);
    assert_int_equal(thread_rc[3], MPROC_EBROKEN);
    assert_int_equal(mproc_mbarrier_broken(shared_barrier), 1);
    assert_ok(mproc_mbarrier_reset(shared_barrier));
    /* so does reset, and leaves it usable */
    t = harness_thread_start(wait_on_barrier, (void *)(intptr_t)20000);
    await_waiting(shared_barrier, 1);
    assert_ok(mproc_mbarrier_reset(shared_barrier));
    harness_thread_join(t);
    assert_int_equal(thread_rc[3], MPROC_EBROKEN);
    assert_int_equal(mproc_mbarrier_broken(shared_barrier), 0);
    t = harness_thread_start(wait_on_barrier, (void *)(intptr_t)20000);
    int mine = mproc_mbarrier_wait(shared_barrier, 20000);
    harness_thread_join(t);
    assert_int_equal(mine + thread_rc[3], 1);
    mproc_proxy_destroy(shared_barrier);
    mproc_manager_destroy(m);
}

/* Waits longer than a slice of the server ("at most a few seconds"): the proxy repeats the
 * slices, wakes when the event is set, and a timeout ends close to when it was asked. */
static void long_waits_are_sliced(void **state)
{
    (void)state;
    mproc_manager *m;
    assert_ok(mproc_manager_start(&m, NULL));
    assert_ok(mproc_manager_event(m, &shared_event));
    int64_t t0 = harness_now_ms();
    assert_rc(mproc_mevent_wait(shared_event, 7000), MPROC_ETIMEDOUT);
    int64_t took = harness_now_ms() - t0;
    if (took < 6900 || took > 11000)
        fail_msg("wait(7000 ms) took %lld ms", (long long)took);
    thread_rc[2] = 99;
    harness_thread *t = harness_thread_start(set_event_later, (void *)(intptr_t)6500);
    t0 = harness_now_ms();
    assert_ok(mproc_mevent_wait(shared_event, MPROC_FOREVER));
    took = harness_now_ms() - t0;
    harness_thread_join(t);
    assert_int_equal(thread_rc[2], 0);
    if (took < 6000 || took > 15000)
        fail_msg("wait(FOREVER) for an event set after 6.5 s took %lld ms", (long long)took);
    mproc_proxy_destroy(shared_event);

    mproc_mlock *l;
    assert_ok(mproc_manager_lock(m, &l));
    assert_ok(mproc_mlock_acquire(l, 0));
    t0 = harness_now_ms();
    assert_rc(mproc_mlock_acquire(l, 6000), MPROC_ETIMEDOUT);
    took = harness_now_ms() - t0;
    if (took < 5900 || took > 10000)
        fail_msg("acquire(6000 ms) of a held lock took %lld ms", (long long)took);
    assert_ok(mproc_mlock_release(l));
    mproc_proxy_destroy(l);
    mproc_manager_destroy(m);
}

/* ---- batches --------------------------------------------------------------------------------------------- */

static mproc_mdict *batch_dict;
static int64_t thread_seen = -1, thread_len = -1;
static void outside_the_batch(void *arg)
{
    (void)arg;
    thread_rc[0] = mproc_mdict_len(batch_dict, &thread_len);
    thread_rc[1] = mproc_mdict_set(batch_dict, MPROC_ARGS("from thread"), MPROC_ARGS(5));
    thread_rc[2] = mdict_get_int(batch_dict, MPROC_ARGS("from thread"), &thread_seen);
}

static void batch(void **state)
{
    (void)state;
    enum { N = 1000 };
    mproc_manager *m;
    mproc_mlist *l;
    assert_ok(mproc_manager_start(&m, NULL));
    assert_ok(mproc_manager_dict(m, &batch_dict));
    assert_ok(mproc_manager_list(m, &l));
    assert_rc(mproc_batch_end(1000, NULL, 0), MPROC_ESTATE);

    /* 1000 sets: queued, not sent, until end */
    static int codes[N + 10];
    assert_ok(mproc_batch_begin(batch_dict));
    for (int i = 0; i < N; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        assert_ok(mproc_mdict_set(batch_dict, MPROC_ARGS(key), MPROC_ARGS(i * 3)));
    }
    /* another thread's calls are not part of the batch, and do not see it yet */
    harness_thread_join(harness_thread_start(outside_the_batch, NULL));
    assert_int_equal(thread_rc[0], 0);
    assert_int_equal(thread_len, 0);
    assert_int_equal(thread_rc[1], 0);
    assert_int_equal(thread_rc[2], 0);
    assert_int_equal(thread_seen, 5);
    memset(codes, 0x55, sizeof codes);
    assert_ok(mproc_batch_end(30000, codes, N));
    for (int i = 0; i < N; i++)
        if (codes[i] != 0)
            fail_msg("codes[%d] = %d after a batch of sets", i, codes[i]);
    assert_int_equal(dict_len(batch_dict), N + 1);
    assert_rc(mproc_batch_end(1000, NULL, 0), MPROC_ESTATE); /* the batch is over */

    /* 1000 gets with one missing key among them, and calls of other kinds */
    static mproc_bytes outs[N];
    memset(outs, 0, sizeof outs);
    int64_t added = -1, len = -1, llen = -1;
    mproc_bytes raw = {0}, missing = {0};
    assert_ok(mproc_batch_begin(m)); /* a manager names the server too */
    for (int i = 0; i < N; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        assert_ok(mproc_mdict_get(batch_dict, MPROC_ARGS(key), &outs[i]));
        if (i == 500)
            assert_ok(mproc_mdict_get(batch_dict, MPROC_ARGS("nope"), &missing));
    }
    assert_ok(mproc_mdict_get(batch_dict, MPROC_ARGS("k7"), &raw));           /* N + 1 */
    assert_ok(mproc_mdict_add_i64(batch_dict, MPROC_ARGS("k1"), 10, &added)); /* N + 2 */
    assert_ok(mproc_mlist_append(l, MPROC_ARGS("x")));                        /* N + 3 */
    assert_ok(mproc_mdict_len(batch_dict, &len));                             /* N + 4 */
    assert_ok(mproc_mdict_contains(batch_dict, MPROC_ARGS("k2")));            /* N + 5 */
    assert_ok(mproc_mlist_len(l, &llen));                                     /* N + 6 */
    assert_true(len == -1 && llen == -1);                                     /* filled in by end */
    memset(codes, 0x55, sizeof codes);
    assert_rc(mproc_batch_end(30000, codes, N + 7), MPROC_ENOENT);
    for (int i = 0; i < N + 7; i++) {
        int want = i == 501 ? MPROC_ENOENT : i == N + 5 ? 1 : 0;
        if (codes[i] != want)
            fail_msg("codes[%d] = %s (%d), wanted %d", i, mproc_errname(codes[i]), codes[i], want);
    }
    for (int i = 0; i < N; i++) {
        int64_t v = -1;
        int rc = MPROC_UNPACK(&outs[i], &v);
        if (rc != 0 || v != i * 3)
            fail_msg("outs[%d] = %lld (%s), wanted %d", i, (long long)v, mproc_errname(rc), i * 3);
        mproc_bytes_free(&outs[i]);
    }
    assert_null(missing.data); /* a failed call leaves its output alone */
    assert_int_equal(added, 13);
    assert_int_equal(len, N + 1);
    assert_int_equal(llen, 1);
    check_value(&raw, "a get in a batch", 21);
    assert_int_equal(list_len(l), 1);

    /* an empty batch */
    assert_ok(mproc_batch_begin(batch_dict));
    assert_ok(mproc_batch_end(1000, NULL, 0));

    /* cancel: nothing is sent, outputs are untouched */
    mproc_bytes untouched = {0};
    assert_ok(mproc_batch_begin(batch_dict));
    assert_ok(mproc_mdict_set(batch_dict, MPROC_ARGS("cancelled"), MPROC_ARGS("x")));
    assert_ok(mproc_mdict_get(batch_dict, MPROC_ARGS("k1"), &untouched));
    assert_ok(mproc_mlist_append(l, MPROC_ARGS("y")));
    mproc_batch_cancel();
    assert_null(untouched.data);
    assert_int_equal(mproc_mdict_contains(batch_dict, MPROC_ARGS("cancelled")), 0);
    assert_int_equal(list_len(l), 1);
    assert_rc(mproc_batch_end(1000, NULL, 0), MPROC_ESTATE);
    mproc_batch_cancel(); /* without a batch: nothing */

    /* calls whose answer is their return value: queued like the others, answered in codes */
    mproc_mqueue *q;
    assert_ok(mproc_manager_queue(m, 0, &q));
    assert_ok(mproc_mdict_set(batch_dict, MPROC_ARGS("three"), MPROC_ARGS("abc")));
    int64_t not_a_number = -9, n = -1;
    assert_ok(mproc_batch_begin(q));
    assert_ok(mproc_mqueue_put(q, "x", 1, 0));
    assert_int_equal(mproc_mqueue_empty(q), 0); /* queued: 0 at once */
    assert_int_equal(mproc_mqueue_qsize(q, &n), 0);
    assert_ok(mproc_mdict_add_i64(batch_dict, MPROC_ARGS("three"), 1, &not_a_number));
    memset(codes, 0x55, sizeof codes);
    assert_rc(mproc_batch_end(30000, codes, 4), MPROC_ETYPE);
    if (codes[0] != 0 || codes[1] != 0 || codes[2] != 0 || codes[3] != MPROC_ETYPE)
        fail_msg("codes %d %d %d %d, wanted 0 (put), 0 (empty: false), 0 (qsize), %d (add_i64 "
                 "to a STR)",
                 codes[0], codes[1], codes[2], codes[3], MPROC_ETYPE);
    assert_int_equal(n, 1);
    assert_int_equal(not_a_number, -9);
    mproc_proxy_destroy(q);

    /* a child forked while this thread has a batch open is not part of the batch */
    if (mproc_start_method_available(MPROC_FORK)) {
        mproc_pack *args = new_pack();
        assert_ok(mproc_pack_handle(args, batch_dict));
        assert_ok(mproc_batch_begin(batch_dict));
        assert_ok(mproc_mdict_set(batch_dict, MPROC_ARGS("parent"), MPROC_ARGS("1")));
        mproc_process *p = harness_start(MPROC_FORK, "write_and_read_back", args);
        int code = harness_join_code(p);
        assert_ok(mproc_batch_end(30000, NULL, 0));
        mproc_pack_destroy(args);
        if (code != 0)
            fail_msg("a child forked during a batch: exit code %d (its calls were batched?)", code);
        int64_t v = 0;
        assert_ok(mdict_get_int(batch_dict, MPROC_ARGS("child"), &v));
        assert_int_equal(v, 7);
        assert_int_equal(mproc_mdict_contains(batch_dict, MPROC_ARGS("parent")), 1);
    }

    /* a proxy of another server during a batch */
    char name[64];
    snprintf(name, sizeof name, "local:mproc-test-%lld-batch", (long long)mproc_getpid());
    mproc_manager *m2 = serve_at(name);
    mproc_mdict *d2;
    assert_ok(mproc_manager_dict(m2, &d2));
    assert_ok(mproc_batch_begin(batch_dict));
    assert_ok(mproc_mdict_set(batch_dict, MPROC_ARGS("mine"), MPROC_ARGS("1")));
    assert_rc(mproc_mdict_set(d2, MPROC_ARGS("theirs"), MPROC_ARGS("1")), MPROC_ESTATE);
    memset(codes, 0x55, sizeof codes);
    assert_ok(mproc_batch_end(30000, codes, 1));
    assert_int_equal(codes[0], 0);
    assert_int_equal(mproc_mdict_contains(batch_dict, MPROC_ARGS("mine")), 1);
    assert_int_equal(dict_len(d2), 0);
    mproc_proxy_destroy(d2);
    mproc_manager_destroy(m2);

    mproc_proxy_destroy(l);
    mproc_proxy_destroy(batch_dict);
    mproc_manager_destroy(m);
}

/* ---- named objects ----------------------------------------------------------------------------------------- */

static void register_lookup(void **state)
{
    (void)state;
    mproc_manager *m, *c;
    assert_ok(mproc_manager_start(
        &m, &(mproc_manager_opts){.authkey = KEY_A, .authkey_len = sizeof KEY_A - 1}));
    const char *address = mproc_manager_address(m);
    assert_non_null(address);
    c = connect_to(address); /* a client that knows only the address and the key */

    mproc_mdict *d, *d2;
    mproc_mlist *l, *l2;
    mproc_mns *ns, *ns2;
    mproc_mqueue *q, *jq, *q2;
    mproc_mlock *lock, *rlock, *lock2;
    mproc_msem *sem, *bsem, *sem2;
    mproc_mevent *ev, *ev2;
    mproc_mcond *cond, *cond2;
    mproc_mbarrier *bar, *bar2;
    mproc_mvalue *val, *val2;
    mproc_marray *arr, *arr2;
    assert_ok(mproc_manager_dict(m, &d));
    assert_ok(mproc_manager_list(m, &l));
    assert_ok(mproc_manager_namespace(m, &ns));
    assert_ok(mproc_manager_queue(m, 0, &q));
    assert_ok(mproc_manager_joinable_queue(m, 0, &jq));
    assert_ok(mproc_manager_lock(m, &lock));
    assert_ok(mproc_manager_rlock(m, &rlock));
    assert_ok(mproc_manager_semaphore(m, 2, &sem));
    assert_ok(mproc_manager_bounded_semaphore(m, 1, &bsem));
    assert_ok(mproc_manager_event(m, &ev));
    assert_ok(mproc_manager_condition(m, NULL, &cond));
    assert_ok(mproc_manager_barrier(m, 3, &bar));
    assert_ok(mproc_manager_value(m, MPROC_T_LONGLONG, &val));
    assert_ok(mproc_manager_array(m, MPROC_T_INT, 4, &arr));
    assert_ok(mproc_manager_register(m, "dict", d));
    assert_ok(mproc_manager_register(m, "list", l));
    assert_ok(mproc_manager_register(m, "ns", ns));
    assert_ok(mproc_manager_register(m, "queue", q));
    assert_ok(mproc_manager_register(m, "jqueue", jq));
    assert_ok(mproc_manager_register(m, "lock", lock));
    assert_ok(mproc_manager_register(m, "rlock", rlock));
    assert_ok(mproc_manager_register(m, "sem", sem));
    assert_ok(mproc_manager_register(m, "bsem", bsem));
    assert_ok(mproc_manager_register(m, "event", ev));
    assert_ok(mproc_manager_register(m, "cond", cond));
    assert_ok(mproc_manager_register(m, "barrier", bar));
    assert_ok(mproc_manager_register(m, "value", val));
    assert_ok(mproc_manager_register(m, "array", arr));
    assert_rc(mproc_manager_register(m, "dict", l), MPROC_EEXIST);
    assert_rc(mproc_manager_register(c, "dict", d), MPROC_EEXIST);

    /* Each is the same object, seen from the client. */
    mproc_bytes b = {0};
    assert_ok(mproc_manager_lookup_dict(c, "dict", &d2));
    assert_ok(mproc_mdict_set(d2, MPROC_ARGS("via"), MPROC_ARGS("lookup")));
    assert_ok(mproc_mdict_get(d, MPROC_ARGS("via"), &b));
    check_value(&b, "a dict found by name", "lookup");
    assert_ok(mproc_manager_lookup_list(c, "list", &l2));
    assert_ok(mproc_mlist_append(l2, MPROC_ARGS("item")));
    assert_int_equal(list_len(l), 1);
    assert_ok(mproc_manager_lookup_namespace(c, "ns", &ns2));
    assert_ok(mproc_mns_set(ns2, "field", MPROC_ARGS(9)));
    int64_t i = 0;
    assert_ok(mns_get_int(ns, "field", &i));
    assert_int_equal(i, 9);
    assert_ok(mproc_manager_lookup_queue(c, "queue", &q2));
    assert_ok(mproc_mqueue_put(q2, "msg", 3, 0));
    assert_ok(mproc_mqueue_get(q, 1000, &b));
    check_text(&b, "msg", "a queue found by name");
    assert_rc(mproc_mqueue_task_done(q2), MPROC_ETYPE); /* still a plain queue */
    mproc_proxy_destroy(q2);
    assert_ok(mproc_manager_lookup_queue(c, "jqueue", &q2));
    assert_ok(mproc_mqueue_put(q2, "job", 3, 0));
    assert_rc(mproc_mqueue_join(jq, 0), MPROC_ETIMEDOUT);
    assert_ok(mproc_mqueue_task_done(q2)); /* joinable */
    assert_ok(mproc_mqueue_join(jq, 0));
    mproc_proxy_destroy(q2);
    assert_ok(mproc_manager_lookup_lock(c, "lock", &lock2));
    assert_ok(mproc_mlock_acquire(lock2, 0));
    assert_rc(mproc_mlock_acquire(lock, 0), MPROC_ETIMEDOUT);
    assert_ok(mproc_mlock_release(lock2));
    mproc_proxy_destroy(lock2);
    assert_ok(mproc_manager_lookup_lock(c, "rlock", &lock2));
    assert_ok(mproc_mlock_acquire(lock2, 0));
    assert_ok(mproc_mlock_acquire(lock2, 0)); /* still an RLock */
    assert_ok(mproc_mlock_release(lock2));
    assert_ok(mproc_mlock_release(lock2));
    mproc_proxy_destroy(lock2);
    assert_ok(mproc_manager_lookup_semaphore(c, "sem", &sem2));
    assert_ok(mproc_msem_acquire(sem2, 0));
    assert_ok(mproc_msem_value(sem, &i));
    assert_int_equal(i, 1);
    mproc_proxy_destroy(sem2);
    assert_ok(mproc_manager_lookup_semaphore(c, "bsem", &sem2));
    assert_rc(mproc_msem_release(sem2), MPROC_ESTATE); /* still bounded */
    mproc_proxy_destroy(sem2);
    assert_ok(mproc_manager_lookup_event(c, "event", &ev2));
    assert_ok(mproc_mevent_set(ev2));
    assert_int_equal(mproc_mevent_is_set(ev), 1);
    assert_ok(mproc_manager_lookup_condition(c, "cond", &cond2));
    assert_ok(mproc_mcond_acquire(cond2, 0));
    assert_rc(mproc_mcond_wait(cond2, 10), MPROC_ETIMEDOUT);
    assert_ok(mproc_mcond_release(cond2));
    assert_ok(mproc_manager_lookup_barrier(c, "barrier", &bar2));
    assert_int_equal(parties(bar2), 3);
    assert_ok(mproc_manager_lookup_value(c, "value", &val2));
    assert_ok(mproc_mvalue_set_i64(val2, 1234));
    assert_ok(mproc_mvalue_get_i64(val, &i));
    assert_int_equal(i, 1234);
    assert_ok(mproc_manager_lookup_array(c, "array", &arr2));
    assert_int_equal(array_len(arr2), 4);
    assert_ok(mproc_marray_set_i64(arr2, 3, -3));
    assert_ok(mproc_marray_get_i64(arr, 3, &i));
    assert_int_equal(i, -3);

    /* Unknown names and wrong kinds. */
    mproc_mdict *dx = NULL;
    mproc_mlist *lx = NULL;
    mproc_mqueue *qx = NULL;
    mproc_mlock *lockx = NULL;
    mproc_mvalue *vx = NULL;
    mproc_marray *ax = NULL;
    assert_rc(mproc_manager_lookup_dict(c, "nope", &dx), MPROC_ENOENT);
    assert_rc(mproc_manager_lookup_dict(m, "nope", &dx), MPROC_ENOENT);
    assert_rc(mproc_manager_lookup_list(c, "dict", &lx), MPROC_ETYPE);
    assert_rc(mproc_manager_lookup_dict(c, "list", &dx), MPROC_ETYPE);
    assert_rc(mproc_manager_lookup_queue(c, "lock", &qx), MPROC_ETYPE);
    assert_rc(mproc_manager_lookup_lock(c, "sem", &lockx), MPROC_ETYPE);
    assert_rc(mproc_manager_lookup_lock(c, "cond", &lockx), MPROC_ETYPE);
    assert_rc(mproc_manager_lookup_value(c, "array", &vx), MPROC_ETYPE);
    assert_rc(mproc_manager_lookup_array(c, "value", &ax), MPROC_ETYPE);
    assert_null(dx);
    assert_null(lx);

    /* The client publishes too; the server's side finds it. */
    assert_ok(mproc_manager_register(c, "from client", l2));
    assert_ok(mproc_manager_lookup_list(m, "from client", &lx));
    assert_int_equal(list_len(lx), 1);
    mproc_proxy_destroy(lx);

    mproc_proxy_destroy(d2);
    mproc_proxy_destroy(l2);
    mproc_proxy_destroy(ns2);
    mproc_proxy_destroy(ev2);
    mproc_proxy_destroy(cond2);
    mproc_proxy_destroy(bar2);
    mproc_proxy_destroy(val2);
    mproc_proxy_destroy(arr2);
    mproc_manager_destroy(c);
    mproc_proxy_destroy(d);
    mproc_proxy_destroy(l);
    mproc_proxy_destroy(ns);
    mproc_proxy_destroy(q);
    mproc_proxy_destroy(jq);
    mproc_proxy_destroy(lock);
    mproc_proxy_destroy(rlock);
    mproc_proxy_destroy(sem);
    mproc_proxy_destroy(bsem);
    mproc_proxy_destroy(ev);
    mproc_proxy_destroy(cond);
    mproc_proxy_destroy(bar);
    mproc_proxy_destroy(val);
    mproc_proxy_destroy(arr);
    mproc_manager_destroy(m);
}

/* ---- bad input ----------------------------------------------------------------------------------------------- */

/* Asserts that call gives MPROC_ECLOSED within 5 s. */
#define assert_closed_fast(call)                                                                   \
    do {                                                                                           \
        int64_t t0_ = harness_now_ms();                                                            \
        assert_rc_(call, MPROC_ECLOSED, #call);                                                    \
        int64_t took_ = harness_now_ms() - t0_;                                                    \
        if (took_ > 5000)                                                                          \
            fail_msg("%s took %lld ms to fail", #call, (long long)took_);                          \
    } while (0)

static void bad_input(void **state)
{
    (void)state;
    mproc_manager *m;
    mproc_mdict *d;
    mproc_mlist *l;
    mproc_mqueue *q;
    mproc_mlock *lock;
    mproc_msem *sem;
    mproc_mvalue *v;
    mproc_mevent *e;
    mproc_bytes b = {0};
    int64_t i = 0;

    /* managers */
    assert_rc(mproc_manager_start(NULL, NULL), MPROC_EINVAL);
    assert_rc(mproc_manager_serve(NULL, NULL), MPROC_EINVAL);
    assert_rc(mproc_manager_serve(&m, NULL), MPROC_EINVAL); /* a key is required */
    assert_rc(mproc_manager_serve(&m, &(mproc_manager_opts){.address = "127.0.0.1:0"}),
              MPROC_EINVAL);
    assert_rc(
        mproc_manager_serve(
            &m, &(mproc_manager_opts){.address = "127.0.0.1:0", .authkey = "k", .authkey_len = 0}),
        MPROC_EINVAL);
    assert_rc(
        mproc_manager_serve(
            &m, &(mproc_manager_opts){.address = "no port here", .authkey = "k", .authkey_len = 1}),
        MPROC_EINVAL);
    assert_rc(mproc_manager_connect(&m, NULL), MPROC_EINVAL);
    assert_rc(mproc_manager_connect(&m, &(mproc_manager_opts){.authkey = "k", .authkey_len = 1}),
              MPROC_EINVAL); /* an address is required */
    assert_rc(mproc_manager_connect(&m, &(mproc_manager_opts){.address = "local:x"}),
              MPROC_EINVAL); /* so is a key */
    assert_rc(
        mproc_manager_connect(
            NULL, &(mproc_manager_opts){.address = "local:x", .authkey = "k", .authkey_len = 1}),
        MPROC_EINVAL);
    assert_null(mproc_manager_address(NULL));
    assert_int_equal(mproc_manager_pid(NULL), 0);
    assert_rc(mproc_manager_wait(NULL, 0), MPROC_EINVAL);
    assert_rc(mproc_manager_shutdown(NULL, 0), MPROC_EINVAL);
    mproc_manager_destroy(NULL);
    mproc_proxy_destroy(NULL);

    assert_ok(mproc_manager_start(&m, NULL));
    assert_true(mproc_manager_pid(m) > 0);
    assert_rc(mproc_manager_wait(m, 0), MPROC_ESTATE); /* only a served one can be waited for */
    assert_rc(mproc_manager_dict(NULL, &d), MPROC_EINVAL);
    assert_rc(mproc_manager_dict(m, NULL), MPROC_EINVAL);
    assert_rc(mproc_manager_list(m, NULL), MPROC_EINVAL);
    assert_rc(mproc_manager_queue(NULL, 0, &q), MPROC_EINVAL);
    assert_rc(mproc_manager_semaphore(m, -1, &sem), MPROC_EINVAL);
    assert_rc(mproc_manager_bounded_semaphore(m, -1, &sem), MPROC_EINVAL);
    assert_rc(mproc_manager_barrier(m, -3, NULL), MPROC_EINVAL);
    assert_rc(mproc_manager_condition(NULL, NULL, NULL), MPROC_EINVAL);
    assert_rc(mproc_manager_register(m, "x", NULL), MPROC_EINVAL);
    assert_rc(mproc_manager_lookup_dict(m, NULL, &d), MPROC_EINVAL);
    assert_rc(mproc_manager_lookup_dict(NULL, "x", &d), MPROC_EINVAL);
    assert_ok(mproc_manager_dict(m, &d));
    assert_ok(mproc_manager_list(m, &l));
    assert_ok(mproc_manager_queue(m, -5, &q)); /* <= 0: unbounded */
    assert_ok(mproc_manager_lock(m, &lock));
    assert_ok(mproc_manager_semaphore(m, 1, &sem));
    assert_ok(mproc_manager_value(m, MPROC_T_INT, &v));
    assert_ok(mproc_manager_event(m, &e));
    assert_rc(mproc_manager_register(m, NULL, d), MPROC_EINVAL);
    assert_rc(mproc_manager_lookup_dict(m, "x", NULL), MPROC_EINVAL);

    /* NULL proxies and outputs */
    assert_rc(mproc_mdict_set(NULL, MPROC_ARGS("k"), MPROC_ARGS("v")), MPROC_EINVAL);
    assert_rc(mproc_mdict_set(d, NULL, MPROC_ARGS("v")), MPROC_EINVAL);
    assert_rc(mproc_mdict_set(d, MPROC_ARGS("k"), NULL), MPROC_EINVAL);
    assert_rc(mproc_mdict_get(NULL, MPROC_ARGS("k"), &b), MPROC_EINVAL);
    assert_rc(mproc_mdict_get(d, MPROC_ARGS("k"), NULL), MPROC_EINVAL);
    assert_rc(mproc_mdict_get(d, NULL, &b), MPROC_EINVAL);
    assert_rc(mproc_mdict_del(d, NULL), MPROC_EINVAL);
    assert_rc(mproc_mdict_contains(d, NULL), MPROC_EINVAL);
    assert_rc(mproc_mdict_pop(d, NULL, &b), MPROC_EINVAL);
    assert_rc(mproc_mdict_add_i64(d, NULL, 1, NULL), MPROC_EINVAL);
    assert_rc(mproc_mdict_del(NULL, MPROC_ARGS("k")), MPROC_EINVAL);
    assert_rc(mproc_mdict_contains(NULL, MPROC_ARGS("k")), MPROC_EINVAL);
    assert_rc(mproc_mdict_len(NULL, &i), MPROC_EINVAL);
    assert_rc(mproc_mdict_len(d, NULL), MPROC_EINVAL);
    assert_rc(mproc_mdict_keys(d, NULL), MPROC_EINVAL);
    assert_rc(mproc_mdict_items(NULL, &b), MPROC_EINVAL);
    assert_rc(mproc_mdict_update(d, NULL), MPROC_EINVAL);
    assert_rc(mproc_mdict_setdefault(d, NULL, MPROC_ARGS("v"), &b), MPROC_EINVAL);
    assert_rc(mproc_mdict_setdefault(d, MPROC_ARGS("k"), NULL, &b), MPROC_EINVAL);
    assert_rc(mproc_mdict_add_i64(NULL, MPROC_ARGS("k"), 1, NULL), MPROC_EINVAL);
    assert_rc(mproc_mdict_cas(NULL, MPROC_ARGS("k"), NULL, MPROC_ARGS("v")), MPROC_EINVAL);
    assert_rc(mproc_mdict_cas(d, NULL, NULL, MPROC_ARGS("v")), MPROC_EINVAL);
    assert_rc(mproc_mdict_cas(d, MPROC_ARGS("k"), NULL, NULL), MPROC_EINVAL);
    assert_rc(mproc_mlist_append(NULL, MPROC_ARGS("x")), MPROC_EINVAL);
    assert_rc(mproc_mlist_append(l, NULL), MPROC_EINVAL);
    assert_rc(mproc_mlist_set(l, 0, NULL), MPROC_EINVAL);
    assert_rc(mproc_mlist_get(l, 0, NULL), MPROC_EINVAL);
    assert_rc(mproc_mlist_extend(l, NULL), MPROC_EINVAL);
    assert_rc(mproc_mlist_slice(l, 0, 1, NULL), MPROC_EINVAL);
    assert_rc(mproc_mlist_len(NULL, &i), MPROC_EINVAL);
    assert_rc(mproc_mlist_len(l, NULL), MPROC_EINVAL);
    assert_rc(mproc_mns_set(NULL, "x", MPROC_ARGS("v")), MPROC_EINVAL);
    assert_rc(mproc_mns_set((mproc_mns *)d, NULL, MPROC_ARGS("v")), MPROC_EINVAL);
    assert_rc(mproc_mns_get((mproc_mns *)d, "x", NULL), MPROC_EINVAL);
    assert_rc(mproc_mqueue_put(NULL, "x", 1, 0), MPROC_EINVAL);
    assert_rc(mproc_mqueue_put(q, NULL, 1, 0), MPROC_EINVAL);
    assert_rc(mproc_mqueue_put_pack(q, NULL, 0), MPROC_EINVAL);
    assert_rc(mproc_mqueue_get(q, 0, NULL), MPROC_EINVAL);
    assert_rc(mproc_mqueue_qsize(NULL, &i), MPROC_EINVAL);
    assert_rc(mproc_mqueue_qsize(q, NULL), MPROC_EINVAL);
    assert_rc(mproc_mlock_acquire(NULL, 0), MPROC_EINVAL);
    assert_rc(mproc_mlock_release(NULL), MPROC_EINVAL);
    assert_rc(mproc_msem_acquire(NULL, 0), MPROC_EINVAL);
    assert_rc(mproc_msem_value(sem, NULL), MPROC_EINVAL);
    assert_rc(mproc_mevent_wait(NULL, 0), MPROC_EINVAL);
    assert_rc(mproc_mcond_wait(NULL, 0), MPROC_EINVAL);
    assert_rc(mproc_mbarrier_wait(NULL, 0), MPROC_EINVAL);
    assert_rc(mproc_mvalue_get_i64(v, NULL), MPROC_EINVAL);
    assert_rc(mproc_mvalue_get_i64(NULL, &i), MPROC_EINVAL);
    assert_rc(mproc_marray_len(NULL, &i), MPROC_EINVAL);
    assert_rc(mproc_mbarrier_parties(NULL, &i), MPROC_EINVAL);
    assert_rc(mproc_mbarrier_n_waiting(NULL, &i), MPROC_EINVAL);
    assert_rc(mproc_batch_begin(NULL), MPROC_EINVAL);
    assert_ok(mproc_mdict_add_i64(d, MPROC_ARGS("k"), 1, NULL)); /* result may be NULL */

    /* A proxy of one kind given where another is wanted, or something that is no proxy. */
    char not_a_proxy[256] = {0};
    assert_true(mproc_mdict_len((mproc_mdict *)l, &i) < 0);
    assert_true(mproc_mlist_len((mproc_mlist *)d, &i) < 0);
    assert_true(mproc_mqueue_qsize((mproc_mqueue *)lock, &i) < 0);
    assert_true(mproc_mlock_release((mproc_mlock *)sem) < 0);
    assert_true(mproc_mdict_len((mproc_mdict *)not_a_proxy, &i) < 0);
    assert_rc(mproc_manager_register(m, "junk", not_a_proxy), MPROC_EINVAL);
    /* a pack of the wrong fields (update wants pairs), or holding OS handles */
    mproc_pack *p = new_pack();
    assert_ok(mproc_pack_i64(p, 5));
    assert_ok(mproc_pack_i64(p, 6));
    assert_true(mproc_mdict_update(d, p) < 0);
    mproc_pack_destroy(p);
    p = new_pack();
    assert_ok(mproc_pack_pack(p, MPROC_ARGS(MPROC_ARGS("key without a value"))));
    assert_true(mproc_mdict_update(d, p) < 0);
    mproc_pack_destroy(p);
    mproc_event *local_event;
    assert_ok(mproc_event_create(&local_event));
    assert_rc(mproc_mlist_extend(l, MPROC_ARGS(1, local_event)), MPROC_ENOTSUP);
    assert_rc(mproc_mdict_update(d, MPROC_ARGS(MPROC_ARGS(MPROC_ARGS(1), MPROC_ARGS(local_event)))),
              MPROC_ENOTSUP);
    assert_rc(mproc_mdict_set(d, MPROC_ARGS("e"), MPROC_ARGS(local_event)), MPROC_ENOTSUP);
    assert_rc(mproc_mqueue_put_pack(q, MPROC_ARGS(local_event), 0), MPROC_ENOTSUP);
    mproc_event_destroy(local_event);
    assert_int_equal(dict_len(d), 1);
    assert_int_equal(list_len(l), 0);
    assert_int_equal(qsize(q), 0);

    /* Proxies in packs: the field is a proxy, read back by kind only. */
    mproc_lock *local_lock;
    assert_ok(mproc_lock_create(&local_lock));
    p = new_pack();
    assert_ok(mproc_pack_i64(p, 5));
    assert_ok(mproc_pack_handle(p, d));
    assert_ok(mproc_pack_handle(p, local_lock));
    assert_ok(mproc_pack_handle(p, lock));
    mproc_lock_destroy(local_lock);
    mproc_bytes view;
    assert_ok(mproc_pack_view(p, &view));
    mproc_unpacker u;
    mproc_mdict *d2 = NULL;
    mproc_mqueue *q2 = NULL;
    mproc_mlock *lock2 = NULL;
    mproc_lock *ll = NULL;
    assert_ok(mproc_unpack_init(&u, &view));
    assert_rc(mproc_unpack_mdict(&u, &d2), MPROC_ETYPE); /* an i64 */
    assert_rc(mproc_unpack_mdict(NULL, &d2), MPROC_EINVAL);
    assert_ok(mproc_unpack_skip(&u));
    assert_int_equal(mproc_unpack_peek(&u), MPROC_FIELD_PROXY);
    assert_rc(mproc_unpack_mqueue(&u, &q2), MPROC_ETYPE); /* a dict proxy */
    assert_rc(mproc_unpack_mlist(&u, (mproc_mlist **)&q2), MPROC_ETYPE);
    assert_rc(mproc_unpack_lock(&u, &ll), MPROC_ETYPE); /* not a local lock either */
    assert_rc(mproc_unpack_mdict(&u, NULL), MPROC_EINVAL);
    assert_ok(mproc_unpack_mdict(&u, &d2)); /* nothing was consumed by the failures */
    assert_rc(mproc_unpack_mlock(&u, &lock2), MPROC_ETYPE); /* a local lock */
    assert_ok(mproc_unpack_lock(&u, &ll));
    mproc_lock_destroy(ll);
    assert_rc(mproc_unpack_msem(&u, (mproc_msem **)&lock2), MPROC_ETYPE);
    assert_ok(mproc_unpack_mlock(&u, &lock2));
    assert_int_equal(mproc_unpack_peek(&u), 0);
    mproc_pack_destroy(p);
    /* the unpacked proxies are the same objects */
    assert_ok(mproc_mdict_set(d2, MPROC_ARGS("through a pack"), MPROC_ARGS("yes")));
    assert_ok(mproc_mdict_get(d, MPROC_ARGS("through a pack"), &b));
    check_value(&b, "a proxy unpacked in the same process", "yes");
    assert_ok(mproc_mlock_acquire(lock2, 0));
    assert_rc(mproc_mlock_acquire(lock, 0), MPROC_ETIMEDOUT);
    assert_ok(mproc_mlock_release(lock2));
    mproc_proxy_destroy(d2);
    mproc_proxy_destroy(lock2);

    /* After shutdown: MPROC_ECLOSED, quickly, from every kind of call. */
    int64_t pid = mproc_manager_pid(m);
    assert_ok(mproc_manager_shutdown(m, 10000));
    assert_true(harness_wait_pid_gone(pid, 10000));
    assert_ok(mproc_manager_shutdown(m, 10000)); /* twice is fine */
    assert_closed_fast(mproc_mdict_set(d, MPROC_ARGS("k"), MPROC_ARGS("v")));
    assert_closed_fast(mproc_mdict_get(d, MPROC_ARGS("k"), &b));
    assert_closed_fast(mproc_mdict_len(d, &ignored));
    assert_closed_fast(mproc_mlist_append(l, MPROC_ARGS("x")));
    assert_closed_fast(mproc_mqueue_put(q, "x", 1, 1000));
    assert_closed_fast(mproc_mqueue_get(q, 1000, &b));
    assert_closed_fast(mproc_mqueue_get(q, MPROC_FOREVER, &b));
    assert_closed_fast(mproc_mlock_acquire(lock, MPROC_FOREVER));
    assert_closed_fast(mproc_msem_acquire(sem, 1000));
    assert_closed_fast(mproc_mvalue_get_i64(v, &i));
    assert_closed_fast(mproc_mevent_wait(e, MPROC_FOREVER));
    mproc_mdict *d3 = NULL;
    assert_closed_fast(mproc_manager_dict(m, &d3));
    assert_null(d3);
    assert_closed_fast(mproc_batch_begin(d) == 0 ? mproc_batch_end(5000, NULL, 0) : MPROC_ECLOSED);
    mproc_batch_cancel();
    mproc_manager_destroy(m);
    assert_closed_fast(mproc_mdict_len(d, &ignored)); /* proxies outlive their manager's handle */
    mproc_proxy_destroy(d);
    mproc_proxy_destroy(l);
    mproc_proxy_destroy(q);
    mproc_proxy_destroy(lock);
    mproc_proxy_destroy(sem);
    mproc_proxy_destroy(v);
    mproc_proxy_destroy(e);
}

/* ---- authentication, the wire, addresses ------------------------------------------------------------------ */

static void wrong_authkey(void **state)
{
    (void)state;
    mproc_manager *s = serve_at("127.0.0.1:0"), *c = NULL;
    const char *address = mproc_manager_address(s);
    assert_non_null(address);
    assert_rc(mproc_manager_connect(&c, &(mproc_manager_opts){.address = address,
                                                              .authkey = KEY_B,
                                                              .authkey_len = sizeof KEY_B - 1}),
              MPROC_EAUTH);
    assert_null(c);
    /* a key that is the right key's prefix, or the right key and more */
    assert_rc(mproc_manager_connect(&c, &(mproc_manager_opts){.address = address,
                                                              .authkey = KEY_A,
                                                              .authkey_len = sizeof KEY_A - 2}),
              MPROC_EAUTH);
    /* (HMAC pads a short key with zero bytes: the key and the key with a NUL after it are
     * the same key, here as in Python. Another byte is another key.) */
    char longer[sizeof KEY_A + 1];
    memcpy(longer, KEY_A, sizeof KEY_A - 1);
    longer[sizeof KEY_A - 1] = 'x';
    assert_rc(mproc_manager_connect(&c, &(mproc_manager_opts){.address = address,
                                                              .authkey = longer,
                                                              .authkey_len = sizeof KEY_A}),
              MPROC_EAUTH);
    for (int round = 0; round < 3; round++) {
        c = connect_to(address);
        mproc_mdict *d;
        int64_t v = 0;
        assert_ok(mproc_manager_dict(c, &d));
        assert_ok(mproc_mdict_add_i64(d, MPROC_ARGS("n"), 41, NULL));
        assert_ok(mproc_mdict_add_i64(d, MPROC_ARGS("n"), 1, &v));
        assert_int_equal(v, 42);
        mproc_proxy_destroy(d);
        mproc_manager_destroy(c);
        c = NULL;
        assert_rc(mproc_manager_connect(&c, &(mproc_manager_opts){.address = address,
                                                                  .authkey = KEY_B,
                                                                  .authkey_len = sizeof KEY_B - 1}),
                  MPROC_EAUTH);
    }
    /* the server itself is none the worse */
    mproc_mdict *d;
    assert_ok(mproc_manager_dict(s, &d));
    assert_ok(mproc_mdict_set(d, MPROC_ARGS("x"), MPROC_ARGS("1")));
    mproc_proxy_destroy(d);
    mproc_manager_destroy(s);
}

/* Raw connections (the platform's own calls, as any program could make them). */
static void send_raw(mpp_conn *c, const void *data, size_t n)
{
    size_t done = 0;
    (void)mpp_conn_write(c, data, n, mpp_monotonic_ms() + 5000, &done); /* the server may hang up */
}

/* Reads and drops what comes until the peer closes; false if it stays open that long. */
static bool closed_within(mpp_conn *c, int64_t ms)
{
    int64_t deadline = mpp_monotonic_ms() + ms;
    uint8_t buf[4096];
    for (;;) {
        size_t got = 0;
        int rc = mpp_conn_read(c, buf, sizeof buf, deadline, &got);
        if (rc == MPROC_ECLOSED)
            return true;
        if (rc != 0)
            return true; /* a reset is a close too */
        if (got == 0)
            return false;
    }
}

/* Whatever the server says first, read for up to ms (it may say nothing). */
static size_t read_some(mpp_conn *c, uint8_t *buf, size_t cap, int64_t ms)
{
    size_t total = 0, got = 0;
    int64_t deadline = mpp_monotonic_ms() + ms;
    while (total < cap && mpp_conn_read(c, buf + total, cap - total, deadline, &got) == 0 &&
           got > 0) {
        total += got;
        deadline = mpp_monotonic_ms() + 200; /* then whatever follows at once */
    }
    return total;
}

/* A proper client still gets its work done. */
static void proper_client_works(const char *address, int64_t x)
{
    mproc_manager *c = connect_to(address);
    mproc_mdict *d;
    int64_t v = 0;
    assert_ok(mproc_manager_lookup_dict(c, "d", &d));
    assert_ok(mproc_mdict_set(d, MPROC_ARGS("x"), MPROC_ARGS(x)));
    assert_ok(mdict_get_int(d, MPROC_ARGS("x"), &v));
    assert_int_equal(v, x);
    mproc_proxy_destroy(d);
    mproc_manager_destroy(c);
}

static mproc__listener *fake_listener;
static void fake_server_says_garbage(void *arg)
{
    (void)arg;
    mpp_conn *c = NULL;
    thread_rc[0] = mproc__accept(fake_listener, 10000, &c);
    if (thread_rc[0] == 0) {
        uint8_t junk[64];
        for (int i = 0; i < 64; i++)
            junk[i] = (uint8_t)(i * 37 + 11);
        send_raw(c, junk, sizeof junk);
        read_some(c, junk, sizeof junk, 300);
        mpp_conn_close(c);
    }
}

static void garbage_client(void **state)
{
    (void)state;
    mproc_manager *s = serve_at("127.0.0.1:0");
    mproc_mdict *d;
    assert_ok(mproc_manager_dict(s, &d));
    assert_ok(mproc_manager_register(s, "d", d));
    char address[256];
    snprintf(address, sizeof address, "%s", mproc_manager_address(s));
    uint8_t buf[4096];
    uint32_t seed = 12345;
    for (size_t i = 0; i < sizeof buf; i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (uint8_t)(seed >> 16);
    }
    proper_client_works(address, 1);

    /* 1. random garbage: the server hangs up */
    mpp_conn *raw;
    assert_ok(mproc__connect(address, 5000, &raw));
    send_raw(raw, buf, sizeof buf);
    if (!closed_within(raw, 15000))
        fail_msg("%s", "the server kept a connection that sent 4 KiB of garbage open for 15 s");
    mpp_conn_close(raw);
    proper_client_works(address, 2);

    /* 2. a length prefix of 4 GiB: not allocated, not waited for while others work */
    static const uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
    assert_ok(mproc__connect(address, 5000, &raw));
    read_some(raw, buf + 2048, 512, 300);
    send_raw(raw, huge, 4);
    send_raw(raw, buf, 64);
    proper_client_works(address, 3); /* while that one is open */
    if (!closed_within(raw, 15000))
        fail_msg("%s", "the server kept a connection that sent a 4 GiB length open for 15 s");
    mpp_conn_close(raw);
    proper_client_works(address, 4);

    /* 3. a truncated frame, then gone */
    static const uint8_t hundred[4] = {100, 0, 0, 0};
    assert_ok(mproc__connect(address, 5000, &raw));
    send_raw(raw, hundred, 4);
    send_raw(raw, buf, 10);
    mpp_conn_close(raw);
    proper_client_works(address, 5);

    /* 4. an answer of the right shape but wrong: read the challenge, answer with a
     * corrupted copy of it as if it were a digest */
    assert_ok(mproc__connect(address, 5000, &raw));
    uint8_t challenge[512];
    size_t n = read_some(raw, challenge, sizeof challenge, 2000);
    if (n > 0) {
        for (size_t i = n > 4 ? 4 : 0; i < n; i++)
            challenge[i] ^= 0x5a;
        send_raw(raw, challenge, n);
    } else {
        send_raw(raw, buf, 44);
    }
    if (!closed_within(raw, 15000))
        fail_msg("%s", "the server kept a connection that answered its challenge wrongly open");
    mpp_conn_close(raw);
    proper_client_works(address, 6);

    /* 5. many that connect and leave at once, and one that says nothing */
    mpp_conn *quiet;
    assert_ok(mproc__connect(address, 5000, &quiet));
    for (int i = 0; i < 50; i++) {
        assert_ok(mproc__connect(address, 5000, &raw));
        mpp_conn_close(raw);
    }
    proper_client_works(address, 7);
    mpp_conn_close(quiet);
    proper_client_works(address, 8);

    /* The other way round: a client of a server that is not one fails, in bounded time. */
    char fake[256];
    assert_ok(mproc__listen("127.0.0.1:0", &fake_listener, fake, sizeof fake));
    mproc_manager *c = NULL;
    int64_t t0 = harness_now_ms();
    int rc = mproc_manager_connect(&c, &(mproc_manager_opts){.address = fake,
                                                             .authkey = KEY_A,
                                                             .authkey_len = sizeof KEY_A - 1,
                                                             .timeout_ms = 500});
    int64_t took = harness_now_ms() - t0;
    if (rc != MPROC_ETIMEDOUT || took > 5000)
        fail_msg("connecting to a server that never answers: %s after %lld ms (wanted "
                 "MPROC_ETIMEDOUT after about 500 ms)",
                 mproc_errname(rc), (long long)took);
    assert_null(c);
    /* (that connection may still wait in the backlog: take it away) */
    mpp_conn *pending = NULL;
    if (mproc__accept(fake_listener, 200, &pending) == 0)
        mpp_conn_close(pending);
    harness_thread *t = harness_thread_start(fake_server_says_garbage, NULL);
    t0 = harness_now_ms();
    rc = mproc_manager_connect(&c, &(mproc_manager_opts){.address = fake,
                                                         .authkey = KEY_A,
                                                         .authkey_len = sizeof KEY_A - 1,
                                                         .timeout_ms = 5000});
    took = harness_now_ms() - t0;
    harness_thread_join(t);
    assert_int_equal(thread_rc[0], 0);
    if (rc >= 0 || rc == MPROC_ETIMEDOUT || took > 6000)
        fail_msg("connecting to a server that says garbage: %s after %lld ms", mproc_errname(rc),
                 (long long)took);
    assert_null(c);
    mproc__listener_close(fake_listener);
    /* nobody there any more */
    rc = mproc_manager_connect(&c, &(mproc_manager_opts){.address = fake,
                                                         .authkey = KEY_A,
                                                         .authkey_len = sizeof KEY_A - 1,
                                                         .timeout_ms = 5000});
    assert_int_equal(rc, MPROC_ECLOSED);

    mproc_proxy_destroy(d);
    mproc_manager_destroy(s);
}

/* Reads one frame (u32 little-endian length, then the body) into buf; its length, or -1. */
static long read_frame(mpp_conn *c, uint8_t *buf, size_t cap)
{
    int64_t deadline = mpp_monotonic_ms() + 10000;
    size_t want = 4, have = 0;
    bool head = true;
    while (have < want) {
        size_t got = 0;
        if (mpp_conn_read(c, buf + have, want - have, deadline, &got) != 0 || got == 0)
            return -1;
        have += got;
        if (head && have == 4) {
            want = 4 + (size_t)mproc__get_u32le(buf);
            head = false;
            if (want > cap)
                return -1;
        }
    }
    return (long)(want - 4);
}

/* Frames as an x86_64 host writes them (doc/manager-protocol.md; the packs by MPROC_PACK),
 * checked in as bytes: a server on any byte order reads them and answers with the very
 * bytes an x86_64 server sends. LOOKUP "d": object 0, op 3, timeout 5000, thread 1, STR. */
static const uint8_t lookup_frame[] = {
    47,   0,    0,    0,    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x88, 0x13, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, 0x00};
/* status 0, id 1, kind 1 (dict), flags 0 */
static const uint8_t lookup_answer[] = {36,   0,    0,    0,    0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
                                        0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
                                        0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
/* GET on object 1 (op 21) of the key that is the pack of STR "k" */
static const uint8_t get_frame[] = {
    56,   0,    0,    0,    0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x15,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x88, 0x13, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0b, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x6b, 0x00};
/* status 0, the value: BYTES holding the pack of I64 7 */
static const uint8_t get_answer[] = {
    27,   0,    0,    0,    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x09, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

static void frames_written_on_x86_64(void **state)
{
    (void)state;
    mproc_manager *s = serve_at("127.0.0.1:0");
    mproc_mdict *d;
    assert_ok(mproc_manager_dict(s, &d));
    assert_ok(mproc_manager_register(s, "d", d));
    assert_ok(mproc_mdict_set(d, MPROC_ARGS("k"), MPROC_ARGS((int64_t)7)));
    mpp_conn *raw;
    assert_ok(mproc__connect(mproc_manager_address(s), 5000, &raw));

    /* The hello: "MPROCMGR", version 2 as a u32, max_message as a u64, the nonce. */
    uint8_t frame[256];
    assert_int_equal(read_frame(raw, frame, sizeof frame), 52);
    static const uint8_t hello_head[] = {52,  0,   0,   0,   'M', 'P', 'R', 'O',
                                         'C', 'M', 'G', 'R', 2,   0,   0,   0};
    assert_memory_equal(frame, hello_head, sizeof hello_head);
    uint64_t max = mproc__get_u64le(frame + 16);
    assert_true(max >= 4096 && max < ((uint64_t)1 << 40)); /* read the other way: > 2^56 */
    /* The answer: the MAC of the server's nonce, our nonce, our token as a u64. */
    uint8_t answer[4 + 72] = {72, 0, 0, 0};
    mproc__hmac_sha256_2(KEY_A, sizeof KEY_A - 1, "mproc-client", 12, frame + 24, 32, answer + 4);
    for (int i = 0; i < 32; i++)
        answer[36 + i] = (uint8_t)(i * 7 + 1);
    static const uint8_t token[8] = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
    memcpy(answer + 68, token, 8);
    send_raw(raw, answer, sizeof answer);
    uint8_t server_mac[32];
    mproc__hmac_sha256_2(KEY_A, sizeof KEY_A - 1, "mproc-server", 12, answer + 36, 32, server_mac);
    assert_int_equal(read_frame(raw, frame, sizeof frame), 32);
    assert_memory_equal(frame + 4, server_mac, 32);

    send_raw(raw, lookup_frame, sizeof lookup_frame);
    assert_int_equal(read_frame(raw, frame, sizeof frame), (long)sizeof lookup_answer - 4);
    assert_memory_equal(frame, lookup_answer, sizeof lookup_answer);
    send_raw(raw, get_frame, sizeof get_frame);
    assert_int_equal(read_frame(raw, frame, sizeof frame), (long)sizeof get_answer - 4);
    assert_memory_equal(frame, get_answer, sizeof get_answer);

    mpp_conn_close(raw);
    mproc_proxy_destroy(d);
    mproc_manager_destroy(s);
}

/* Logs a raw connection in with KEY_A as frames_written_on_x86_64 does. */
static void raw_login(mpp_conn *raw)
{
    uint8_t frame[256];
    assert_int_equal(read_frame(raw, frame, sizeof frame), 52);
    uint8_t answer[4 + 72] = {72, 0, 0, 0};
    mproc__hmac_sha256_2(KEY_A, sizeof KEY_A - 1, "mproc-client", 12, frame + 24, 32, answer + 4);
    for (int i = 0; i < 40; i++)
        answer[36 + i] = (uint8_t)(i * 5 + 3);
    send_raw(raw, answer, sizeof answer);
    assert_int_equal(read_frame(raw, frame, sizeof frame), 32);
}

/* Sends SHUTDOWN (op 4) naming object id; returns the status the server answers. */
static int64_t raw_shutdown(mpp_conn *raw, uint64_t id)
{
    uint8_t req[4 + 36] = {36, 0, 0, 0};
    const uint64_t field[4] = {id, 4, 5000, 1};
    for (int i = 0; i < 4; i++) {
        req[4 + 9 * i] = 0x01;
        mproc__put_u64le(req + 5 + 9 * i, field[i]);
    }
    send_raw(raw, req, sizeof req);
    uint8_t frame[256];
    long n = read_frame(raw, frame, sizeof frame);
    if (n < 9 || frame[4] != 0x01)
        fail_msg("SHUTDOWN on object %llu: no status came back", (unsigned long long)id);
    return (int64_t)mproc__get_u64le(frame + 5);
}

/* Only object id 0, the server (doc/manager-protocol.md), may stop it: SHUTDOWN naming an
 * object or an id that names nothing is refused and the server goes on. */
static void shutdown_needs_server_id(void **state)
{
    (void)state;
    mproc_manager *s = serve_at("127.0.0.1:0");
    mproc_mdict *d;
    assert_ok(mproc_manager_dict(s, &d));
    assert_ok(mproc_manager_register(s, "d", d));
    mpp_conn *raw;
    assert_ok(mproc__connect(mproc_manager_address(s), 5000, &raw));
    raw_login(raw);
    int64_t rc = raw_shutdown(raw, 1);
    if (rc != MPROC_ETYPE)
        fail_msg("SHUTDOWN on a dict's id: %lld (wanted MPROC_ETYPE)", (long long)rc);
    rc = raw_shutdown(raw, 99);
    if (rc != MPROC_ENOENT)
        fail_msg("SHUTDOWN on id 99: %lld (wanted MPROC_ENOENT)", (long long)rc);
    /* still serving: the dict answers over the wire and locally */
    uint8_t frame[256];
    send_raw(raw, lookup_frame, sizeof lookup_frame);
    assert_int_equal(read_frame(raw, frame, sizeof frame), (long)sizeof lookup_answer - 4);
    assert_memory_equal(frame, lookup_answer, sizeof lookup_answer);
    mproc_manager *c = connect_to(mproc_manager_address(s));
    mproc_mdict *dc;
    assert_ok(mproc_manager_lookup_dict(c, "d", &dc));
    assert_ok(mproc_mdict_set(dc, MPROC_ARGS("k"), MPROC_ARGS((int64_t)1)));
    /* id 0 still stops it */
    assert_int_equal(raw_shutdown(raw, 0), 0);
    mpp_conn_close(raw);
    mproc_proxy_destroy(dc);
    mproc_manager_destroy(c);
    mproc_proxy_destroy(d);
    mproc_manager_destroy(s);
}

/* At the descriptor limit accept() fails (EMFILE) with the connection still waiting: the
 * acceptor backs off rather than retrying at once, and a client gets in once fds are free.
 * POSIX only (no RLIMIT_NOFILE on Windows); each case is its own process, so the limit is
 * lowered here and put back before the end. */
static void acceptor_at_fd_limit(void **state)
{
    (void)state;
#ifdef _WIN32
    skip();
#else
    mproc_manager *s = serve_at("127.0.0.1:0");
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = 64;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    enum { NFD = 64 };
    int fds[NFD], n = 0;
    while (n < NFD && (fds[n] = dup(0)) >= 0)
        n++;
    assert_true(n > 0 && n < NFD);
    close(fds[--n]); /* one for the client's end; the server's end cannot be had */
    mpp_conn *raw = NULL;
    assert_ok(mproc__connect(mproc_manager_address(s), 5000, &raw));
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    mpp_sleep_ms(1000);
    getrusage(RUSAGE_SELF, &r1);
    double cpu = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) +
                 (double)(r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
                 (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1e6 +
                 (double)(r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
    while (n > 0)
        close(fds[--n]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    print_message("CPU over 1 s at the descriptor limit: %.3f s\n", cpu);
    if (cpu > 0.3)
        fail_msg("the acceptor spun at EMFILE: %.3f s CPU in 1 s", cpu);
    raw_login(raw); /* the waiting connection is taken and logs in */
    mpp_conn_close(raw);
    mproc_manager *c = connect_to(mproc_manager_address(s));
    mproc_manager_destroy(c);
    mproc_manager_destroy(s);
#endif
}

/* A server on every interface says so: its address is 0.0.0.0 with the real port, and
 * clients still reach it there and at 127.0.0.1. */
static void wildcard_address_reported(void **state)
{
    (void)state;
    mproc_manager *s = serve_at("0.0.0.0:0");
    const char *a = mproc_manager_address(s);
    const char *colon = strrchr(a, ':');
    if (strncmp(a, "0.0.0.0:", 8) != 0 || !colon || atoi(colon + 1) <= 0)
        fail_msg("a server on 0.0.0.0:0 reports %s", a);
    char lo[64];
    snprintf(lo, sizeof lo, "127.0.0.1%s", colon);
    mproc_manager *c1 = connect_to(a), *c2 = connect_to(lo);
    mproc_mdict *d1, *d2;
    assert_ok(mproc_manager_dict(c1, &d1));
    assert_ok(mproc_manager_dict(c2, &d2));
    mproc_proxy_destroy(d1);
    mproc_proxy_destroy(d2);
    mproc_manager_destroy(c1);
    mproc_manager_destroy(c2);
    mproc_manager_destroy(s);
}

static void oversized_message(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof name, "local:mproc-test-%lld-big", (long long)mproc_getpid());
    mproc_manager *s;
    assert_ok(mproc_manager_serve(&s, &(mproc_manager_opts){.address = name,
                                                            .authkey = KEY_A,
                                                            .authkey_len = sizeof KEY_A - 1,
                                                            .max_message = 4096}));
    mproc_manager *c = connect_to(mproc_manager_address(s));
    size_t big = (size_t)1 << 20;
    uint8_t *blob = calloc(1, big);
    assert_non_null(blob);
    mproc_mdict *ds, *dc;
    mproc_mqueue *qc;
    mproc_mlist *lc;
    mproc_bytes b = {0};
    assert_ok(mproc_manager_dict(s, &ds));
    assert_ok(mproc_manager_register(s, "d", ds));
    assert_ok(mproc_manager_lookup_dict(c, "d", &dc));
    assert_ok(mproc_manager_queue(c, 0, &qc));
    assert_ok(mproc_manager_list(c, &lc));
    /* Through a client: refused, and the proxy goes on. */
    assert_rc(mproc_mdict_set(dc, P("big"), P(MPROC_BYTES(blob, big))), MPROC_ETOOBIG);
    assert_rc(mproc_mdict_set(dc, P(MPROC_BYTES(blob, big)), P("v")), MPROC_ETOOBIG);
    assert_ok(mproc_mdict_set(dc, MPROC_ARGS("small"), MPROC_ARGS("ok")));
    assert_ok(mproc_mdict_get(dc, MPROC_ARGS("small"), &b));
    check_value(&b, "a small value after a refused big one", "ok");
    assert_int_equal(mproc_mdict_contains(dc, MPROC_ARGS("big")), 0);
    assert_ok(mproc_mdict_set(dc, P("under"), P(MPROC_BYTES(blob, 3000)))); /* under the limit */
    assert_ok(mproc_mdict_get(dc, MPROC_ARGS("under"), &b));
    check_value(&b, "3000 bytes", MPROC_BYTES(blob, 3000));
    /* The serving process's own proxy may or may not go through the wire; either way it
     * refuses or stores whole, and goes on. */
    int rc = mproc_mdict_set(ds, P("big2"), P(MPROC_BYTES(blob, big)));
    if (rc != 0 && rc != MPROC_ETOOBIG)
        fail_msg("a 1 MiB set in the serving process: %s", mproc_errname(rc));
    assert_int_equal(mproc_mdict_contains(ds, MPROC_ARGS("big2")), rc == 0);
    assert_ok(mproc_mdict_get(ds, MPROC_ARGS("small"), &b));
    check_value(&b, "the serving process's proxy after a big set", "ok");
    assert_rc(mproc_mqueue_put(qc, blob, big, 1000), MPROC_ETOOBIG);
    assert_ok(mproc_mqueue_put(qc, "small", 5, 1000));
    assert_int_equal(qsize(qc), 1);
    assert_ok(mproc_mqueue_get(qc, 1000, &b));
    check_text(&b, "small", "the queue after a refused put");
    /* a batch that grows too big as a whole */
    assert_ok(mproc_batch_begin(lc));
    for (int i = 0; i < 100; i++)
        assert_ok(mproc_mlist_append(lc, P(MPROC_BYTES(blob, 100))));
    assert_rc(mproc_batch_end(10000, NULL, 0), MPROC_ETOOBIG);
    assert_ok(mproc_mlist_append(lc, MPROC_ARGS("z")));
    int64_t len = list_len(lc);
    assert_true(len == 1 || len == 101); /* the batch went whole or not at all */
    free(blob);
    mproc_proxy_destroy(ds);
    mproc_proxy_destroy(dc);
    mproc_proxy_destroy(qc);
    mproc_proxy_destroy(lc);
    mproc_manager_destroy(c);
    mproc_manager_destroy(s);
}

static mproc_manager *served;
static void wait_served(void *arg)
{
    (void)arg;
    thread_rc[0] = mproc_manager_wait(served, 30000);
}

static void tcp_and_local_addresses(void **state)
{
    (void)state;
    char local[64];
    snprintf(local, sizeof local, "local:mproc-test-%lld", (long long)mproc_getpid());
    mproc_manager *sl = serve_at(local), *st = serve_at("127.0.0.1:0"), *dup = NULL;
    assert_string_equal(mproc_manager_address(sl), local);
    const char *tcp = mproc_manager_address(st);
    assert_non_null(tcp);
    assert_true(strncmp(tcp, "127.0.0.1:", 10) == 0);
    long port = strtol(tcp + 10, NULL, 10);
    assert_true(port > 0 && port < 65536);
    assert_int_equal(mproc_manager_pid(sl), 0);
    /* an address in use */
    assert_rc(mproc_manager_serve(&dup, &(mproc_manager_opts){.address = local,
                                                              .authkey = KEY_A,
                                                              .authkey_len = sizeof KEY_A - 1}),
              MPROC_EEXIST);
    assert_rc(mproc_manager_serve(&dup, &(mproc_manager_opts){.address = tcp,
                                                              .authkey = KEY_A,
                                                              .authkey_len = sizeof KEY_A - 1}),
              MPROC_EEXIST);

    mproc_manager *cl = connect_to(local), *ct = connect_to(tcp);
    assert_int_equal(mproc_manager_pid(cl), 0);
    assert_rc(mproc_manager_wait(cl, 0), MPROC_ESTATE);
    mproc_mdict *d1, *d2, *d3;
    int64_t v = 0;
    assert_ok(mproc_manager_dict(sl, &d1));
    assert_ok(mproc_manager_register(sl, "shared", d1));
    assert_ok(mproc_manager_lookup_dict(cl, "shared", &d2));
    assert_ok(mproc_mdict_set(d2, MPROC_ARGS("via"), MPROC_ARGS(1)));
    assert_ok(mdict_get_int(d1, MPROC_ARGS("via"), &v));
    assert_int_equal(v, 1);
    assert_rc(mproc_manager_lookup_dict(ct, "shared", &d3), MPROC_ENOENT); /* another server */
    assert_ok(mproc_manager_dict(ct, &d3));
    assert_ok(mproc_mdict_set(d3, MPROC_ARGS("tcp"), MPROC_ARGS(2)));
    assert_ok(mdict_get_int(d3, MPROC_ARGS("tcp"), &v));
    assert_int_equal(v, 2);
    /* a client's proxy outlives the client's manager handle */
    mproc_manager_destroy(cl);
    assert_ok(mproc_mdict_set(d2, MPROC_ARGS("after"), MPROC_ARGS(3)));
    assert_ok(mdict_get_int(d1, MPROC_ARGS("after"), &v));
    assert_int_equal(v, 3);

    /* ":port" is loopback */
    mproc_manager *sp = serve_at(":0");
    const char *colon = strrchr(mproc_manager_address(sp), ':');
    assert_non_null(colon);
    assert_true(strtol(colon + 1, NULL, 10) > 0);
    mproc_manager *cp = connect_to(mproc_manager_address(sp));
    mproc_manager_destroy(cp);
    mproc_manager_destroy(sp);

    /* serve_forever ends when a client asks it to stop */
    served = st;
    assert_rc(mproc_manager_wait(st, 50), MPROC_ETIMEDOUT);
    harness_thread *t = harness_thread_start(wait_served, NULL);
    assert_ok(mproc_manager_shutdown(ct, 10000));
    harness_thread_join(t);
    assert_int_equal(thread_rc[0], 0);
    assert_ok(mproc_manager_wait(st, 0));
    assert_closed_fast(mdict_get_int(d3, MPROC_ARGS("tcp"), &v));
    char gone[256];
    snprintf(gone, sizeof gone, "%s", tcp);
    mproc_manager_destroy(ct);
    mproc_manager_destroy(st);
    mproc_manager *c = NULL;
    assert_rc(mproc_manager_connect(&c, &(mproc_manager_opts){.address = gone,
                                                              .authkey = KEY_A,
                                                              .authkey_len = sizeof KEY_A - 1}),
              MPROC_ECLOSED);

    /* stopping here: the local one */
    assert_ok(mproc_manager_shutdown(sl, 10000));
    assert_ok(mproc_manager_wait(sl, 1000));
    assert_closed_fast(mdict_get_int(d2, MPROC_ARGS("via"), &v));
    mproc_manager_destroy(sl);
    assert_rc(mproc_manager_connect(&c, &(mproc_manager_opts){.address = local,
                                                              .authkey = KEY_A,
                                                              .authkey_len = sizeof KEY_A - 1}),
              MPROC_ECLOSED);
    mproc_proxy_destroy(d1);
    mproc_proxy_destroy(d2);
    mproc_proxy_destroy(d3);
}

/* ---- under every start method ------------------------------------------------------------------------------ */

static void start_and_shutdown(mproc_start_method method)
{
    mproc_manager *m;
    if (!start_under(method, &m))
        return;
    int64_t pid = mproc_manager_pid(m);
    assert_true(pid > 0);
    assert_true(pid != mproc_getpid());
    assert_true(harness_pid_alive(pid));
    assert_non_null(mproc_manager_address(m));

    mproc_mdict *d;
    mproc_mlist *l;
    mproc_mns *ns;
    mproc_mqueue *q, *jq;
    mproc_mlock *lock, *rlock;
    mproc_msem *sem, *bsem;
    mproc_mevent *ev;
    mproc_mcond *cond;
    mproc_mbarrier *bar;
    mproc_mvalue *val;
    mproc_marray *arr;
    int64_t x = 0;
    assert_ok(mproc_manager_dict(m, &d));
    assert_ok(mproc_manager_list(m, &l));
    assert_ok(mproc_manager_namespace(m, &ns));
    assert_ok(mproc_manager_queue(m, 0, &q));
    assert_ok(mproc_manager_joinable_queue(m, 0, &jq));
    assert_ok(mproc_manager_lock(m, &lock));
    assert_ok(mproc_manager_rlock(m, &rlock));
    assert_ok(mproc_manager_semaphore(m, 1, &sem));
    assert_ok(mproc_manager_bounded_semaphore(m, 1, &bsem));
    assert_ok(mproc_manager_event(m, &ev));
    assert_ok(mproc_manager_condition(m, lock, &cond));
    assert_ok(mproc_manager_barrier(m, 1, &bar));
    assert_ok(mproc_manager_value(m, MPROC_T_INT, &val));
    assert_ok(mproc_manager_array(m, MPROC_T_DOUBLE, 2, &arr));
    assert_ok(mproc_mdict_set(d, MPROC_ARGS("k"), MPROC_ARGS(1)));
    assert_ok(mproc_mlist_append(l, MPROC_ARGS("a")));
    assert_ok(mproc_mns_set(ns, "f", MPROC_ARGS(2)));
    assert_ok(mproc_mqueue_put(q, "m", 1, 0));
    assert_ok(mproc_mqueue_put(jq, "m", 1, 0));
    assert_ok(mproc_mlock_acquire(lock, 0));
    assert_ok(mproc_mcond_notify_all(cond));
    assert_ok(mproc_mlock_release(lock));
    assert_ok(mproc_mlock_acquire(rlock, 0));
    assert_ok(mproc_msem_acquire(sem, 0));
    assert_ok(mproc_msem_acquire(bsem, 0));
    assert_ok(mproc_mevent_set(ev));
    assert_int_equal(mproc_mbarrier_wait(bar, 1000), 0); /* one party: passes at once */
    assert_ok(mproc_mvalue_add_i64(val, 3, &x));
    assert_int_equal(x, 3);
    assert_ok(mproc_marray_set_f64(arr, 1, 0.25));

    assert_ok(mproc_manager_shutdown(m, 10000));
    if (!harness_wait_pid_gone(pid, 10000))
        fail_msg("the server (pid %lld) still runs after shutdown", (long long)pid);
    assert_closed_fast(mdict_get_int(d, MPROC_ARGS("k"), &x));
    assert_closed_fast(mproc_mlist_len(l, &ignored));
    assert_closed_fast(mns_get_int(ns, "f", &x));
    assert_closed_fast(mproc_mqueue_qsize(q, &ignored));
    assert_closed_fast(mproc_mqueue_join(jq, 1000));
    assert_closed_fast(mproc_mlock_release(rlock));
    assert_closed_fast(mproc_msem_release(sem));
    assert_closed_fast(mproc_mevent_is_set(ev));
    assert_closed_fast(mproc_mcond_acquire(cond, 1000));
    assert_closed_fast(mproc_mbarrier_parties(bar, &ignored));
    assert_closed_fast(mproc_mvalue_get_i64(val, &x));
    assert_closed_fast(mproc_marray_len(arr, &ignored));
    mproc_proxy_destroy(d);
    mproc_proxy_destroy(l);
    mproc_proxy_destroy(ns);
    mproc_proxy_destroy(q);
    mproc_proxy_destroy(jq);
    mproc_proxy_destroy(lock);
    mproc_proxy_destroy(rlock);
    mproc_proxy_destroy(sem);
    mproc_proxy_destroy(bsem);
    mproc_proxy_destroy(ev);
    mproc_proxy_destroy(cond);
    mproc_proxy_destroy(bar);
    mproc_proxy_destroy(val);
    mproc_proxy_destroy(arr);
    mproc_manager_destroy(m);

    /* destroy alone shuts the server down too (with Manager() as m) */
    assert_true(start_under(method, &m));
    pid = mproc_manager_pid(m);
    assert_ok(mproc_manager_dict(m, &d));
    assert_ok(mproc_mdict_set(d, MPROC_ARGS("k"), MPROC_ARGS("v")));
    mproc_manager_destroy(m);
    if (!harness_wait_pid_gone(pid, 10000))
        fail_msg("the server (pid %lld) still runs after destroy", (long long)pid);
    assert_closed_fast(mproc_mdict_len(d, &ignored));
    mproc_proxy_destroy(d);

    /* a started server on TCP with a key of ours: a client connects with it */
    mproc_context *ctx;
    assert_ok(mproc_context_get(&ctx, method));
    assert_ok(mproc_manager_start(&m, &(mproc_manager_opts){.ctx = ctx,
                                                            .address = "127.0.0.1:0",
                                                            .authkey = KEY_A,
                                                            .authkey_len = sizeof KEY_A - 1}));
    const char *address = mproc_manager_address(m);
    assert_true(strncmp(address, "127.0.0.1:", 10) == 0 && strcmp(address, "127.0.0.1:0") != 0);
    mproc_manager *c = connect_to(address);
    assert_ok(mproc_manager_dict(c, &d));
    assert_ok(mproc_mdict_set(d, MPROC_ARGS("k"), MPROC_ARGS("v")));
    mproc_proxy_destroy(d);
    mproc_manager_destroy(c);
    mproc_manager_destroy(m);
}

/* The seed: d["year"] += 1 in five processes, under a manager Lock, then with add_i64. */
static void dict_counter_five_processes(mproc_start_method method)
{
    enum { KIDS = 5, ROUNDS = 100 };
    mproc_manager *m;
    if (!start_under(method, &m))
        return;
    mproc_mdict *d;
    mproc_mlock *lock;
    assert_ok(mproc_manager_dict(m, &d));
    assert_ok(mproc_manager_lock(m, &lock));
    assert_ok(mproc_mdict_set(d, MPROC_ARGS("year"), MPROC_ARGS(2000)));
    assert_ok(mproc_mdict_set(d, MPROC_ARGS("atomic"), MPROC_ARGS(2000)));
    mproc_pack *args = new_pack();
    assert_ok(mproc_pack_handle(args, d));
    assert_ok(mproc_pack_handle(args, lock));
    assert_ok(mproc_pack_i64(args, ROUNDS));
    mproc_process *kids[KIDS];
    for (int i = 0; i < KIDS; i++)
        assert_non_null(kids[i] = harness_start(method, "count_year", args));
    mproc_pack_destroy(args);
    for (int i = 0; i < KIDS; i++) {
        int code = harness_join_code(kids[i]);
        if (code != 0)
            fail_msg("child %d ended with %d", i, code);
    }
    int64_t year = 0, atomic = 0;
    assert_ok(mdict_get_int(d, MPROC_ARGS("year"), &year));
    assert_ok(mdict_get_int(d, MPROC_ARGS("atomic"), &atomic));
    assert_int_equal(year, 2000 + KIDS * ROUNDS);
    assert_int_equal(atomic, 2000 + KIDS * ROUNDS);
    assert_ok(mproc_mlock_acquire(lock, 0)); /* nobody kept it */
    assert_ok(mproc_mlock_release(lock));
    mproc_proxy_destroy(d);
    mproc_proxy_destroy(lock);
    mproc_manager_destroy(m);
}

static void proxies_in_pool_tasks(mproc_start_method method)
{
    enum { A = 12, M = 10 };
    mproc_context *ctx;
    if (!method_ctx(method, &ctx))
        return;
    mproc_manager *m;
    mproc_mdict *d;
    mproc_mlist *l;
    mproc_mqueue *q;
    assert_ok(mproc_manager_start(&m, &(mproc_manager_opts){.ctx = ctx}));
    assert_ok(mproc_manager_dict(m, &d));
    assert_ok(mproc_manager_list(m, &l));
    assert_ok(mproc_manager_queue(m, 0, &q));
    mproc_pool *pool;
    mproc_pack *initargs = new_pack();
    assert_ok(mproc_pack_handle(initargs, d));
    assert_ok(mproc_pool_create(
        &pool, &(mproc_pool_opts){
                   .processes = 3, .ctx = ctx, .initializer = "count_init", .initargs = initargs}));
    mproc_pack_destroy(initargs);

    int64_t want_sum = 0;
    mproc_async *calls[A];
    for (int i = 0; i < A; i++) {
        mproc_pack *args = new_pack();
        assert_ok(mproc_pack_handle(args, d));
        assert_ok(mproc_pack_handle(args, l));
        assert_ok(mproc_pack_handle(args, q));
        assert_ok(mproc_pack_i64(args, i));
        want_sum += i;
        assert_ok(mproc_pool_apply_async(pool, "pool_writer", args, NULL, &calls[i]));
        mproc_pack_destroy(args);
    }
    for (int i = 0; i < A; i++) {
        mproc_bytes r = {0};
        int rc = mproc_async_get(calls[i], WAIT_MS, &r);
        if (rc != 0)
            fail_msg("apply_async %d: %s: %s", i, mproc_errname(rc),
                     r.data ? (const char *)r.data : "");
        assert_int_equal(r.len, 9); /* one I64 field: its tag and 8 bytes */
        assert_int_equal(as_i64(&r), i);
        mproc_bytes_free(&r);
        mproc_async_destroy(calls[i]);
    }
    /* map: each item a tuple holding the proxies */
    mproc_pack *items = new_pack();
    for (int i = 0; i < M; i++) {
        mproc_pack *t = new_pack();
        assert_ok(mproc_pack_handle(t, d));
        assert_ok(mproc_pack_handle(t, l));
        assert_ok(mproc_pack_handle(t, q));
        assert_ok(mproc_pack_i64(t, 100 + i));
        want_sum += 100 + i;
        assert_ok(mproc_pack_pack(items, t));
        mproc_pack_destroy(t);
    }
    mproc_bytes results[M];
    memset(results, 0, sizeof results);
    int rc = mproc_pool_map(pool, "pool_writer", items, 2, WAIT_MS, results, M);
    if (rc != 0)
        fail_msg("map: %s: %s", mproc_errname(rc),
                 results[0].data ? (const char *)results[0].data : "");
    for (int i = 0; i < M; i++)
        assert_int_equal(as_i64(&results[i]), 100 + i);
    mproc_bytes_free_array(results, M);
    mproc_pack_destroy(items);
    assert_ok(mproc_pool_close(pool));
    assert_ok(mproc_pool_join(pool, WAIT_MS));
    mproc_pool_destroy(pool);

    /* the parent sees every write, the initializers' too */
    int64_t inits = 0;
    assert_ok(mdict_get_int(d, MPROC_ARGS("inits"), &inits));
    assert_int_equal(inits, 3); /* one per worker; none was replaced */
    assert_ok(mproc_mdict_del(d, MPROC_ARGS("inits")));
    assert_int_equal(dict_len(d), A + M);
    for (int i = 0; i < A + M; i++) {
        int64_t x = i < A ? i : 100 + (i - A), v = -1;
        char key[32];
        snprintf(key, sizeof key, "k%lld", (long long)x);
        assert_ok(mdict_get_int(d, MPROC_ARGS(key), &v));
        assert_int_equal(v, x);
    }
    assert_int_equal(list_len(l), A + M);
    int64_t sum = 0;
    for (int i = 0; i < A + M; i++) {
        mproc_bytes b = {0};
        int64_t x = 0;
        assert_ok(mproc_mlist_get(l, i, &b));
        assert_ok(MPROC_UNPACK(&b, &x));
        sum += x;
        mproc_bytes_free(&b);
    }
    assert_int_equal(sum, want_sum);
    assert_int_equal(qsize(q), A + M);
    sum = 0;
    for (int i = 0; i < A + M; i++) {
        mproc_bytes b = {0};
        int64_t x = 0;
        assert_ok(mproc_mqueue_get(q, 1000, &b));
        assert_ok(MPROC_UNPACK(&b, &x));
        sum += x;
        mproc_bytes_free(&b);
    }
    assert_int_equal(sum, want_sum);
    mproc_proxy_destroy(d);
    mproc_proxy_destroy(l);
    mproc_proxy_destroy(q);
    mproc_manager_destroy(m);
}

/* CPython gh-99595 / gh-101320: a proxy that a child passes on to its own child. */
static void proxy_handed_on_by_child(mproc_start_method method)
{
    mproc_manager *m;
    if (!start_under(method, &m))
        return;
    mproc_mdict *d;
    assert_ok(mproc_manager_dict(m, &d));
    mproc_pack *args = new_pack();
    assert_ok(mproc_pack_handle(args, d));
    assert_ok(mproc_pack_i64(args, method));
    mproc_proxy_destroy(d); /* the parent's proxy goes first; the object stays */
    mproc_process *p = harness_start(method, "hand_on", args);
    int code = harness_join_code(p);
    if (code != 0)
        fail_msg("the child ended with %d", code);
    /* a new proxy from the same pack's bytes */
    mproc_bytes view;
    mproc_unpacker u;
    assert_ok(mproc_pack_view(args, &view));
    assert_ok(mproc_unpack_init(&u, &view));
    assert_ok(mproc_unpack_mdict(&u, &d));
    int64_t child = 0, grandchild = 0, hops = 0;
    assert_ok(mdict_get_int(d, MPROC_ARGS("child"), &child));
    assert_ok(mdict_get_int(d, MPROC_ARGS("grandchild"), &grandchild));
    assert_ok(mdict_get_int(d, MPROC_ARGS("hops"), &hops));
    assert_true(child > 0 && grandchild > 0 && child != grandchild);
    assert_true(child != mproc_getpid() && grandchild != mproc_getpid());
    assert_int_equal(hops, 2);
    /* the pack's bytes alone, sent as plain bytes: the proxy works where they arrive */
    mproc_pack *inner = new_pack(), *outer = new_pack();
    assert_ok(mproc_pack_handle(inner, d));
    assert_ok(mproc_pack_view(inner, &view));
    assert_ok(mproc_pack_bytes(outer, view.data, view.len));
    mproc_pack_destroy(inner);
    p = harness_start(method, "proxy_from_bytes", outer);
    mproc_pack_destroy(outer);
    code = harness_join_code(p);
    if (code != 0)
        fail_msg("the child given the bytes ended with %d", code);
    int64_t v = 0;
    assert_ok(mdict_get_int(d, MPROC_ARGS("from bytes"), &v));
    assert_int_equal(v, 1);
    mproc_pack_destroy(args);
    mproc_proxy_destroy(d);
    mproc_manager_destroy(m);
}

static void queue_between_processes(mproc_start_method method)
{
    enum { COUNT = 1000 };
    mproc_manager *m;
    if (!start_under(method, &m))
        return;
    mproc_mqueue *q;
    assert_ok(mproc_manager_queue(m, 16, &q)); /* bounded: the producer waits at times */
    mproc_pack *args = new_pack();
    assert_ok(mproc_pack_handle(args, q));
    assert_ok(mproc_pack_i64(args, COUNT));
    mproc_process *consumer = harness_start(method, "consume_messages", args);
    mproc_process *producer = harness_start(method, "produce_messages", args);
    mproc_pack_destroy(args);
    int pc = harness_join_code(producer);
    int cc = harness_join_code(consumer);
    if (pc != 0 || cc != 0)
        fail_msg("producer ended with %d, consumer with %d", pc, cc);
    assert_int_equal(qsize(q), 0);
    mproc_proxy_destroy(q);
    mproc_manager_destroy(m);
}

static void lock_owner_killed(mproc_start_method method)
{
    mproc_manager *m;
    if (!start_under(method, &m))
        return;
    mproc_mlock *lock;
    mproc_event *held;
    assert_ok(mproc_manager_lock(m, &lock));
    assert_ok(mproc_event_create(&held));
    mproc_pack *args = new_pack();
    assert_ok(mproc_pack_handle(args, lock));
    assert_ok(mproc_pack_handle(args, held));
    mproc_process *p = harness_start(method, "hold_mlock_until_killed", args);
    mproc_pack_destroy(args);
    assert_ok(mproc_event_wait(held, WAIT_MS));
    assert_rc(mproc_mlock_acquire(lock, 0), MPROC_ETIMEDOUT);
    assert_rc(mproc_mlock_acquire(lock, 100), MPROC_ETIMEDOUT);
    assert_ok(mproc_process_kill(p));
    /* Not joined yet: the dead child may linger unreaped; it holds nothing all the same. */
    int64_t t0 = harness_now_ms();
    assert_rc(mproc_mlock_acquire(lock, 5000), MPROC_EOWNERDEAD);
    assert_true(harness_now_ms() - t0 < 5500);
    /* and now it is ours */
    assert_rc(mproc_mlock_acquire(lock, 0), MPROC_ETIMEDOUT);
    assert_ok(mproc_mlock_release(lock));
    assert_rc(mproc_mlock_release(lock), MPROC_ESTATE);
    assert_ok(mproc_mlock_acquire(lock, 0)); /* a plain acquire again */
    assert_ok(mproc_mlock_release(lock));
    assert_int_equal(harness_join_code(p), -9);
    mproc_event_destroy(held);
    mproc_proxy_destroy(lock);
    mproc_manager_destroy(m);
}

static void killed_server(mproc_start_method method)
{
    mproc_manager *m;
    if (!start_under(method, &m))
        return;
    int64_t pid = mproc_manager_pid(m);
    assert_true(pid > 0);
    mproc_mdict *d;
    mproc_mlist *l;
    mproc_mqueue *q;
    mproc_mlock *lock;
    mproc_mevent *ev;
    mproc_msem *sem;
    mproc_mbarrier *bar;
    mproc_event *ready;
    mproc_bytes b = {0};
    int64_t x = 0;
    assert_ok(mproc_manager_dict(m, &d));
    assert_ok(mproc_manager_list(m, &l));
    assert_ok(mproc_manager_queue(m, 0, &q));
    assert_ok(mproc_manager_lock(m, &lock));
    assert_ok(mproc_manager_event(m, &ev));
    assert_ok(mproc_manager_semaphore(m, 0, &sem));
    assert_ok(mproc_manager_barrier(m, 2, &bar));
    assert_ok(mproc_mdict_set(d, MPROC_ARGS("k"), MPROC_ARGS(1)));
    assert_ok(mproc_mlock_acquire(lock, 0));
    assert_ok(mproc_event_create(&ready));
    mproc_pack *args = new_pack();
    assert_ok(mproc_pack_handle(args, q));
    assert_ok(mproc_pack_handle(args, ready));
    mproc_process *p = harness_start(method, "get_forever", args);
    mproc_pack_destroy(args);
    assert_ok(mproc_event_wait(ready, WAIT_MS));
    harness_sleep_ms(300); /* most likely blocked in get by now; correct either way */

    harness_kill_pid(pid);
    assert_true(harness_wait_pid_gone(pid, 10000));
    assert_closed_fast(mdict_get_int(d, MPROC_ARGS("k"), &x));
    assert_closed_fast(mproc_mdict_set(d, MPROC_ARGS("k"), MPROC_ARGS(2)));
    assert_closed_fast(mproc_mlist_append(l, MPROC_ARGS("x")));
    assert_closed_fast(mproc_mqueue_put(q, "x", 1, 1000));
    assert_closed_fast(mproc_mqueue_get(q, 1000, &b));
    assert_closed_fast(mproc_mlock_release(lock));
    assert_closed_fast(mproc_mlock_acquire(lock, MPROC_FOREVER));
    assert_closed_fast(mproc_mevent_wait(ev, MPROC_FOREVER));
    assert_closed_fast(mproc_msem_acquire(sem, 1000));
    assert_closed_fast(mproc_mbarrier_wait(bar, 1000));
    mproc_mdict *d2 = NULL;
    assert_closed_fast(mproc_manager_dict(m, &d2));
    assert_null(d2);
    assert_closed_fast(mproc_mdict_len(d, &ignored)); /* and again: no hang on a second try */

    /* the child blocked in get(FOREVER) ends with MPROC_ECLOSED */
    int rc = mproc_process_join(p, 30000);
    if (rc != 0)
        fail_msg("the child blocked in get(FOREVER) did not end within 30 s of the server's "
                 "death (%s)",
                 mproc_errname(rc));
    int code = harness_join_code(p);
    if (code != 0)
        fail_msg("the child's get ended with %s (exit code %d), wanted MPROC_ECLOSED",
                 code >= 30 ? mproc_errname(30 - code) : "?", code);

    int64_t t0 = harness_now_ms();
    mproc_manager_destroy(m);
    int64_t took = harness_now_ms() - t0;
    if (took > 15000)
        fail_msg("destroying the manager of a killed server took %lld ms", (long long)took);
    mproc_proxy_destroy(d);
    mproc_proxy_destroy(l);
    mproc_proxy_destroy(q);
    mproc_proxy_destroy(lock);
    mproc_proxy_destroy(ev);
    mproc_proxy_destroy(sem);
    mproc_proxy_destroy(bar);
    mproc_event_destroy(ready);
}

/* Threads of one process share proxies: atomic adds and lock-protected updates stay exact. */
enum { THREADS = 8, ADDS = 200, LOCKED = 50 };
static mproc_mdict *shared_dict;
static int thread_errors[THREADS];
static void hammer(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (int i = 0; i < ADDS; i++)
        if (mproc_mdict_add_i64(shared_dict, MPROC_ARGS("n"), 1, NULL) != 0)
            thread_errors[me]++;
    for (int i = 0; i < LOCKED; i++) {
        int64_t v = 0;
        if (mproc_mlock_acquire(shared_lock, WAIT_MS) != 0) {
            thread_errors[me]++;
            continue;
        }
        if (mdict_get_int(shared_dict, MPROC_ARGS("m"), &v) != 0 ||
            mproc_mdict_set(shared_dict, MPROC_ARGS("m"), MPROC_ARGS(v + 1)) != 0)
            thread_errors[me]++;
        if (mproc_mlock_release(shared_lock) != 0)
            thread_errors[me]++;
    }
}

static void threads_share_proxies(void **state)
{
    (void)state;
    mproc_manager *m;
    assert_ok(mproc_manager_start(&m, NULL));
    assert_ok(mproc_manager_dict(m, &shared_dict));
    assert_ok(mproc_manager_lock(m, &shared_lock));
    assert_ok(mproc_mdict_set(shared_dict, MPROC_ARGS("m"), MPROC_ARGS(0)));
    harness_thread *t[THREADS];
    for (int i = 0; i < THREADS; i++)
        t[i] = harness_thread_start(hammer, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        harness_thread_join(t[i]);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(thread_errors[i], 0);
    int64_t n = 0, v = 0;
    assert_ok(mdict_get_int(shared_dict, MPROC_ARGS("n"), &n));
    assert_ok(mdict_get_int(shared_dict, MPROC_ARGS("m"), &v));
    assert_int_equal(n, THREADS * ADDS);
    assert_int_equal(v, THREADS * LOCKED);
    mproc_proxy_destroy(shared_dict);
    mproc_proxy_destroy(shared_lock);
    mproc_manager_destroy(m);
}

/* The holder of a lock is killed while the server holds one of its calls (a barrier wait,
 * which is sent whole): the lock is freed all the same. */
static void lock_owner_killed_in_barrier_wait(void **state)
{
    (void)state;
    mproc_manager *m;
    mproc_mlock *lock;
    mproc_mbarrier *b;
    mproc_event *held;
    assert_ok(mproc_manager_start(&m, NULL));
    assert_ok(mproc_manager_lock(m, &lock));
    assert_ok(mproc_manager_barrier(m, 2, &b));
    assert_ok(mproc_event_create(&held));
    mproc_pack *args = new_pack();
    assert_ok(mproc_pack_handle(args, lock));
    assert_ok(mproc_pack_handle(args, b));
    assert_ok(mproc_pack_handle(args, held));
    mproc_process *p = harness_start(mproc_get_start_method(), "hold_mlock_in_barrier", args);
    mproc_pack_destroy(args);
    assert_ok(mproc_event_wait(held, WAIT_MS));
    await_waiting(b, 1);
    assert_ok(mproc_process_kill(p));
    assert_int_equal(harness_join_code(p), -9);
    int64_t t0 = harness_now_ms();
    int rc = mproc_mlock_acquire(lock, 5000);
    if (rc != MPROC_EOWNERDEAD)
        fail_msg("acquire of a lock whose holder was killed during a barrier wait: %s after "
                 "%lld ms, wanted MPROC_EOWNERDEAD",
                 mproc_errname(rc), (long long)(harness_now_ms() - t0));
    assert_ok(mproc_mlock_release(lock));
    mproc_event_destroy(held);
    mproc_proxy_destroy(lock);
    mproc_proxy_destroy(b);
    mproc_manager_destroy(m);
}

/* The process that started a manager is killed: its server does not linger. */
static void starter_killed_server_ends(mproc_start_method method)
{
    mproc_context *ctx;
    if (!method_ctx(method, &ctx))
        return;
    char path[512];
    harness_temp_path(path, sizeof path, "server-pid");
    mproc_pack *args = new_pack();
    assert_ok(mproc_pack_i64(args, method));
    assert_ok(mproc_pack_str(args, path));
    mproc_process *p = harness_start(method, "start_manager_and_wait", args);
    mproc_pack_destroy(args);
    int64_t server = 0;
    bool got = harness_read_i64(path, &server, WAIT_MS);
    assert_ok(mproc_process_kill(p));
    int code = harness_join_code(p);
    remove(path);
    if (!got)
        fail_msg("the child did not report its server's pid (exit code %d)", code);
    assert_int_equal(code, -9);
    assert_true(server > 0);
    if (!harness_wait_pid_gone(server, 15000)) {
        harness_kill_pid(server);
        fail_msg("the server (pid %lld) of a killed starter still runs after 15 s",
                 (long long)server);
    }
}

/* A start that cannot succeed ends with an error, in bounded time, and leaves no process
 * (the harness checks): a server process that ends before it is ready, with the default
 * readiness wait (no bound); an address the server cannot serve on. */
static void start_fails_cleanly(mproc_start_method method)
{
    mproc_context *ctx;
    if (!method_ctx(method, &ctx))
        return;
    /* First, while no forkserver runs yet: one started now ends at once too (and the next
     * forkserver use starts another). A forked server ends after its start, before it
     * reports (MPROC_ECLOSED); one run from the executable ends before it could tell its
     * start that it runs (MPROC_ESPAWN). */
    mproc_manager *m = NULL;
    children_die_at_once(true);
    int64_t t0 = harness_now_ms();
    int rc = mproc_manager_start(&m, &(mproc_manager_opts){.ctx = ctx});
    int64_t took = harness_now_ms() - t0;
    children_die_at_once(false);
    if (method == MPROC_FORK ? rc != MPROC_ECLOSED : rc >= 0)
        fail_msg("start with a server that ends at once: %s, wanted %s", mproc_errname(rc),
                 method == MPROC_FORK ? "MPROC_ECLOSED" : "a failure");
    if (took > 20000)
        fail_msg("start with a server that ends at once took %lld ms", (long long)took);
    assert_null(m);

    assert_rc(mproc_manager_start(&m, &(mproc_manager_opts){.ctx = ctx, .address = "no port here"}),
              MPROC_EINVAL);
    assert_null(m);
    mproc_manager *s = serve_at("127.0.0.1:0");
    assert_rc(mproc_manager_start(
                  &m, &(mproc_manager_opts){.ctx = ctx, .address = mproc_manager_address(s)}),
              MPROC_EEXIST);
    assert_null(m);
    mproc_manager_destroy(s);
}

/* A manager served here stops while this process has children (started after it began
 * serving): its clients learn it at once, whatever the children inherited. */
static void served_manager_with_children(mproc_start_method method)
{
    mproc_context *ctx;
    if (!method_ctx(method, &ctx))
        return;
    mproc_manager *s = serve_at("127.0.0.1:0"), *c;
    char address[256];
    snprintf(address, sizeof address, "%s", mproc_manager_address(s));
    c = connect_to(address);
    mproc_mdict *d;
    int64_t v = 0;
    assert_ok(mproc_manager_dict(c, &d));
    assert_ok(mproc_mdict_set(d, MPROC_ARGS("k"), MPROC_ARGS(1)));
    mproc_event *go;
    assert_ok(mproc_event_create(&go));
    mproc_pack *args = new_pack();
    assert_ok(mproc_pack_handle(args, go));
    mproc_process *p = harness_start(method, "wait_for_event", args);
    mproc_pack_destroy(args);
    assert_ok(mdict_get_int(d, MPROC_ARGS("k"), &v)); /* the connection is in use */
    assert_ok(mproc_manager_shutdown(s, 10000));
    int64_t t0 = harness_now_ms();
    int rc = mdict_get_int(d, MPROC_ARGS("k"), &v);
    int64_t took = harness_now_ms() - t0;
    mproc_manager *again = NULL;
    int64_t t1 = harness_now_ms();
    int rc2 = mproc_manager_connect(&again, &(mproc_manager_opts){.address = address,
                                                                  .authkey = KEY_A,
                                                                  .authkey_len = sizeof KEY_A - 1,
                                                                  .timeout_ms = 3000});
    int64_t took2 = harness_now_ms() - t1;
    mproc_event_set(go);
    assert_int_equal(harness_join_code(p), 0);
    mproc_event_destroy(go);
    if (again)
        mproc_manager_destroy(again);
    mproc_proxy_destroy(d);
    mproc_manager_destroy(c);
    mproc_manager_destroy(s);
    if (rc != MPROC_ECLOSED || took > 5000 || rc2 != MPROC_ECLOSED || took2 > 5000)
        fail_msg("after the server stopped: a call gave %s after %lld ms, a connect %s after "
                 "%lld ms; wanted MPROC_ECLOSED at once for both",
                 mproc_errname(rc), (long long)took, mproc_errname(rc2), (long long)took2);
}

#define HARNESS_CASES "cases/manager.txt"
#include "harness_main.h"
