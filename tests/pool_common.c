/* What the pool and executor suites share (pool_common.h). */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif
#include "pool_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- kinds of pool ---------------------------------------------------------------------- */

const char *pool_kind_name(pool_kind kind)
{
    static const char *const names[] = {"processes", "fork", "spawn", "forkserver", "threads"};
    return names[kind];
}

mproc_start_method pool_kind_method(pool_kind kind)
{
    return kind == POOL_FORK         ? MPROC_FORK
           : kind == POOL_SPAWN      ? MPROC_SPAWN
           : kind == POOL_FORKSERVER ? MPROC_FORKSERVER
                                     : MPROC_METHOD_DEFAULT;
}

int pool_create(pool_kind kind, mproc_pool **pool, const mproc_pool_opts *opts)
{
    if (kind == POOL_THREADS)
        return mproc_threadpool_create(pool, opts);
    mproc_start_method method = pool_kind_method(kind);
    if (method == MPROC_METHOD_DEFAULT)
        return mproc_pool_create(pool, opts);
    mproc_pool_opts with_ctx = opts ? *opts : (mproc_pool_opts){0};
    int rc = mproc_context_get(&with_ctx.ctx, method);
    return rc ? rc : mproc_pool_create(pool, &with_ctx);
}

bool pool_under(mproc_pool **pool, pool_kind kind, mproc_pool_opts opts)
{
    mproc_start_method method = pool_kind_method(kind);
    if (method != MPROC_METHOD_DEFAULT && !mproc_start_method_available(method)) {
        mproc_context *ctx = NULL;
        assert_rc(mproc_context_get(&ctx, method), MPROC_ENOTSUP);
        return false;
    }
    *pool = NULL;
    assert_ok(pool_create(kind, pool, &opts));
    assert_non_null(*pool);
    return true;
}

mproc_pool *new_pool(pool_kind kind, mproc_pool_opts opts)
{
    mproc_pool *pool = NULL;
    if (!pool_under(&pool, kind, opts))
        fail_msg("no %s pool here", pool_kind_name(kind));
    return pool;
}

/* Whether this run is under qemu-user (meson runs cross tests through its exe wrapper). */
static bool under_qemu_user(void)
{
    const char *wrapper = getenv("MESON_EXE_WRAPPER");
    return wrapper && strstr(wrapper, "qemu");
}

bool replaces_workers_under(pool_kind kind)
{
    if (kind == POOL_FORK && under_qemu_user()) {
        print_message("qemu-user cannot fork from a threaded process: case not run here\n");
        skip();
        return false;
    }
    return true;
}

void wait_workers(mproc_pool *pool, pool_kind kind, int want, int64_t gone)
{
    int64_t deadline = harness_now_ms() + WAIT_MS, self = mproc_getpid();
    int n = -1;
    int64_t pids[64];
    for (;;) {
        n = mproc_pool_workers(pool, pids, 64);
        bool ok = n == want;
        for (int i = 0; ok && i < n && i < 64; i++)
            ok = kind == POOL_THREADS
                     ? pids[i] == self
                     : pids[i] != gone && pids[i] > 0 && harness_pid_alive(pids[i]);
        if (ok)
            return;
        if (harness_now_ms() > deadline) {
            if (kind == POOL_THREADS)
                fail_msg("the thread pool lists %d workers (first %lld), wanted %d with pid "
                         "%lld",
                         n, n > 0 ? (long long)pids[0] : -1LL, want, (long long)self);
            fail_msg("the pool has %d live workers, wanted %d", n, want);
        }
        harness_sleep_ms(20);
    }
}

/* ---- gates ------------------------------------------------------------------------------ */

/* The in-memory gates: the slots are taken in turn, a few cases' worth. */
static struct {
    int open;    /* the test lets the tasks go */
    int entered; /* tasks that started waiting */
    int left;    /* tasks that are about to return */
} gates[8];
static int next_slot;

void gate_init(gate *g, pool_kind kind)
{
    memset(g, 0, sizeof *g);
    g->kind = kind;
    if (kind == POOL_THREADS) {
        g->slot = next_slot++ % (int)(sizeof gates / sizeof gates[0]);
        STORE(&gates[g->slot].open, 0);
        STORE(&gates[g->slot].entered, 0);
        STORE(&gates[g->slot].left, 0);
    } else {
        harness_temp_path(g->path, sizeof g->path, "gate");
    }
}

