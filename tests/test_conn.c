/* Pipes: framing, timeouts that never tear the stream, a 1 GiB message, the end of a
 * closed or killed peer, ends sent to children under every start method, and
 * connection.wait() over more than 64 pipes and processes. */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tasks ------------------------------------------------------------------------------------ */

/* (conn, rounds): echoes each message back with "!" appended. */
MPROC_TASK(echo_rounds, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_conn *c;
    int64_t rounds;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_conn(&u, &c) || mproc_unpack_i64(&u, &rounds))
        return 10;
    for (int64_t i = 0; i < rounds; i++) {
        mproc_bytes m;
        if (mproc_conn_recv(c, 30000, &m) != 0)
            return 11;
        char reply[256];
        size_t n = m.len < 200 ? m.len : 200;
        memcpy(reply, m.data, n);
        reply[n] = '!';
        mproc_bytes_free(&m);
        if (mproc_conn_send(c, reply, n + 1, 30000) != 0)
            return 12;
    }
    mproc_conn_destroy(c);
    return 0;
}

/* (conn): receives a pack (x, s), sends back the pack (2x, s, "back"). */
MPROC_TASK(pack_echo, in, out)
{
    (void)out;
    mproc_conn *c = NULL;
    if (MPROC_UNPACK(in, &c))
        return 10;
    mproc_bytes m;
    int64_t x = 0;
    const char *text = NULL;
    int rc = mproc_conn_recv(c, 30000, &m) ? 11 : MPROC_UNPACK(&m, &x, &text) ? 12 : 0;
    if (!rc && mproc_conn_send_pack(c, MPROC_ARGS(2 * x, text, "back"), 30000) != 0)
        rc = 13;
    if (!rc)
        mproc_bytes_free(&m);
    mproc_conn_destroy(c);
    return rc;
}

/* (writer end): writes three messages, the last one big, then closes. */
MPROC_TASK(write_three, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_conn *w;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_conn(&u, &w))
        return 10;
    if (mproc_conn_recv(w, 0, &(mproc_bytes){0}) != MPROC_EPERM)
        return 11;
    size_t big = 3 << 20;
    uint8_t *buf = malloc(big);
    fill(buf, big, 9);
    int rc = mproc_conn_send(w, "a", 1, 30000) || mproc_conn_send(w, "", 0, 30000) ||
             mproc_conn_send(w, buf, big, 30000);
    free(buf);
    mproc_conn_destroy(w);
    return rc ? 12 : 0;
}

/* (conn): sends "hello", then waits to be killed. */
MPROC_TASK(hello_then_wait, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_conn *c;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_conn(&u, &c))
        return 10;
    mproc_conn_send(c, "hello", 5, 30000);
    harness_sleep_ms(60000);
    return 12;
}

/* (reader, writer): closes the writer it was given, then reads to the end; returns how
 * many messages came. */
MPROC_TASK(close_writer_then_drain, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_conn *r, *w;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_conn(&u, &r) || mproc_unpack_conn(&u, &w))
        return 100;
    mproc_conn_destroy(w);
    int count = 0;
    mproc_bytes m;
    int rc;
    while ((rc = mproc_conn_recv(r, 30000, &m)) == 0) {
        mproc_bytes_free(&m);
        count++;
    }
    mproc_conn_destroy(r);
    return rc == MPROC_ECLOSED ? count : 101;
}

MPROC_TASK(sleep_briefly, in, out)
{
    (void)in;
    (void)out;
    harness_sleep_ms(200);
    return 0;
}

/* ---- one process --------------------------------------------------------------------------------- */