mproc_pack *gate_args(const gate *g, int64_t x)
{
    if (g->kind != POOL_THREADS)
        return pack_gate(g->path, x, NULL);
    return pack_two(g->slot, x);
}

mproc_pack *gate_items(const gate *g, int n)
{
    mproc_pack *items = new_pack();
    for (int i = 0; i < n; i++) {
        mproc_pack *t = gate_args(g, i);
        assert_ok(mproc_pack_pack(items, t));
        mproc_pack_destroy(t);
    }
    return items;
}

void gate_open(gate *g)
{
    if (g->kind == POOL_THREADS)
        STORE(&gates[g->slot].open, 1);
    else
        open_gate_file(g->path);
}

void gate_free(gate *g)
{
    if (g->kind != POOL_THREADS)
        remove(g->path);
}

int gate_entered(const gate *g)
{
    assert_int_equal(g->kind, POOL_THREADS);
    return LOAD(&gates[g->slot].entered);
}

int gate_left(const gate *g)
{
    assert_int_equal(g->kind, POOL_THREADS);
    return LOAD(&gates[g->slot].left);
}

void wait_entered(const gate *g, int want)
{
    int64_t deadline = harness_now_ms() + WAIT_MS;
    while (gate_entered(g) < want) {
        if (harness_now_ms() > deadline)
            fail_msg("%d tasks entered gate %d, wanted %d", gate_entered(g), g->slot, want);
        harness_sleep_ms(2);
    }
}

mproc_pack *pack_gate(const char *path, int64_t x, const char *started)
{
    mproc_pack *p = new_pack();
    assert_ok(mproc_pack_str(p, path));
    assert_ok(mproc_pack_i64(p, x));
    if (started)
        assert_ok(mproc_pack_str(p, started));
    return p;
}

void open_gate_file(const char *path)
{
    harness_write_i64(path, 1);
}

/* ---- helpers of the tasks --------------------------------------------------------------- */

int wrong_squares(const mproc_bytes *results, size_t n)
{
    int wrong = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t v = -1;
        if (MPROC_UNPACK(&results[i], &v) != 0)
            v = -1;
        wrong += v != (int64_t)(i * i);
    }
    return wrong;
}

int put_pair(mproc_pack *out, int64_t a, int64_t b)
{
    return MPROC_PACK(out, a, b) ? mproc_task_fail(out, "out of memory") : 0;
}

void as_pair(const mproc_bytes *b, int64_t *a, int64_t *c)
{
    int rc = MPROC_UNPACK(b, a, c);
    if (rc)
        fail_msg("result of %llu bytes is not a pack of two integers: %s",
                 (unsigned long long)b->len, mproc_errname(rc));
}

void check_typed_result(const mproc_bytes *r, int64_t x)
{
    int64_t sq = 0, a = 0, b = 0;
    const char *name = NULL;
    double half = 0;
    mproc_bytes raw = {0};
    mproc_unpacker pair;
    int rc = MPROC_UNPACK(r, &sq, &name, &half, &raw, &pair);
    if (rc)
        fail_msg("typed_result for %lld: %s", (long long)x, mproc_errname(rc));
    assert_int_equal(sq, x * x);
    assert_string_equal(name, "square");
    assert_true(half == (double)x / 2);
    assert_int_equal(raw.len, 3);
    assert_memory_equal(raw.data, "abc", 3);
    assert_ok(mproc_unpack_i64(&pair, &a));
    assert_ok(mproc_unpack_i64(&pair, &b));
    assert_int_equal(mproc_unpack_remaining(&pair), 0);
    assert_int_equal(a, x);
    assert_int_equal(b, -x);
    /* A field of another type is MPROC_ETYPE; fewer destinations than fields MPROC_EINVAL. */
    assert_rc(MPROC_UNPACK(r, &name, &sq, &half, &raw, &pair), MPROC_ETYPE);
    assert_rc(MPROC_UNPACK(r, &sq), MPROC_EINVAL);
}