static void pipe_basics(void **state)
{
    (void)state;
    mproc_conn *a, *b;
    assert_ok(mproc_pipe(&a, &b, true));
    assert_true(mproc_conn_readable(a) && mproc_conn_writable(a));
    assert_rc(mproc_conn_poll(a, 0), MPROC_ETIMEDOUT);
    assert_rc(mproc_conn_poll(a, 20), MPROC_ETIMEDOUT);
    mproc_bytes m;
    assert_rc(mproc_conn_recv(a, 0, &m), MPROC_ETIMEDOUT);
    assert_rc(mproc_conn_recv(a, 20, &m), MPROC_ETIMEDOUT);
    assert_ok(mproc_conn_send(b, "ping", 4, 1000));
    assert_ok(mproc_conn_send(b, "", 0, 1000));
    assert_int_equal(mproc_conn_poll(a, 1000), 1);
    assert_ok(mproc_conn_recv(a, 1000, &m));
    assert_int_equal(m.len, 4);
    assert_memory_equal(m.data, "ping", 4);
    mproc_bytes_free(&m);
    assert_ok(mproc_conn_recv(a, 1000, &m));
    assert_int_equal(m.len, 0);
    mproc_bytes_free(&m);
    assert_ok(mproc_conn_send(a, "pong", 4, 1000)); /* duplex: the other way too */
    assert_ok(mproc_conn_recv(b, 1000, &m));
    assert_memory_equal(m.data, "pong", 4);
    mproc_bytes_free(&m);
    /* b goes: a reads what was sent, then the end */
    assert_ok(mproc_conn_send(b, "last", 4, 1000));
    mproc_conn_destroy(b);
    assert_ok(mproc_conn_recv(a, 1000, &m));
    mproc_bytes_free(&m);
    assert_int_equal(mproc_conn_poll(a, 1000), 1);
    assert_rc(mproc_conn_recv(a, 1000, &m), MPROC_ECLOSED);
    assert_rc(mproc_conn_recv(a, 1000, &m), MPROC_ECLOSED);
    assert_rc(mproc_conn_send(a, "x", 1, 1000), MPROC_ECLOSED);
    mproc_conn_destroy(a);

    /* simplex: (reader, writer) */
    mproc_conn *r, *w;
    assert_ok(mproc_pipe(&r, &w, false));
    assert_true(mproc_conn_readable(r) && !mproc_conn_writable(r));
    assert_true(!mproc_conn_readable(w) && mproc_conn_writable(w));
    assert_rc(mproc_conn_send(r, "x", 1, 0), MPROC_EPERM);
    assert_rc(mproc_conn_recv(w, 0, &m), MPROC_EPERM);
    assert_rc(mproc_conn_poll(w, 0), MPROC_EPERM);
    assert_ok(mproc_conn_send(w, "one way", 7, 1000));
    assert_ok(mproc_conn_recv(r, 1000, &m));
    assert_int_equal(m.len, 7);
    mproc_bytes_free(&m);
    mproc_conn_destroy(r);
    assert_rc(mproc_conn_send(w, "x", 1, 1000), MPROC_ECLOSED);
    mproc_conn_destroy(w);

    /* bad input */
    assert_rc(mproc_pipe(NULL, &b, true), MPROC_EINVAL);
    assert_rc(mproc_conn_send(NULL, "x", 1, 0), MPROC_EINVAL);
    assert_rc(mproc_conn_recv(NULL, 0, &m), MPROC_EINVAL);
    assert_rc(mproc_conn_poll(NULL, 0), MPROC_EINVAL);
    assert_ok(mproc_pipe(&a, &b, true));
    assert_rc(mproc_conn_send(a, NULL, 3, 0), MPROC_EINVAL);
    assert_rc(mproc_conn_recv(a, 0, NULL), MPROC_EINVAL);
    assert_rc(mproc_conn_wait(NULL, 1, 0, NULL), MPROC_EINVAL);
    mproc_waitable both = {a, NULL};
    bool ready;
    assert_rc(mproc_conn_wait(&both, 0, 0, &ready), MPROC_EINVAL);
    mproc_conn_destroy(a);
    mproc_conn_destroy(b);
    mproc_conn_destroy(NULL);
}

/* Timeouts in the middle of a big message on both sides: the stream stays whole. */
typedef struct {
    mproc_conn *c;
    size_t big;
    int timeouts, got_big, result;
} slow_reader;

static void read_with_short_timeouts(void *arg)
{
    slow_reader *r = arg;
    mproc_bytes m;
    int rc;
    while ((rc = mproc_conn_recv(r->c, 5, &m)) == MPROC_ETIMEDOUT)
        __atomic_add_fetch(&r->timeouts, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&r->got_big, 1, __ATOMIC_SEQ_CST);
    if (rc != 0 || m.len != r->big || !filled(m.data, m.len, 3))
        r->result = 1;
    mproc_bytes_free(&m);
    if (mproc_conn_recv(r->c, 30000, &m) != 0 || m.len != 4 || memcmp(m.data, "next", 4))
        r->result = 2;
    mproc_bytes_free(&m);
}

static void timeouts_keep_the_stream_whole(void **state)
{
    (void)state;
    mproc_conn *a, *b;
    assert_ok(mproc_pipe(&a, &b, true));
    size_t big = 16 << 20;
    uint8_t *buf = malloc(big);
    fill(buf, big, 3);
    /* Nobody reads yet: only part goes, the rest waits in the handle. */
    assert_ok(mproc_conn_send(b, buf, big, 10));
    free(buf);
    slow_reader r = {a, big, 0, 0, 0};
    harness_thread *t = harness_thread_start(read_with_short_timeouts, &r);
    /* The reader drains what went and then times out in the middle of the message (the
     * rest is still here); only then does the rest go, ahead of the next message. */
    int64_t deadline = harness_now_ms() + 30000;
    while (!__atomic_load_n(&r.timeouts, __ATOMIC_SEQ_CST) &&
           !__atomic_load_n(&r.got_big, __ATOMIC_SEQ_CST) && harness_now_ms() < deadline)
        harness_sleep_ms(1);
    assert_ok(mproc_conn_send(b, "next", 4, 60000)); /* after the rest of the big one */
    harness_thread_join(t);
    assert_int_equal(r.result, 0);
    /* Wine's pipes take a whole write at once, so there the reader never waits mid-way. */
    if (!harness_is_windows())
        assert_true(r.timeouts > 0);
    mproc_conn_destroy(a);
    mproc_conn_destroy(b);
}

/* One message of a gibibyte (plus one byte), through a thread. */
typedef struct {
    mproc_conn *c;
    uint8_t *data;
    size_t len;
    int rc;
} sender;

static void send_it(void *arg)
{
    sender *s = arg;
    s->rc = mproc_conn_send(s->c, s->data, s->len, 300000);
}

static void gibibyte_message(void **state)
{
    (void)state;
    size_t len = ((size_t)1 << 30) + 1;
    mproc_conn *a, *b;
    assert_ok(mproc_pipe(&a, &b, false));
    uint8_t *data = malloc(len);
    assert_non_null(data);
    for (size_t i = 0; i < len - 1; i += 4096)
        data[i] = (uint8_t)(i >> 12);
    data[len - 1] = 0xAB;
    sender s = {b, data, len, -1};
    harness_thread *t = harness_thread_start(send_it, &s);
    mproc_bytes m;
    assert_ok(mproc_conn_recv(a, 300000, &m));
    harness_thread_join(t);
    assert_int_equal(s.rc, 0);
    assert_int_equal(m.len, len);
    uint8_t *got = m.data;
    for (size_t i = 0; i < len - 1; i += 4096)
        if (got[i] != (uint8_t)(i >> 12))
            fail_msg("byte %llu differs", (unsigned long long)i);
    assert_int_equal(got[len - 1], 0xAB);
    mproc_bytes_free(&m);
    free(data);
    mproc_conn_destroy(a);
    mproc_conn_destroy(b);
}

/* ---- between processes ------------------------------------------------------------------------------ */

static void duplex_with_a_child(mproc_start_method method)
{
    mproc_conn *mine, *theirs;
    assert_ok(mproc_pipe(&mine, &theirs, true));
    mproc_pack *args;
    assert_ok(mproc_pack_create(&args));
    assert_ok(mproc_pack_handle(args, theirs));
    assert_ok(mproc_pack_i64(args, 100));
    mproc_process *p = harness_start(method, "echo_rounds", args);
    mproc_pack_destroy(args);
    mproc_conn_destroy(theirs);
    if (p) {
        for (int i = 0; i < 100; i++) {
            char msg[32];
            int n = snprintf(msg, sizeof msg, "round %d", i);
            assert_ok(mproc_conn_send(mine, msg, (size_t)n, 30000));
            mproc_bytes m;
            assert_ok(mproc_conn_recv(mine, 30000, &m));
            assert_int_equal(m.len, (size_t)n + 1);
            assert_memory_equal(m.data, msg, (size_t)n);
            mproc_bytes_free(&m);
        }
        assert_int_equal(harness_join_code(p), 0);
        /* The child's end is closed everywhere now. */
        mproc_bytes m;
        assert_rc(mproc_conn_recv(mine, 30000, &m), MPROC_ECLOSED);
    }
    mproc_conn_destroy(mine);
}