uint64_t checksum(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* ---- tasks ------------------------------------------------------------------------------ */

MPROC_TASK(square, in, out)
{
    mproc_unpacker u;
    int64_t x;
    open_args(&u, in);
    if (mproc_unpack_i64(&u, &x))
        return mproc_task_fail(out, "no argument");
    return put_i64(out, x * x);
}

MPROC_TASK(answer, in, out)
{
    mproc_unpacker u;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_peek(&u) != 0)
        return mproc_task_fail(out, "wanted no arguments");
    return put_i64(out, 42);
}

MPROC_TASK(square_jitter, in, out)
{
    mproc_unpacker u;
    int64_t x;
    open_args(&u, in);
    if (mproc_unpack_i64(&u, &x))
        return mproc_task_fail(out, "no argument");
    harness_sleep_ms((x * 37) % 7);
    return put_i64(out, x * x);
}

MPROC_TASK(multiply, in, out)
{
    mproc_unpacker u;
    int64_t a, b;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_i64(&u, &a) || mproc_unpack_i64(&u, &b))
        return mproc_task_fail(out, "wanted two integers");
    if (mproc_unpack_peek(&u) != 0)
        return mproc_task_fail(out, "more than two arguments");
    return put_i64(out, a * b);
}

MPROC_TASK(check_item, in, out)
{
    mproc_unpacker u;
    int64_t x;
    open_args(&u, in);
    if (mproc_unpack_i64(&u, &x))
        return mproc_task_fail(out, "no argument");
    if (x % 4 == 3) {
        if (x == 3)
            harness_sleep_ms(300);
        return mproc_task_fail(out, "bad item %d", (int)x);
    }
    return put_i64(out, x * x);
}

/* (x) -> (x*x, "square", x / 2.0, the bytes "abc", (x, -x)): one field of each kind. */
MPROC_TASK(typed_result, in, out)
{
    mproc_unpacker u;
    int64_t x;
    open_args(&u, in);
    if (mproc_unpack_i64(&u, &x))
        return mproc_task_fail(out, "no argument");
    if (MPROC_PACK(out, x * x, "square", (double)x / 2, MPROC_BYTES("abc", 3), MPROC_ARGS(x, -x)))
        return mproc_task_fail(out, "out of memory");
    return 0;
}

/* (a, s, d): echoes its three arguments, typed, as (a, s, d). */
MPROC_TASK(echo_three, in, out)
{
    int64_t a;
    const char *str;
    double d;
    int rc = MPROC_UNPACK(in, &a, &str, &d);
    if (rc)
        return mproc_task_fail(out, "wanted (i64, str, f64): %s", mproc_errname(rc));
    return MPROC_PACK(out, a, str, d) ? mproc_task_fail(out, "out of memory") : 0;
}

/* (mode): fails in the ways the failure text rule tells apart (see pool_common.h). */
MPROC_TASK(fail_with, in, out)
{
    int64_t mode;
    if (MPROC_UNPACK(in, &mode))
        return mproc_task_fail(out, "no mode");
    switch (mode) {
    case 0: /* a result first: mproc_task_fail resets `out` */
        MPROC_PACK(out, 1, "partial", 2.5);
        return mproc_task_fail(out, "failed after %s", "a result");
    case 1: MPROC_PACK(out, "one string by hand"); return 2;
    case 2: MPROC_PACK(out, "two", "strings"); return 3;
    case 3: MPROC_PACK(out, 99); return 4;
    default: return -5; /* nothing in `out` */
    }
}

/* (value, delta): adds delta to the Value; no result. */
MPROC_TASK(add_to_value, in, out)
{
    mproc_value *v = NULL;
    int64_t delta;
    int rc = MPROC_UNPACK(in, &v, &delta);
    if (rc)
        return mproc_task_fail(out, "wanted (value, delta): %s", mproc_errname(rc));
    rc = mproc_value_add_i64(v, delta, NULL);
    mproc_value_destroy(v);
    return rc ? mproc_task_fail(out, "add: %s", mproc_errname(rc)) : 0;
}

/* () -> a Lock: a result with OS handles, which cannot travel back (MPROC_ENOTSUP). */
MPROC_TASK(result_with_lock, in, out)
{
    (void)in;
    mproc_lock *l;
    if (mproc_lock_create(&l))
        return mproc_task_fail(out, "no lock");
    int rc = MPROC_PACK(out, l);
    mproc_lock_destroy(l);
    return rc ? mproc_task_fail(out, "pack: %s", mproc_errname(rc)) : 0;
}