static void simplex_from_a_child(mproc_start_method method)
{
    mproc_conn *r, *w;
    assert_ok(mproc_pipe(&r, &w, false));
    mproc_pack *args;
    assert_ok(mproc_pack_create(&args));
    assert_ok(mproc_pack_handle(args, w));
    mproc_process *p = harness_start(method, "write_three", args);
    mproc_pack_destroy(args);
    mproc_conn_destroy(w);
    if (p) {
        mproc_bytes m;
        assert_ok(mproc_conn_recv(r, 30000, &m));
        assert_int_equal(m.len, 1);
        mproc_bytes_free(&m);
        assert_ok(mproc_conn_recv(r, 30000, &m));
        assert_int_equal(m.len, 0);
        mproc_bytes_free(&m);
        assert_ok(mproc_conn_recv(r, 30000, &m));
        assert_int_equal(m.len, 3 << 20);
        assert_true(filled(m.data, m.len, 9));
        mproc_bytes_free(&m);
        assert_rc(mproc_conn_recv(r, 30000, &m), MPROC_ECLOSED);
        assert_int_equal(harness_join_code(p), 0);
    }
    mproc_conn_destroy(r);
}

/* As in Python: a child that closes an end it was given really closes it (under fork the
 * parent's other copies are not kept open in the child either), so the reader sees the
 * end once the parent closes its writer too. */
static void child_closes_what_it_was_given(mproc_start_method method)
{
    mproc_conn *r, *w;
    assert_ok(mproc_pipe(&r, &w, false));
    mproc_pack *args;
    assert_ok(mproc_pack_create(&args));
    assert_ok(mproc_pack_handle(args, r));
    assert_ok(mproc_pack_handle(args, w));
    mproc_process *p = harness_start(method, "close_writer_then_drain", args);
    mproc_pack_destroy(args);
    mproc_conn_destroy(r);
    if (p) {
        for (int i = 0; i < 3; i++)
            assert_ok(mproc_conn_send(w, "m", 1, 30000));
    }
    mproc_conn_destroy(w);
    if (p)
        assert_int_equal(harness_join_code(p), 3);
}

/* A killed peer is the end of the pipe, not a hang. */
static void killed_peer_is_the_end(mproc_start_method method)
{
    mproc_conn *mine, *theirs;
    assert_ok(mproc_pipe(&mine, &theirs, true));
    mproc_pack *args;
    assert_ok(mproc_pack_create(&args));
    assert_ok(mproc_pack_handle(args, theirs));
    mproc_process *p = harness_start(method, "hello_then_wait", args);
    mproc_pack_destroy(args);
    mproc_conn_destroy(theirs);
    if (p) {
        mproc_bytes m;
        assert_ok(mproc_conn_recv(mine, 30000, &m));
        assert_int_equal(m.len, 5);
        mproc_bytes_free(&m);
        assert_ok(mproc_process_kill(p));
        assert_rc(mproc_conn_recv(mine, 30000, &m), MPROC_ECLOSED);
        assert_int_equal(harness_join_code(p), -9);
        assert_rc(mproc_conn_send(mine, "x", 1, 30000), MPROC_ECLOSED);
    }
    mproc_conn_destroy(mine);
}