MPROC_TASK(returns_seven, in, out)
{
    (void)in;
    (void)out;
    return 7;
}

/* The gate is a path (open once the file exists) or the slot of an in-memory gate. */
MPROC_TASK(gate_square, in, out)
{
    mproc_unpacker u;
    const char *path = NULL, *started = NULL;
    int64_t slot = -1, x, v;
    open_args(&u, in);
    int rc = mproc_unpack_peek(&u) == MPROC_FIELD_STR ? mproc_unpack_str(&u, &path)
                                                      : mproc_unpack_i64(&u, &slot);
    if (rc || mproc_unpack_i64(&u, &x) ||
        (!path && (slot < 0 || slot >= (int64_t)(sizeof gates / sizeof gates[0]))) ||
        (mproc_unpack_peek(&u) != 0 && mproc_unpack_str(&u, &started)))
        return mproc_task_fail(out, "wanted (gate, x[, started])");
    if (started)
        harness_write_i64(started, mproc_getpid());
    if (path) {
        if (!harness_read_i64(path, &v, WAIT_MS))
            return mproc_task_fail(out, "gate never opened");
        return put_i64(out, x * x);
    }
    INC(&gates[slot].entered);
    int64_t deadline = harness_now_ms() + WAIT_MS;
    while (!LOAD(&gates[slot].open)) {
        if (harness_now_ms() > deadline) {
            INC(&gates[slot].left);
            return mproc_task_fail(out, "gate never opened");
        }
        harness_sleep_ms(1);
    }
    INC(&gates[slot].left);
    return put_i64(out, x * x);
}

MPROC_TASK(sleep_square, in, out)
{
    mproc_unpacker u;
    int64_t ms, x;
    open_args(&u, in);
    if (mproc_unpack_i64(&u, &ms) || mproc_unpack_i64(&u, &x))
        return mproc_task_fail(out, "wanted (ms, x)");
    harness_sleep_ms(ms);
    return put_i64(out, x * x);
}

MPROC_TASK(worker_pid, in, out)
{
    (void)in;
    return put_i64(out, mproc_getpid());
}

/* Ends its own process (under a thread pool: the whole test, which then fails). */
MPROC_TASK(exit_three, in, out)
{
    (void)in;
    (void)out;
    exit(3);
}

MPROC_TASK(init_fails, in, out)
{
    (void)in;
    return mproc_task_fail(out, "init broke %d", 42);
}

MPROC_TASK(init_returns_five, in, out)
{
    (void)in;
    (void)out;
    return 5;
}

_Thread_local int64_t init_tag;
int init_calls;
int init_tids[256];

MPROC_TASK(init_tls, in, out)
{
    mproc_unpacker u;
    int64_t tag;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_i64(&u, &tag))
        return mproc_task_fail(out, "initializer wanted (tag)");
    if (init_tag != 0)
        return mproc_task_fail(out, "initializer ran twice on one thread");
    init_tag = tag;
    int k = INC(&init_calls);
    if (k <= (int)(sizeof init_tids / sizeof init_tids[0]))
        STORE(&init_tids[k - 1], harness_thread_id());
    return 0;
}

/* Fails if the initializer did not run on this thread. */
MPROC_TASK(read_init, in, out)
{
    (void)in;
    if (init_tag == 0)
        return mproc_task_fail(out, "the initializer did not run on thread %d",
                               harness_thread_id());
    return put_pair(out, init_tag, harness_thread_id());
}

/* (n) -> the task's thread id, once n tasks are inside at once (10 s at most): proof that
 * n threads run tasks concurrently. */
static int rv_inside;
MPROC_TASK(wait_for_peers, in, out)
{
    enum { RENDEZVOUS_MS = 10000 };
    mproc_unpacker u;
    int64_t n;
    open_args(&u, in);
    if (mproc_unpack_i64(&u, &n))
        return mproc_task_fail(out, "no argument");
    INC(&rv_inside);
    int64_t deadline = harness_now_ms() + RENDEZVOUS_MS;
    while (LOAD(&rv_inside) < n) {
        if (harness_now_ms() > deadline)
            return mproc_task_fail(out, "only %d of %d tasks were inside at once", LOAD(&rv_inside),
                                   (int)n);
        harness_sleep_ms(1);
    }
    return put_i64(out, harness_thread_id());
}