/* connection.wait over 100 pipes (past Windows' 64) and a process. */
static void wait_over_many(mproc_start_method method)
{
    enum { N = 100 };
    mproc_conn *r[N], *w[N];
    mproc_waitable items[N + 1];
    bool ready[N + 1];
    for (int i = 0; i < N; i++) {
        assert_ok(mproc_pipe(&r[i], &w[i], false));
        items[i] = (mproc_waitable){r[i], NULL};
    }
    assert_rc(mproc_conn_wait(items, N, 30, ready), MPROC_ETIMEDOUT);
    assert_ok(mproc_conn_send(w[77], "x", 1, 1000));
    assert_int_equal(mproc_conn_wait(items, N, 30000, ready), 1);
    for (int i = 0; i < N; i++)
        assert_int_equal(ready[i], i == 77);
    mproc_bytes m;
    assert_ok(mproc_conn_recv(r[77], 0, &m));
    mproc_bytes_free(&m);
    /* the last one, from another thread while we wait */
    sender s = {w[N - 1], (uint8_t *)"late", 4, -1};
    harness_thread *t = harness_thread_start(send_it, &s);
    assert_int_equal(mproc_conn_wait(items, N, 30000, ready), 1);
    assert_true(ready[N - 1]);
    harness_thread_join(t);
    assert_ok(mproc_conn_recv(r[N - 1], 0, &m));
    mproc_bytes_free(&m);
    /* a process that ends */
    mproc_process *p = harness_start(method, "sleep_briefly", NULL);
    if (p) {
        items[N] = (mproc_waitable){NULL, p};
        assert_int_equal(mproc_conn_wait(items, N + 1, 30000, ready), 1);
        assert_true(ready[N]);
        assert_int_equal(harness_join_code(p), 0);
    }
    /* a closed writer makes its reader ready (its end) */
    mproc_conn_destroy(w[5]);
    assert_int_equal(mproc_conn_wait(items, N, 30000, ready), 1);
    assert_true(ready[5]);
    assert_rc(mproc_conn_recv(r[5], 0, &m), MPROC_ECLOSED);
    for (int i = 0; i < N; i++) {
        mproc_conn_destroy(r[i]);
        if (i != 5)
            mproc_conn_destroy(w[i]);
    }
}

/* ---- API 1.0: typed messages; close, then destroy ---------------------------------------- */

static void send_pack_round_trips(void **state)
{
    (void)state;
    mproc_conn *a, *b;
    assert_ok(mproc_pipe(&a, &b, true));
    assert_ok(mproc_conn_send_pack(a, MPROC_ARGS(1, "one", 1.5, MPROC_BYTES("xy", 2)), 1000));
    mproc_pack *p = new_pack();
    assert_ok(MPROC_PACK(p, -2, "two"));
    assert_ok(mproc_conn_send_pack(b, p, 1000));
    mproc_bytes m = {0};
    assert_ok(mproc_conn_recv(b, 1000, &m));
    int64_t x = 0;
    const char *text = NULL;
    double d = 0;
    mproc_bytes raw = {0};
    assert_ok(MPROC_UNPACK(&m, &x, &text, &d, &raw));
    assert_int_equal(x, 1);
    assert_string_equal(text, "one");
    assert_true(d == 1.5);
    assert_int_equal(raw.len, 2);
    assert_memory_equal(raw.data, "xy", 2);
    mproc_bytes_free(&m);
    assert_ok(mproc_conn_recv(a, 1000, &m));
    assert_ok(MPROC_UNPACK(&m, &x, &text));
    assert_int_equal(x, -2);
    assert_string_equal(text, "two");
    mproc_bytes_free(&m);

    /* OS handles cannot travel in a message: MPROC_ENOTSUP, and nothing is sent. */
    mproc_lock *lock;
    assert_ok(mproc_lock_create(&lock));
    mproc_pack *with_lock = new_pack();
    assert_ok(MPROC_PACK(with_lock, lock));
    assert_rc(mproc_conn_send_pack(a, MPROC_ARGS(b), 1000), MPROC_ENOTSUP);
    assert_rc(mproc_conn_send_pack(a, with_lock, 1000), MPROC_ENOTSUP);
    assert_rc(mproc_conn_send_pack(a, MPROC_ARGS("nested", with_lock), 1000), MPROC_ENOTSUP);
    assert_rc(mproc_conn_poll(b, 0), MPROC_ETIMEDOUT);
    mproc_pack_destroy(with_lock);
    mproc_lock_destroy(lock);
    assert_rc(mproc_conn_send_pack(a, NULL, 1000), MPROC_EINVAL);
    assert_rc(mproc_conn_send_pack(NULL, p, 1000), MPROC_EINVAL);
    /* an empty pack is an empty message */
    mproc_pack *empty = new_pack();
    assert_ok(mproc_conn_send_pack(a, empty, 1000));
    assert_ok(mproc_conn_recv(b, 1000, &m));
    assert_int_equal(m.len, 0);
    mproc_bytes_free(&m);
    mproc_pack_destroy(empty);
    mproc_pack_destroy(p);

    /* to a child and back, typed both ways */
    mproc_process *child = harness_start(MPROC_METHOD_DEFAULT, "pack_echo", MPROC_ARGS(b));
    assert_non_null(child);
    mproc_conn_destroy(b);
    assert_ok(mproc_conn_send_pack(a, MPROC_ARGS(21, "there"), 30000));
    assert_ok(mproc_conn_recv(a, 60000, &m));
    const char *back = NULL;
    assert_ok(MPROC_UNPACK(&m, &x, &text, &back));
    assert_int_equal(x, 42);
    assert_string_equal(text, "there");
    assert_string_equal(back, "back");
    mproc_bytes_free(&m);
    assert_int_equal(harness_join_code(child), 0);
    mproc_conn_destroy(a);

    /* a simplex reader cannot send */
    mproc_conn *r, *w;
    assert_ok(mproc_pipe(&r, &w, false));
    assert_rc(mproc_conn_send_pack(r, MPROC_ARGS(1), 0), MPROC_EPERM);
    assert_ok(mproc_conn_send_pack(w, MPROC_ARGS(1), 1000));
    assert_ok(mproc_conn_recv(r, 1000, &m));
    assert_int_equal(as_i64(&m), 1);
    mproc_bytes_free(&m);
    mproc_conn_destroy(r);
    mproc_conn_destroy(w);
}

/* Rule 6: close ends the OS handle and keeps the handle (calls give MPROC_ECLOSED), destroy
 * frees it; the harness checks that nothing leaked. */
static void close_then_destroy(void **state)
{
    (void)state;
    mproc_conn *a, *b;
    assert_ok(mproc_pipe(&a, &b, true));
    assert_ok(mproc_conn_send(a, "before", 6, 1000));
    assert_int_equal(mproc_conn_readable(a), 1);
    assert_int_equal(mproc_conn_writable(a), 1);
    assert_ok(mproc_conn_close(a));
    assert_ok(mproc_conn_close(a)); /* again: nothing more to close */
    mproc_bytes m = {0};
    assert_rc(mproc_conn_send(a, "x", 1, 0), MPROC_ECLOSED);
    assert_rc(mproc_conn_send_pack(a, MPROC_ARGS(1), 0), MPROC_ECLOSED);
    assert_rc(mproc_conn_recv(a, 0, &m), MPROC_ECLOSED);
    assert_rc(mproc_conn_poll(a, 0), MPROC_ECLOSED);
    assert_int_equal(mproc_conn_readable(a), 0);
    assert_int_equal(mproc_conn_writable(a), 0);
    bool ready = false;
    assert_rc(mproc_conn_wait(&(mproc_waitable){.conn = a}, 1, 0, &ready), MPROC_ECLOSED);
    /* a closed end no longer travels */
    mproc_pack *p = new_pack();
    assert_rc(mproc_pack_handle(p, a), MPROC_ECLOSED);
    assert_int_equal(mproc_pack_count(p), 0);
    mproc_pack_destroy(p);
    mproc_process *child = (mproc_process *)&m;
    assert_rc(mproc_process_create(
                  &child, &(mproc_process_opts){.target = "sleep_briefly", .args = MPROC_ARGS(a)}),
              MPROC_ECLOSED);
    assert_null(child);
    /* the other end reads what was sent, then the end */
    assert_ok(mproc_conn_recv(b, 1000, &m));
    assert_int_equal(m.len, 6);
    assert_memory_equal(m.data, "before", 6);
    mproc_bytes_free(&m);
    assert_rc(mproc_conn_recv(b, 1000, &m), MPROC_ECLOSED);
    assert_rc(mproc_conn_send(b, "x", 1, 1000), MPROC_ECLOSED);
    mproc_conn_destroy(a);
    /* destroy closes what is still open */
    mproc_conn_destroy(b);
    assert_rc(mproc_conn_close(NULL), MPROC_EINVAL);
    mproc_conn_destroy(NULL);
}

#define HARNESS_CASES "cases/conn.txt"
#include "harness_main.h"