void rendezvous(mproc_pool *pool, int n, int64_t *tids)
{
    STORE(&rv_inside, 0);
    mproc_async *calls[64];
    assert_true(n <= 64);
    mproc_pack *args = pack_of(n);
    for (int i = 0; i < n; i++)
        assert_ok(mproc_pool_apply_async(pool, "wait_for_peers", args, NULL, &calls[i]));
    mproc_pack_destroy(args);
    for (int i = 0; i < n; i++) {
        mproc_bytes r = {0};
        int rc = mproc_async_get(calls[i], WAIT_MS, &r);
        if (rc != 0)
            fail_msg("rendezvous task %d of %d: %s: %s", i, n, mproc_errname(rc),
                     r.data ? (const char *)r.data : "");
        tids[i] = as_i64(&r);
        mproc_bytes_free(&r);
        mproc_async_destroy(calls[i]);
    }
    for (int i = 0; i < n; i++) {
        if (tids[i] == harness_thread_id())
            fail_msg("rendezvous task %d ran on the caller's thread", i);
        for (int k = 0; k < i; k++)
            if (tids[k] == tids[i])
                fail_msg("rendezvous tasks %d and %d ran on one thread", k, i);
    }
}

/* A read then a write of the value: only the lock makes the total exact. The task destroys
 * its copies of the objects. */
MPROC_TASK(use_objects, in, out)
{
    mproc_unpacker u;
    mproc_queue *q = NULL;
    mproc_lock *lock = NULL;
    mproc_value *v = NULL;
    mproc_conn *c = NULL;
    int64_t x;
    int rc = 0;
    open_args(&u, in);
    if (mproc_unpack_queue(&u, &q) || mproc_unpack_lock(&u, &lock) || mproc_unpack_value(&u, &v) ||
        mproc_unpack_conn(&u, &c) || mproc_unpack_i64(&u, &x)) {
        rc = mproc_task_fail(out, "wanted (queue, lock, value, conn, x)");
        goto done;
    }
    if (mproc_queue_put(q, &x, sizeof x, WAIT_MS) != 0) {
        rc = mproc_task_fail(out, "put failed");
        goto done;
    }
    if (mproc_lock_acquire(lock, WAIT_MS) != 0) {
        rc = mproc_task_fail(out, "acquire failed");
        goto done;
    }
    int64_t seen = 0;
    if (mproc_value_get_i64(v, &seen) != 0) {
        mproc_lock_release(lock);
        rc = mproc_task_fail(out, "value get failed");
        goto done;
    }
    harness_sleep_ms(1);
    if (mproc_value_set_i64(v, seen + x) != 0) {
        mproc_lock_release(lock);
        rc = mproc_task_fail(out, "value set failed");
        goto done;
    }
    mproc_lock_release(lock);
    if (mproc_conn_send(c, &x, sizeof x, WAIT_MS) != 0) {
        rc = mproc_task_fail(out, "send failed");
        goto done;
    }
    rc = put_i64(out, x);
done:
    if (q)
        mproc_queue_destroy(q);
    if (lock)
        mproc_lock_destroy(lock);
    if (v)
        mproc_value_destroy(v);
    if (c)
        mproc_conn_destroy(c);
    return rc;
}

MPROC_TASK(checksum_bytes, in, out)
{
    mproc_unpacker u;
    const void *data;
    size_t n;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_bytes(&u, &data, &n))
        return mproc_task_fail(out, "wanted bytes");
    /* The checksum's 64 bits as an I64 (the reader casts it back). */
    if (MPROC_PACK(out, (int64_t)n, (int64_t)checksum(data, n)))
        return mproc_task_fail(out, "out of memory");
    return 0;
}

MPROC_TASK(make_big, in, out)
{
    mproc_unpacker u;
    int64_t size, seed;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_i64(&u, &size) || mproc_unpack_i64(&u, &seed))
        return mproc_task_fail(out, "wanted (size, seed)");
    uint8_t *p = mproc_malloc((size_t)size);
    if (!p)
        return mproc_task_fail(out, "out of memory");
    for (size_t i = 0; i < (size_t)size; i++)
        p[i] = pattern_at(i, (uint32_t)seed);
    int rc = MPROC_PACK(out, MPROC_BYTES(p, (size_t)size));
    mproc_free(p);
    return rc ? mproc_task_fail(out, "out of memory") : 0;
}
