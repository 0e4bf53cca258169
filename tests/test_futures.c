/* Executors and futures (futures.h): submit and result, error texts, futures as
 * mproc_async, cancel while queued, done callbacks, map with a timeout, shutdown rules, a
 * worker that dies failing only its future; mproc_wait (ALL / ANY / FIRST_ERROR) and
 * as_completed over items of two pools; cancel tokens carried to tasks under every start
 * method; bad input. Cases that make sense for both kinds of executor run for a
 * ProcessPoolExecutor (_processes) and a ThreadPoolExecutor (_threads).
 *
 * Tasks that must stay running are held on gate files the test writes (pool_common's
 * gate_square and open_gate_file): the same gate works for a worker thread and for a
 * worker process under any start method. A task that must be seen running first writes
 * its own "started" file. The
 * harness checks after every case that no fd/handle, child or shm name leaked, so every
 * case destroys its executors, pools, futures and tokens. */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif
#include "pool_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tasks -------------------------------------------------------------------------------- */

/* (x): fails with "bad item x". */
MPROC_TASK(fail_item, in, out)
{
    mproc_unpacker u;
    int64_t x;
    open_args(&u, in);
    if (mproc_unpack_i64(&u, &x))
        return mproc_task_fail(out, "no argument");
    return mproc_task_fail(out, "bad item %d", (int)x);
}

/* (array, x): adds 1 to array[x]; returns x. */
MPROC_TASK(mark_ran, in, out)
{
    mproc_unpacker u;
    mproc_array *a = NULL;
    int64_t x;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_array(&u, &a) || mproc_unpack_i64(&u, &x)) {
        if (a)
            mproc_array_destroy(a);
        return mproc_task_fail(out, "wanted (array, x)");
    }
    int rc = mproc_array_add_i64(a, (size_t)x, 1, NULL);
    mproc_array_destroy(a);
    if (rc != 0)
        return mproc_task_fail(out, "add: %s", mproc_errname(rc));
    return put_i64(out, x);
}

/* (token, started): writes `started`, then polls the token (30 s at most) and returns
 * "cancelled after N rounds", or fails with "never cancelled". */
MPROC_TASK(poll_cancel, in, out)
{
    mproc_unpacker u;
    mproc_cancel *c = NULL;
    const char *started;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_cancel(&u, &c) || mproc_unpack_str(&u, &started)) {
        if (c)
            mproc_cancel_destroy(c);
        return mproc_task_fail(out, "wanted (token, started)");
    }
    harness_write_i64(started, mproc_getpid());
    int64_t rounds = 0, end = harness_now_ms() + 30000;
    int requested = 0;
    while (harness_now_ms() < end) {
        rounds++;
        requested = mproc_cancel_requested(c);
        if (requested != 0)
            break;
        harness_sleep_ms(2);
    }
    mproc_cancel_destroy(c);
    if (requested != 1)
        return mproc_task_fail(out, "never cancelled (%d)", requested);
    char text[64];
    snprintf(text, sizeof text, "cancelled after %lld rounds", (long long)rounds);
    return put_text(out, text);
}

/* (token): waits on the token (30 s at most): "cancelled", or fails with the code. */
MPROC_TASK(wait_cancel, in, out)
{
    mproc_unpacker u;
    mproc_cancel *c = NULL;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_cancel(&u, &c))
        return mproc_task_fail(out, "wanted (token)");
    int rc = mproc_cancel_wait(c, 30000);
    int requested = mproc_cancel_requested(c);
    mproc_cancel_destroy(c);
    if (rc != 0)
        return mproc_task_fail(out, "cancel_wait: %s", mproc_errname(rc));
    if (requested != 1)
        return mproc_task_fail(out, "woken but not requested (%d)", requested);
    return put_text(out, "cancelled");
}

/* ---- helpers for the parent ------------------------------------------------------------------ */

static mproc_executor *new_executor(pool_kind kind, int workers)
{
    mproc_executor *ex = NULL;
    assert_ok(mproc_executor_create(
        &ex, &(mproc_executor_opts){.max_workers = workers, .threads = kind == POOL_THREADS}));
    assert_non_null(ex);
    return ex;
}

/* submit(task, args) with the pack destroyed at once (it is copied). */
static mproc_future *submit(mproc_executor *ex, const char *task, mproc_pack *args)
{
    mproc_future *f = NULL;
    assert_ok(mproc_executor_submit(ex, task, args, &f));
    assert_non_null(f);
    mproc_pack_destroy(args);
    return f;
}

static mproc_future *submit_square(mproc_executor *ex, int64_t x)
{
    return submit(ex, "square", pack_of(x));
}

/* A gate task; started may be NULL. */
static mproc_future *submit_gate(mproc_executor *ex, const char *started, const char *gate,
                                 int64_t x)
{
    return submit(ex, "gate_square", pack_gate(gate, x, started));
}

/* result() is 0 and x*x. */
static void expect_square(mproc_future *f, int64_t x)
{
    mproc_bytes r = {0};
    int rc = mproc_future_result(f, WAIT_MS, &r);
    if (rc != 0)
        fail_msg("result of the task for %lld: %s (%d) \"%.*s\"", (long long)x, mproc_errname(rc),
                 rc, (int)r.len, r.data ? (const char *)r.data : "");
    assert_int_equal(as_i64(&r), x * x);
    mproc_bytes_free(&r);
    assert_int_equal(mproc_future_done(f), 1);
    assert_int_equal(mproc_future_cancelled(f), 0);
}

/* What a failed result may hold: nothing, or a NUL-terminated text (freed here). */
static void free_text_if_any(mproc_bytes *b)
{
    if (b->data)
        assert_some_text(b);
    else
        assert_int_equal(b->len, 0);
    mproc_bytes_free(b);
}

/* A future that was cancelled: result MPROC_ECANCELLED (no result: at most a text, as for
 * the pool's failures), done, cancelled. */
static void expect_cancelled(mproc_future *f)
{
    mproc_bytes r = {0};
    assert_rc(mproc_future_result(f, WAIT_MS, &r), MPROC_ECANCELLED);
    free_text_if_any(&r);
    assert_rc(mproc_future_result(f, 0, &r), MPROC_ECANCELLED);
    free_text_if_any(&r);
    assert_int_equal(mproc_future_done(f), 1);
    assert_int_equal(mproc_future_cancelled(f), 1);
}

/* Waits (bounded) for a task's "started" file. */
static void wait_started(const char *started)
{
    int64_t pid = 0;
    if (!harness_read_i64(started, &pid, WAIT_MS))
        fail_msg("the task never started (%s)", started);
    assert_true(pid > 0);
}

/* ---- submit and result ---------------------------------------------------------------------- */

static void executor_submit_result(pool_kind kind)
{
    mproc_executor *ex = new_executor(kind, 2);
    mproc_pool *pool = mproc_executor_pool(ex);
    assert_non_null(pool);
    assert_int_equal(mproc_pool_size(pool), 2);

    /* submit, result, done. */
    mproc_future *f = submit_square(ex, 7);
    expect_square(f, 7);
    mproc_bytes r = {0};
    for (int i = 0; i < 2; i++) { /* result may be asked again; done: a poll is enough */
        assert_ok(mproc_future_result(f, 0, &r));
        assert_int_equal(as_i64(&r), 49);
        mproc_bytes_free(&r);
    }
    assert_int_equal(mproc_future_cancel(f), 0); /* done: too late */
    assert_int_equal(mproc_future_cancelled(f), 0);

    /* A future is an mproc_async. */
    mproc_async *a = f;
    assert_int_equal(mproc_async_ready(a), 1);
    assert_int_equal(mproc_async_successful(a), 1);
    assert_int_equal(mproc_async_count(a), 1);
    assert_ok(mproc_async_wait(a, WAIT_MS));
    assert_ok(mproc_async_get(a, WAIT_MS, &r));
    assert_int_equal(as_i64(&r), 49);
    mproc_bytes_free(&r);
    mproc_future_destroy(f);

    /* args NULL: the task gets an empty pack. */
    f = NULL;
    assert_ok(mproc_executor_submit(ex, "square", NULL, &f));
    assert_rc(mproc_future_result(f, WAIT_MS, &r), MPROC_ETASK);
    assert_text(&r, "no argument");
    mproc_bytes_free(&r);
    assert_int_equal(mproc_future_done(f), 1);
    mproc_future_destroy(f);

    /* A failing task: MPROC_ETASK and its text (exception()), also through async_get. */
    f = submit(ex, "fail_item", pack_of(3));
    assert_rc(mproc_future_result(f, WAIT_MS, &r), MPROC_ETASK);
    assert_text(&r, "bad item 3");
    mproc_bytes_free(&r);
    assert_int_equal(mproc_future_done(f), 1);
    assert_int_equal(mproc_future_cancelled(f), 0);
    assert_int_equal(mproc_async_successful(f), 0);
    assert_rc(mproc_async_get(f, WAIT_MS, &r), MPROC_ETASK);
    assert_text(&r, "bad item 3");
    mproc_bytes_free(&r);
    mproc_future_destroy(f);
    f = submit(ex, "returns_seven", new_pack());
    assert_rc(mproc_future_result(f, WAIT_MS, &r), MPROC_ETASK);
    assert_text(&r, "task 'returns_seven' returned 7");
    mproc_bytes_free(&r);
    mproc_future_destroy(f);

    /* Not yet done: result times out with nothing filled, done is 0. */
    char gate[512];
    harness_temp_path(gate, sizeof gate, "gate");
    f = submit_gate(ex, NULL, gate, 5);
    assert_rc(mproc_future_result(f, 50, &r), MPROC_ETIMEDOUT);
    assert_empty(&r, 1);
    assert_rc(mproc_future_result(f, 0, &r), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_future_done(f), 0);
    assert_int_equal(mproc_async_ready(f), 0);
    open_gate_file(gate);
    expect_square(f, 5);
    mproc_future_destroy(f);

    /* Many in flight, read back in reverse. */
    mproc_future *many[30];
    for (int i = 0; i < 30; i++)
        many[i] = submit_square(ex, i);
    for (int i = 29; i >= 0; i--) {
        expect_square(many[i], i);
        mproc_future_destroy(many[i]);
    }
    mproc_executor_destroy(ex);
    remove(gate);

    /* max_workers <= 0: usable CPUs (processes), or that + 4, at most 32 (threads). */
    int cpus = mproc_cpu_count_usable();
    assert_true(cpus >= 1);
    int want = kind == POOL_THREADS ? (cpus + 4 < 32 ? cpus + 4 : 32) : cpus;
    ex = new_executor(kind, 0);
    assert_int_equal(mproc_pool_size(mproc_executor_pool(ex)), want);
    f = submit_square(ex, 11);
    expect_square(f, 11);
    mproc_future_destroy(f);
    mproc_executor_destroy(ex);

    /* An executor over the caller's pool: submits go to it, and it stays the caller's. */
    mproc_pool *mine = new_pool(kind, (mproc_pool_opts){.processes = 3});
    assert_ok(mproc_executor_create(&ex, &(mproc_executor_opts){.pool = mine, .max_workers = 1}));
    assert_ptr_equal(mproc_executor_pool(ex), mine);
    f = submit_square(ex, 12);
    expect_square(f, 12);
    mproc_executor_destroy(ex);
    expect_square(f, 12); /* still readable */
    mproc_future_destroy(f);
    mproc_pack *args = pack_of(13);
    assert_ok(mproc_pool_apply(mine, "square", args, WAIT_MS, &r)); /* the pool still works */
    assert_int_equal(as_i64(&r), 169);
    mproc_bytes_free(&r);
    mproc_pack_destroy(args);
    assert_ok(mproc_pool_close(mine));
    assert_ok(mproc_pool_join(mine, WAIT_MS));
    mproc_pool_destroy(mine);
}

/* ---- cancel --------------------------------------------------------------------------------- */

static void cancel_while_queued(pool_kind kind)
{
    char gate[512], started[512];
    harness_temp_path(gate, sizeof gate, "gate");
    harness_temp_path(started, sizeof started, "started");
    mproc_executor *ex = new_executor(kind, 1);
    mproc_future *running = submit_gate(ex, started, gate, 2);
    wait_started(started); /* the one worker is busy with it */
    mproc_future *q[3];
    for (int i = 0; i < 3; i++)
        q[i] = submit_square(ex, 10 + i);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(mproc_future_done(q[i]), 0);
        assert_int_equal(mproc_future_cancelled(q[i]), 0);
    }
    /* Cancel the first and the last queued one. */
    assert_int_equal(mproc_future_cancel(q[0]), 1);
    assert_int_equal(mproc_future_cancel(q[2]), 1);
    expect_cancelled(q[0]);
    expect_cancelled(q[2]);
    assert_int_equal(mproc_async_ready(q[0]), 1);
    /* Cancelling again changes nothing (the header leaves its answer open: Python says
     * True, "done" would say 0). */
    int again = mproc_future_cancel(q[0]);
    assert_true(again == 0 || again == 1);
    expect_cancelled(q[0]);
    /* The running one cannot be cancelled. */
    assert_int_equal(mproc_future_cancel(running), 0);
    assert_int_equal(mproc_future_cancelled(running), 0);
    assert_int_equal(mproc_future_done(running), 0);
    assert_int_equal(mproc_future_done(q[1]), 0);

    open_gate_file(gate);
    expect_square(running, 2);
    expect_square(q[1], 11);
    assert_int_equal(mproc_future_cancel(q[1]), 0); /* done: too late */
    assert_int_equal(mproc_future_cancelled(q[1]), 0);
    /* The cancelled ones never ran and stay cancelled; the executor goes on. */
    expect_cancelled(q[0]);
    expect_cancelled(q[2]);
    mproc_future *after = submit_square(ex, 9);
    expect_square(after, 9);
    mproc_future_destroy(after);
    mproc_future_destroy(running);
    for (int i = 0; i < 3; i++)
        mproc_future_destroy(q[i]);
    mproc_executor_destroy(ex);
    remove(gate);
    remove(started);
}

/* cancel() racing the dispatch of quick tasks: whatever it answers must be true. 1: the
 * task never runs and its result is MPROC_ECANCELLED; 0: it runs once and succeeds. */
static void cancel_races_dispatch(pool_kind kind)
{
    enum { N = 400 };
    mproc_executor *ex = new_executor(kind, 2);
    mproc_array *ran;
    assert_ok(mproc_array_create(&ran, MPROC_T_LONGLONG, N, false));
    static mproc_future *fs[N];
    int said[N];
    for (int i = 0; i < N; i++) {
        mproc_pack *args = new_pack();
        assert_ok(mproc_pack_handle(args, ran));
        assert_ok(mproc_pack_i64(args, i));
        fs[i] = submit(ex, "mark_ran", args);
        if (i % 2 == 1) /* the one before: running, queued or done by now */
            said[i - 1] = mproc_future_cancel(fs[i - 1]);
    }
    said[N - 1] = mproc_future_cancel(fs[N - 1]);
    int cancelled = 0;
    for (int i = 0; i < N; i++) {
        mproc_bytes r = {0};
        int rc = mproc_future_result(fs[i], WAIT_MS, &r);
        if (i % 2 == 1 && i != N - 1)
            said[i] = 0; /* never cancelled */
        if (said[i] == 1) {
            cancelled++;
            if (rc != MPROC_ECANCELLED)
                fail_msg("task %d: cancel gave 1, result %s", i, mproc_errname(rc));
            free_text_if_any(&r);
            assert_int_equal(mproc_future_cancelled(fs[i]), 1);
        } else {
            if (said[i] != 0)
                fail_msg("task %d: cancel gave %d", i, said[i]);
            if (rc != 0)
                fail_msg("task %d: cancel gave 0, result %s", i, mproc_errname(rc));
            assert_int_equal(as_i64(&r), i);
            mproc_bytes_free(&r);
            assert_int_equal(mproc_future_cancelled(fs[i]), 0);
        }
    }
    mproc_executor_destroy(ex); /* every task that runs has run */
    for (int i = 0; i < N; i++) {
        int64_t times = -1;
        assert_ok(mproc_array_get_i64(ran, (size_t)i, &times));
        if (times != (said[i] == 1 ? 0 : 1))
            fail_msg("task %d ran %d times; cancel gave %d", i, (int)times, said[i]);
        mproc_future_destroy(fs[i]);
    }
    print_message("%d of %d cancelled\n", cancelled, N / 2 + 1);
    mproc_array_destroy(ran);
}

/* ---- done callbacks ------------------------------------------------------------------------- */

typedef struct {
    int calls;          /* atomic */
    mproc_future *seen; /* the future given */
    int thread;         /* the thread it ran on (harness_thread_id) */
    int done_then;      /* mproc_future_done in the callback */
    int tag;
} cb_record;

static void on_done(void *ctx, mproc_future *f)
{
    cb_record *c = ctx;
    c->seen = f;
    c->thread = harness_thread_id();
    c->done_then = mproc_future_done(f);
    __atomic_add_fetch(&c->calls, 1, __ATOMIC_SEQ_CST);
}

static int calls_of(cb_record *c)
{
    return __atomic_load_n(&c->calls, __ATOMIC_SEQ_CST);
}

/* Waits (bounded) for the callback to have run at least once. */
static void wait_called(cb_record *c)
{
    int64_t end = harness_now_ms() + WAIT_MS;
    while (calls_of(c) == 0) {
        if (harness_now_ms() > end)
            fail_msg("callback %d never ran", c->tag);
        harness_sleep_ms(5);
    }
}

/* A callback that reads its future's result and adds another callback to it (Python
 * allows both: the future is done). */
typedef struct {
    int calls; /* atomic */
    int result_rc, add_rc;
    int64_t value;
    cb_record inner;
} chain_record;

static void on_done_chain(void *ctx, mproc_future *f)
{
    chain_record *c = ctx;
    mproc_bytes r = {0};
    c->result_rc = mproc_future_result(f, WAIT_MS, &r);
    if (c->result_rc == 0)
        read_i64(&r, &c->value);
    mproc_bytes_free(&r);
    c->add_rc = mproc_future_add_done_callback(f, on_done, &c->inner);
    __atomic_add_fetch(&c->calls, 1, __ATOMIC_SEQ_CST);
}

static void add_done_callback(pool_kind kind)
{
    char gate[512], started[512];
    harness_temp_path(gate, sizeof gate, "gate");
    harness_temp_path(started, sizeof started, "started");
    mproc_executor *ex = new_executor(kind, 1);
    int me = harness_thread_id();

    /* Added before completion: runs once, when done, with the future. */
    cb_record before = {.tag = 1}, before2 = {.tag = 2};
    mproc_future *f = submit_gate(ex, started, gate, 4);
    assert_ok(mproc_future_add_done_callback(f, on_done, &before));
    assert_ok(mproc_future_add_done_callback(f, on_done, &before2));
    wait_started(started);
    assert_int_equal(calls_of(&before), 0);
    assert_int_equal(calls_of(&before2), 0);

    /* A queued future that is cancelled is done: its callback runs too. */
    cb_record on_cancel = {.tag = 3};
    mproc_future *q = submit_square(ex, 3);
    assert_ok(mproc_future_add_done_callback(q, on_done, &on_cancel));
    assert_int_equal(mproc_future_cancel(q), 1);
    wait_called(&on_cancel);
    assert_ptr_equal(on_cancel.seen, q);
    assert_int_equal(on_cancel.done_then, 1);

    open_gate_file(gate);
    expect_square(f, 4);
    wait_called(&before);
    wait_called(&before2);
    assert_ptr_equal(before.seen, f);
    assert_ptr_equal(before2.seen, f);
    assert_int_equal(before.done_then, 1);

    /* Added after completion: runs at once, on this thread. */
    cb_record after = {.tag = 4};
    assert_ok(mproc_future_add_done_callback(f, on_done, &after));
    assert_int_equal(calls_of(&after), 1);
    assert_ptr_equal(after.seen, f);
    assert_int_equal(after.thread, me);
    assert_int_equal(after.done_then, 1);

    /* A failed future is done too. */
    cb_record failed = {.tag = 5};
    mproc_future *bad = submit(ex, "fail_item", pack_of(1));
    assert_ok(mproc_future_add_done_callback(bad, on_done, &failed));
    mproc_bytes r = {0};
    assert_rc(mproc_future_result(bad, WAIT_MS, &r), MPROC_ETASK);
    mproc_bytes_free(&r);
    wait_called(&failed);
    assert_ptr_equal(failed.seen, bad);

    /* A callback that uses its future: result, and a callback added from inside. */
    chain_record chain = {.inner = {.tag = 7}};
    mproc_future *g = submit_square(ex, 6);
    assert_ok(mproc_future_add_done_callback(g, on_done_chain, &chain));
    expect_square(g, 6);
    int64_t end = harness_now_ms() + WAIT_MS;
    while (__atomic_load_n(&chain.calls, __ATOMIC_SEQ_CST) == 0) {
        if (harness_now_ms() > end)
            fail_msg("%s", "the chain callback never ran");
        harness_sleep_ms(5);
    }
    assert_ok(chain.result_rc);
    assert_int_equal(chain.value, 36);
    assert_ok(chain.add_rc);
    assert_int_equal(calls_of(&chain.inner), 1); /* done: ran at once, inside */
    assert_ptr_equal(chain.inner.seen, g);

    /* Once each, all threads of the executor joined. */
    mproc_executor_destroy(ex);
    assert_int_equal(__atomic_load_n(&chain.calls, __ATOMIC_SEQ_CST), 1);
    assert_int_equal(calls_of(&chain.inner), 1);
    mproc_future_destroy(g);
    assert_int_equal(calls_of(&before), 1);
    assert_int_equal(calls_of(&before2), 1);
    assert_int_equal(calls_of(&on_cancel), 1);
    assert_int_equal(calls_of(&after), 1);
    assert_int_equal(calls_of(&failed), 1);
    /* After the executor is gone the future is still done: at once, on this thread. */
    cb_record late = {.tag = 6};
    assert_ok(mproc_future_add_done_callback(f, on_done, &late));
    assert_int_equal(calls_of(&late), 1);
    assert_int_equal(late.thread, me);
    mproc_future_destroy(f);
    mproc_future_destroy(q);
    mproc_future_destroy(bad);
    remove(gate);
    remove(started);
}

/* ---- map ------------------------------------------------------------------------------------ */

static void executor_map_timeout(pool_kind kind)
{
    mproc_executor *ex = new_executor(kind, 2);
    enum { N = 12 };
    mproc_bytes results[N + 1] = {{0}}; /* one more: the call with n = N + 1 may clear it */

    /* A plain map, in order. */
    mproc_pack *items = pack_range(0, N);
    assert_ok(mproc_executor_map(ex, "square", items, 0, WAIT_MS, results, N));
    for (int i = 0; i < N; i++)
        assert_int_equal(as_i64(&results[i]), (int64_t)i * i);
    mproc_bytes_free_array(results, N);
    assert_ok(mproc_executor_map(ex, "square", items, 5, WAIT_MS, results, N));
    for (int i = 0; i < N; i++)
        assert_int_equal(as_i64(&results[i]), (int64_t)i * i);
    mproc_bytes_free_array(results, N);
    assert_rc(mproc_executor_map(ex, "square", items, 0, WAIT_MS, results, N + 1), MPROC_EINVAL);
    mproc_pack_destroy(items);

    /* The first failure in item order. */
    items = pack_range(0, 3);
    assert_ok(mproc_pack_str(items, "four"));
    assert_rc(mproc_executor_map(ex, "square", items, 1, WAIT_MS, results, 4), MPROC_ETASK);
    assert_text(&results[0], "no argument");
    for (int i = 1; i < 4; i++)
        assert_empty(&results[i], 1);
    mproc_bytes_free(&results[0]);
    mproc_pack_destroy(items);

    /* Over blocked tasks with a short timeout: MPROC_ETIMEDOUT, nothing filled. */
    char gate[512];
    harness_temp_path(gate, sizeof gate, "gate");
    items = new_pack();
    for (int i = 0; i < N; i++) {
        mproc_pack *item = pack_gate(gate, i, NULL);
        assert_ok(mproc_pack_pack(items, item));
        mproc_pack_destroy(item);
    }
    assert_rc(mproc_executor_map(ex, "gate_square", items, 1, 100, results, N), MPROC_ETIMEDOUT);
    for (int i = 0; i < N; i++)
        assert_empty(&results[i], 1);
    open_gate_file(gate);
    mproc_pack_destroy(items);

    /* Still usable: map and submit. */
    items = pack_range(0, N);
    assert_ok(mproc_executor_map(ex, "square", items, 0, WAIT_MS, results, N));
    for (int i = 0; i < N; i++)
        assert_int_equal(as_i64(&results[i]), (int64_t)i * i);
    mproc_bytes_free_array(results, N);
    mproc_pack_destroy(items);
    mproc_future *f = submit_square(ex, 6);
    expect_square(f, 6);
    mproc_future_destroy(f);
    mproc_executor_destroy(ex);
    remove(gate);
}

/* ---- shutdown ------------------------------------------------------------------------------- */

typedef struct {
    const char *gate;
    int64_t delay_ms;
} gate_opener;

static void open_gate_later(void *arg)
{
    gate_opener *g = arg;
    harness_sleep_ms(g->delay_ms);
    open_gate_file(g->gate);
}

static void shutdown_rules(pool_kind kind)
{
    char gate[512], started[512];
    mproc_bytes r = {0};
    mproc_future *f = NULL;

    /* shutdown(cancel_futures): the queued ones are cancelled, the running one goes on;
     * submit after shutdown is MPROC_ESTATE. */
    harness_temp_path(gate, sizeof gate, "gate");
    harness_temp_path(started, sizeof started, "started");
    mproc_executor *ex = new_executor(kind, 1);
    mproc_future *running = submit_gate(ex, started, gate, 3);
    wait_started(started);
    mproc_future *q[2] = {submit_square(ex, 4), submit_square(ex, 5)};
    assert_ok(mproc_executor_shutdown(ex, false, true, 0));
    expect_cancelled(q[0]);
    expect_cancelled(q[1]);
    assert_int_equal(mproc_future_done(running), 0);
    mproc_pack *args = pack_of(1);
    assert_rc(mproc_executor_submit(ex, "square", args, &f), MPROC_ESTATE);
    assert_rc(mproc_executor_map(ex, "square", args, 0, WAIT_MS, &r, 1), MPROC_ESTATE);
    assert_empty(&r, 1);
    /* wait, with a timeout, while it runs: MPROC_ETIMEDOUT and it goes on. */
    assert_rc(mproc_executor_shutdown(ex, true, false, 50), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_future_done(running), 0);
    open_gate_file(gate);
    assert_ok(mproc_executor_shutdown(ex, true, false, WAIT_MS));
    /* wait=true waited for it: done now, without waiting. */
    assert_int_equal(mproc_future_done(running), 1);
    assert_ok(mproc_future_result(running, 0, &r));
    assert_int_equal(as_i64(&r), 9);
    mproc_bytes_free(&r);
    assert_ok(mproc_executor_shutdown(ex, true, false, WAIT_MS)); /* again: fine */
    assert_rc(mproc_executor_submit(ex, "square", args, &f), MPROC_ESTATE);
    mproc_executor_destroy(ex);
    mproc_future_destroy(running);
    mproc_future_destroy(q[0]);
    mproc_future_destroy(q[1]);
    remove(gate);
    remove(started);

    /* shutdown(wait) without cancel_futures: the queued ones run too. */
    harness_temp_path(gate, sizeof gate, "gate");
    harness_temp_path(started, sizeof started, "started");
    ex = new_executor(kind, 1);
    running = submit_gate(ex, started, gate, 6);
    wait_started(started);
    q[0] = submit_square(ex, 7);
    q[1] = submit_square(ex, 8);
    gate_opener opener = {gate, 100};
    harness_thread *t = harness_thread_start(open_gate_later, &opener);
    assert_ok(mproc_executor_shutdown(ex, true, false, WAIT_MS));
    harness_thread_join(t);
    for (int i = 0; i < 3; i++) {
        mproc_future *g = i == 0 ? running : q[i - 1];
        assert_int_equal(mproc_future_done(g), 1);
        assert_ok(mproc_future_result(g, 0, &r));
        assert_int_equal(as_i64(&r), (6 + i) * (6 + i));
        mproc_bytes_free(&r);
    }
    assert_rc(mproc_executor_submit(ex, "square", args, &f), MPROC_ESTATE);
    mproc_executor_destroy(ex);
    mproc_future_destroy(running);
    mproc_future_destroy(q[0]);
    mproc_future_destroy(q[1]);
    remove(gate);
    remove(started);

    /* destroy with live futures: it waits for the running one; the futures stay readable
     * after it. */
    harness_temp_path(gate, sizeof gate, "gate");
    harness_temp_path(started, sizeof started, "started");
    ex = new_executor(kind, 2);
    mproc_future *finished = submit_square(ex, 12);
    expect_square(finished, 12);
    mproc_future *failed = submit(ex, "fail_item", pack_of(2));
    assert_rc(mproc_future_result(failed, WAIT_MS, &r), MPROC_ETASK);
    mproc_bytes_free(&r);
    running = submit_gate(ex, started, gate, 13);
    wait_started(started);
    opener = (gate_opener){gate, 100};
    t = harness_thread_start(open_gate_later, &opener);
    mproc_executor_destroy(ex);
    harness_thread_join(t);
    assert_int_equal(mproc_future_done(running), 1);
    assert_ok(mproc_future_result(running, 0, &r));
    assert_int_equal(as_i64(&r), 169);
    mproc_bytes_free(&r);
    assert_ok(mproc_future_result(finished, 0, &r));
    assert_int_equal(as_i64(&r), 144);
    mproc_bytes_free(&r);
    assert_rc(mproc_future_result(failed, 0, &r), MPROC_ETASK);
    assert_text(&r, "bad item 2");
    mproc_bytes_free(&r);
    assert_int_equal(mproc_async_ready(running), 1);
    assert_int_equal(mproc_future_cancel(running), 0);
    mproc_future_destroy(running);
    mproc_future_destroy(finished);
    mproc_future_destroy(failed);
    mproc_pack_destroy(args);
    remove(gate);
    remove(started);
}

/* ---- a worker that dies ---------------------------------------------------------------------- */

static void worker_death_fails_only_its_future(void **state)
{
    (void)state;
    char gate[512];
    harness_temp_path(gate, sizeof gate, "gate");
    mproc_executor *ex = new_executor(POOL_PROCESSES, 2);
    /* Submitted before: a quick one, and one held on the gate (in the other worker or
     * queued) while the third kills its worker. */
    mproc_future *quick = submit_square(ex, 3);
    expect_square(quick, 3);
    mproc_future *held = submit_gate(ex, NULL, gate, 4);
    mproc_future *dies = submit(ex, "exit_three", new_pack());
    mproc_bytes r = {0};
    assert_rc(mproc_future_result(dies, WAIT_MS, &r), MPROC_EWORKER);
    assert_some_text(&r);
    mproc_bytes_free(&r);
    assert_int_equal(mproc_future_done(dies), 1);
    assert_int_equal(mproc_future_cancelled(dies), 0);
    assert_int_equal(mproc_async_successful(dies), 0);
    /* Only its future: the others are not touched. */
    assert_int_equal(mproc_future_done(held), 0);
    assert_ok(mproc_future_result(quick, 0, &r));
    assert_int_equal(as_i64(&r), 9);
    mproc_bytes_free(&r);
    /* Submitted after: they succeed (a new worker takes the dead one's place). */
    mproc_future *later[6];
    for (int i = 0; i < 6; i++)
        later[i] = submit_square(ex, 20 + i);
    open_gate_file(gate);
    expect_square(held, 4);
    for (int i = 0; i < 6; i++) {
        expect_square(later[i], 20 + i);
        mproc_future_destroy(later[i]);
    }
    /* Again, through map: the executor is whole. */
    mproc_pack *items = pack_range(0, 8);
    mproc_bytes results[8] = {{0}};
    assert_ok(mproc_executor_map(ex, "square", items, 1, WAIT_MS, results, 8));
    for (int i = 0; i < 8; i++)
        assert_int_equal(as_i64(&results[i]), (int64_t)i * i);
    mproc_bytes_free_array(results, 8);
    mproc_pack_destroy(items);
    mproc_executor_destroy(ex);
    assert_rc(mproc_future_result(dies, 0, &r), MPROC_EWORKER); /* still readable */
    assert_some_text(&r);
    mproc_bytes_free(&r);
    mproc_future_destroy(quick);
    mproc_future_destroy(held);
    mproc_future_destroy(dies);
    remove(gate);
}

/* ---- waiting on many ------------------------------------------------------------------------ */

static mproc_async *pool_async(mproc_pool *pool, const char *task, mproc_pack *args)
{
    mproc_async *a = NULL;
    assert_ok(mproc_pool_apply_async(pool, task, args, NULL, &a));
    mproc_pack_destroy(args);
    return a;
}

/* mproc_wait returned want and these done flags (1/0 per item). */
static void expect_wait(mproc_async *const *items, size_t n, mproc_wait_mode mode,
                        int64_t timeout_ms, int want, const char *flags)
{
    bool done[8];
    memset(done, 0x5A, sizeof done); /* neither true nor false: each must be written */
    int rc = mproc_wait(items, n, mode, timeout_ms, done);
    if (rc != want)
        fail_msg("mproc_wait(mode %d, %d items) returned %s (%d), wanted %s (%d)", (int)mode,
                 (int)n, mproc_errname(rc), rc, mproc_errname(want), want);
    unsigned char bytes[8];
    memcpy(bytes, done, sizeof bytes);
    for (size_t i = 0; i < n; i++)
        if (bytes[i] > 1 || bytes[i] != (unsigned char)(flags[i] - '0'))
            fail_msg("mode %d: done[%d] is %d, wanted %c (all wanted: %s)", (int)mode, (int)i,
                     (int)bytes[i], flags[i], flags);
}

static void wait_all_any_first_error(pool_kind kind)
{
    char gate_a[512], gate_b[512], started_a[512], started_b[512];
    harness_temp_path(gate_a, sizeof gate_a, "gate-a");
    harness_temp_path(gate_b, sizeof gate_b, "gate-b");
    harness_temp_path(started_a, sizeof started_a, "started-a");
    harness_temp_path(started_b, sizeof started_b, "started-b");
    mproc_executor *ex = new_executor(kind, 2);
    mproc_pool *pool; /* a second pool, of processes */
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 2}));

    mproc_future *fa = submit_gate(ex, started_a, gate_a, 2); /* held on A */
    mproc_async *pb = pool_async(pool, "gate_square", pack_gate(gate_b, 3, started_b)); /* B */
    mproc_future *fq = submit_square(ex, 4);                                            /* quick */
    mproc_async *pq = pool_async(pool, "square", pack_of(5));                           /* quick */
    wait_started(started_a);
    wait_started(started_b);

    /* The quick ones, from both pools: ALL. */
    mproc_async *quick[2] = {fq, pq};
    expect_wait(quick, 2, MPROC_WAIT_ALL, WAIT_MS, 2, "11");
    expect_wait(quick, 2, MPROC_WAIT_ANY, WAIT_MS, 2, "11");
    expect_wait(quick, 2, MPROC_WAIT_FIRST_ERROR, WAIT_MS, 2, "11");
    assert_int_equal(mproc_wait(quick, 2, MPROC_WAIT_ALL, 0, NULL), 2); /* done may be NULL */

    /* Held and quick: ALL times out with done[] filled; ANY has the quick one. */
    mproc_async *mixed[3] = {fa, pb, fq};
    expect_wait(mixed, 3, MPROC_WAIT_ALL, 100, MPROC_ETIMEDOUT, "001");
    expect_wait(mixed, 3, MPROC_WAIT_ALL, 0, MPROC_ETIMEDOUT, "001");
    expect_wait(mixed, 3, MPROC_WAIT_ANY, WAIT_MS, 1, "001");
    expect_wait(mixed, 3, MPROC_WAIT_FIRST_ERROR, 100, MPROC_ETIMEDOUT, "001");
    assert_rc(mproc_wait(mixed, 3, MPROC_WAIT_ALL, 20, NULL), MPROC_ETIMEDOUT);

    /* Only held ones: ANY times out. */
    mproc_async *held[2] = {fa, pb};
    expect_wait(held, 2, MPROC_WAIT_ANY, 100, MPROC_ETIMEDOUT, "00");

    /* FIRST_ERROR: a failure ends the wait though the held ones are not done — from
     * either pool. */
    mproc_async *pe = pool_async(pool, "fail_item", pack_of(1));
    mproc_async *with_error[3] = {fa, pb, pe};
    expect_wait(with_error, 3, MPROC_WAIT_FIRST_ERROR, WAIT_MS, 1, "001");
    expect_wait(with_error, 3, MPROC_WAIT_ALL, 50, MPROC_ETIMEDOUT, "001");
    mproc_future *fe = submit(ex, "returns_seven", new_pack());
    mproc_async *with_error2[3] = {fe, fa, pb};
    expect_wait(with_error2, 3, MPROC_WAIT_FIRST_ERROR, WAIT_MS, 1, "100");

    /* Open A: ANY over the held ones has it; ALL still waits for B. */
    open_gate_file(gate_a);
    expect_wait(held, 2, MPROC_WAIT_ANY, WAIT_MS, 1, "10");
    expect_wait(held, 2, MPROC_WAIT_ALL, 100, MPROC_ETIMEDOUT, "10");
    expect_wait(held, 2, MPROC_WAIT_FIRST_ERROR, 100, MPROC_ETIMEDOUT, "10");
    open_gate_file(gate_b);
    expect_wait(held, 2, MPROC_WAIT_ALL, WAIT_MS, 2, "11");
    /* All done, no failure: FIRST_ERROR returns when all are done. */
    mproc_async *all_ok[4] = {fa, pb, fq, pq};
    expect_wait(all_ok, 4, MPROC_WAIT_FIRST_ERROR, WAIT_MS, 4, "1111");
    mproc_async *everything[6] = {fa, pb, fq, pq, pe, fe};
    expect_wait(everything, 6, MPROC_WAIT_ALL, WAIT_MS, 6, "111111");

    /* Cancelled ones count as done. */
    char gate_c[512], started_c[512];
    harness_temp_path(gate_c, sizeof gate_c, "gate-c");
    harness_temp_path(started_c, sizeof started_c, "started-c");
    mproc_executor *one = new_executor(kind, 1);
    mproc_future *busy = submit_gate(one, started_c, gate_c, 6);
    wait_started(started_c);
    mproc_future *queued = submit_square(one, 7);
    assert_int_equal(mproc_future_cancel(queued), 1);
    mproc_async *with_cancelled[2] = {queued, busy};
    expect_wait(with_cancelled, 2, MPROC_WAIT_ANY, WAIT_MS, 1, "10");
    expect_wait(with_cancelled, 1, MPROC_WAIT_ALL, WAIT_MS, 1, "1");
    expect_wait(with_cancelled, 2, MPROC_WAIT_ALL, 50, MPROC_ETIMEDOUT, "10");
    open_gate_file(gate_c);
    expect_wait(with_cancelled, 2, MPROC_WAIT_ALL, WAIT_MS, 2, "11");

    /* The results are the tasks'. */
    expect_square(fa, 2);
    mproc_bytes r = {0};
    assert_ok(mproc_async_get(pb, WAIT_MS, &r));
    assert_int_equal(as_i64(&r), 9);
    mproc_bytes_free(&r);
    assert_rc(mproc_async_get(pe, WAIT_MS, &r), MPROC_ETASK);
    assert_text(&r, "bad item 1");
    mproc_bytes_free(&r);

    mproc_future_destroy(busy);
    mproc_future_destroy(queued);
    mproc_executor_destroy(one);
    mproc_future_destroy(fa);
    mproc_future_destroy(fq);
    mproc_future_destroy(fe);
    mproc_async_destroy(pb);
    mproc_async_destroy(pq);
    mproc_async_destroy(pe);
    mproc_executor_destroy(ex);
    mproc_pool_destroy(pool);
    remove(gate_a);
    remove(gate_b);
    remove(gate_c);
    remove(started_a);
    remove(started_b);
    remove(started_c);
}

/* ---- as_completed ---------------------------------------------------------------------------- */

static void as_completed_order(pool_kind kind)
{
    enum { N = 5 };
    char gates[N][512];
    mproc_executor *ex = new_executor(kind, 5); /* four held, one free */
    mproc_pool *pool;
    assert_ok(mproc_pool_create(&pool, &(mproc_pool_opts){.processes = 1}));
    mproc_async *items[N + 1];
    for (int i = 0; i < N; i++) {
        harness_temp_path(gates[i], sizeof gates[i], "gate");
        if (i == 4) /* the last one from another pool */
            items[i] = pool_async(pool, "gate_square", pack_gate(gates[i], i, NULL));
        else
            items[i] = submit_gate(ex, NULL, gates[i], i);
    }
    /* One done before as_completed starts: it comes out first. */
    items[N] = submit_square(ex, 9);
    expect_square(items[N], 9);

    mproc_as_completed *it;
    assert_ok(mproc_as_completed_create(&it, items, N + 1));
    size_t index = 999;
    assert_int_equal(mproc_as_completed_next(it, WAIT_MS, &index), 1);
    assert_int_equal(index, N);
    /* None of the others is done: a timeout. */
    index = 999;
    assert_rc(mproc_as_completed_next(it, 50, &index), MPROC_ETIMEDOUT);
    assert_rc(mproc_as_completed_next(it, 0, &index), MPROC_ETIMEDOUT);

    /* Released one at a time in this order, they come out in it. */
    const int order[N] = {2, 4, 0, 3, 1};
    for (int k = 0; k < N; k++) {
        open_gate_file(gates[order[k]]);
        index = 999;
        int rc = mproc_as_completed_next(it, WAIT_MS, &index);
        if (rc != 1)
            fail_msg("next after releasing %d: %s (%d)", order[k], mproc_errname(rc), rc);
        if (index != (size_t)order[k])
            fail_msg("next after releasing %d gave %d", order[k], (int)index);
        if (k + 1 < N)
            assert_rc(mproc_as_completed_next(it, 20, &index), MPROC_ETIMEDOUT);
    }
    /* All given: 0, and it stays 0. */
    assert_int_equal(mproc_as_completed_next(it, WAIT_MS, &index), 0);
    assert_int_equal(mproc_as_completed_next(it, 0, &index), 0);
    mproc_as_completed_destroy(it);

    /* A second iterator over items all done: each index once, then 0. */
    assert_ok(mproc_as_completed_create(&it, items, N + 1));
    bool seen[N + 1] = {false};
    for (int k = 0; k < N + 1; k++) {
        assert_int_equal(mproc_as_completed_next(it, WAIT_MS, &index), 1);
        assert_true(index <= N);
        assert_false(seen[index]);
        seen[index] = true;
    }
    assert_int_equal(mproc_as_completed_next(it, WAIT_MS, &index), 0);
    mproc_as_completed_destroy(it);

    /* Over no items: at the end at once. */
    assert_ok(mproc_as_completed_create(&it, items, 0));
    assert_int_equal(mproc_as_completed_next(it, WAIT_MS, &index), 0);
    mproc_as_completed_destroy(it);

    for (int i = 0; i < N; i++) {
        mproc_bytes r = {0};
        assert_ok(mproc_async_get(items[i], WAIT_MS, &r));
        assert_int_equal(as_i64(&r), (int64_t)i * i);
        mproc_bytes_free(&r);
        if (i == 4)
            mproc_async_destroy(items[i]);
        else
            mproc_future_destroy(items[i]);
        remove(gates[i]);
    }
    mproc_future_destroy(items[N]);
    mproc_executor_destroy(ex);
    mproc_pool_destroy(pool);
}

/* ---- cancel tokens --------------------------------------------------------------------------- */

static void cancel_token_across_processes(mproc_start_method method)
{
    mproc_context *ctx = NULL;
    if (!mproc_start_method_available(method)) {
        assert_rc(mproc_context_get(&ctx, method), MPROC_ENOTSUP);
        return;
    }
    assert_ok(mproc_context_get(&ctx, method));
    mproc_executor *ex;
    assert_ok(mproc_executor_create(&ex, &(mproc_executor_opts){.max_workers = 2, .ctx = ctx}));
    char started[512];
    harness_temp_path(started, sizeof started, "started");

    /* A token only the caller sets: the task polls it until the test triggers it. */
    mproc_cancel *told;
    assert_ok(mproc_cancel_create(&told, MPROC_FOREVER));
    assert_int_equal(mproc_cancel_requested(told), 0);
    assert_rc(mproc_cancel_wait(told, 30), MPROC_ETIMEDOUT);
    assert_rc(mproc_cancel_wait(told, 0), MPROC_ETIMEDOUT);
    mproc_pack *args = new_pack();
    assert_ok(mproc_pack_handle(args, told));
    assert_ok(mproc_pack_str(args, started));
    mproc_future *polling = submit(ex, "poll_cancel", args);

    /* A token that cancels itself 200 ms from now; a task waits on it. */
    mproc_cancel *timed;
    assert_ok(mproc_cancel_create(&timed, 200));
    args = new_pack();
    assert_ok(mproc_pack_handle(args, timed));
    mproc_future *waiting = submit(ex, "wait_cancel", args);
    mproc_bytes r = {0};
    int rc = mproc_future_result(waiting, WAIT_MS, &r);
    if (rc != 0)
        fail_msg("wait_cancel: %s \"%.*s\"", mproc_errname(rc), (int)r.len,
                 r.data ? (const char *)r.data : "");
    assert_string_equal(as_text(&r), "cancelled");
    mproc_bytes_free(&r);
    assert_int_equal(mproc_cancel_requested(timed), 1); /* the parent agrees */
    assert_ok(mproc_cancel_wait(timed, 0));
    assert_ok(mproc_cancel_wait(timed, WAIT_MS));

    /* The polling task is still polling: the other token is untouched. */
    wait_started(started);
    assert_int_equal(mproc_future_done(polling), 0);
    assert_int_equal(mproc_cancel_requested(told), 0);
    assert_ok(mproc_cancel_trigger(told));
    assert_int_equal(mproc_cancel_requested(told), 1);
    assert_ok(mproc_cancel_wait(told, 0));
    rc = mproc_future_result(polling, WAIT_MS, &r);
    if (rc != 0)
        fail_msg("poll_cancel: %s \"%.*s\"", mproc_errname(rc), (int)r.len,
                 r.data ? (const char *)r.data : "");
    long long rounds = -1;
    const char *said = as_text(&r);
    if (sscanf(said, "cancelled after %lld rounds", &rounds) != 1)
        fail_msg("poll_cancel gave \"%s\"", said);
    assert_true(rounds >= 1);
    mproc_bytes_free(&r);
    assert_ok(mproc_cancel_trigger(told)); /* again: still cancelled */
    assert_int_equal(mproc_cancel_requested(told), 1);

    /* A token triggered before the task starts: the task sees it at once. */
    remove(started);
    args = new_pack();
    assert_ok(mproc_pack_handle(args, told));
    assert_ok(mproc_pack_str(args, started));
    mproc_future *late = submit(ex, "poll_cancel", args);
    rc = mproc_future_result(late, WAIT_MS, &r);
    if (rc != 0)
        fail_msg("poll_cancel on a cancelled token: %s", mproc_errname(rc));
    assert_string_equal(as_text(&r), "cancelled after 1 rounds");
    mproc_bytes_free(&r);

    /* The tokens outlive the pack; the task's copies were its own. */
    mproc_future_destroy(late);
    mproc_future_destroy(polling);
    mproc_future_destroy(waiting);
    mproc_executor_destroy(ex);
    assert_int_equal(mproc_cancel_requested(told), 1);
    mproc_cancel_destroy(told);
    mproc_cancel_destroy(timed);
    remove(started);
}

/* Tokens in one process, across threads: a waiter is woken by a trigger from another
 * thread, and a self-cancelling token wakes its waiter without help. */
typedef struct {
    mproc_cancel *c;
    int rc;
} token_waiter;

static void wait_token(void *arg)
{
    token_waiter *w = arg;
    w->rc = mproc_cancel_wait(w->c, WAIT_MS);
}

/* ---- bad input ------------------------------------------------------------------------------- */

static void ignore_done(void *ctx, mproc_future *f)
{
    (void)ctx;
    (void)f;
}

static void bad_input(void **state)
{
    (void)state;
    mproc_executor *ex = NULL;
    mproc_future *f = NULL;
    mproc_bytes r = {0}, results[4] = {{0}};
    mproc_pack *args = pack_of(3), *items = pack_range(0, 4);

    /* Executors. */
    assert_rc(mproc_executor_create(NULL, &(mproc_executor_opts){.max_workers = 1}), MPROC_EINVAL);
    assert_rc(mproc_executor_create(&ex, &(mproc_executor_opts){.initializer = "no_such_task"}),
              MPROC_ENOTASK);
    assert_rc(mproc_executor_create(
                  &ex, &(mproc_executor_opts){.initializer = "no_such_task", .threads = true}),
              MPROC_ENOTASK);
    assert_rc(mproc_executor_submit(NULL, "square", args, &f), MPROC_EINVAL);
    assert_rc(mproc_executor_map(NULL, "square", items, 0, 1000, results, 4), MPROC_EINVAL);
    assert_rc(mproc_executor_shutdown(NULL, true, false, 1000), MPROC_EINVAL);
    assert_null(mproc_executor_pool(NULL));
    mproc_executor_destroy(NULL);

    ex = new_executor(POOL_PROCESSES, 1);
    assert_rc(mproc_executor_submit(ex, NULL, args, &f), MPROC_EINVAL);
    assert_rc(mproc_executor_submit(ex, "square", args, NULL), MPROC_EINVAL);
    assert_rc(mproc_executor_submit(ex, "no_such_task", args, &f), MPROC_ENOTASK);
    assert_rc(mproc_executor_map(ex, NULL, items, 0, 1000, results, 4), MPROC_EINVAL);
    assert_rc(mproc_executor_map(ex, "square", NULL, 0, 1000, results, 4), MPROC_EINVAL);
    assert_rc(mproc_executor_map(ex, "square", items, 0, 1000, NULL, 4), MPROC_EINVAL);
    assert_rc(mproc_executor_map(ex, "no_such_task", items, 0, 1000, results, 4), MPROC_ENOTASK);

    /* Futures. */
    assert_rc(mproc_future_result(NULL, 0, &r), MPROC_EINVAL);
    assert_rc(mproc_future_done(NULL), MPROC_EINVAL);
    assert_rc(mproc_future_cancel(NULL), MPROC_EINVAL);
    assert_rc(mproc_future_cancelled(NULL), MPROC_EINVAL);
    assert_rc(mproc_future_add_done_callback(NULL, ignore_done, NULL), MPROC_EINVAL);
    mproc_future_destroy(NULL);
    f = submit_square(ex, 3);
    assert_rc(mproc_future_result(f, WAIT_MS, NULL), MPROC_EINVAL);
    assert_rc(mproc_future_add_done_callback(f, NULL, NULL), MPROC_EINVAL);
    expect_square(f, 3);

    /* Waiting on many. */
    mproc_async *items1[2] = {f, NULL};
    bool done[2];
    assert_rc(mproc_wait(NULL, 1, MPROC_WAIT_ALL, 0, done), MPROC_EINVAL);
    assert_rc(mproc_wait(items1, 2, MPROC_WAIT_ALL, 0, done), MPROC_EINVAL);
    assert_rc(mproc_wait(items1, 1, (mproc_wait_mode)7, 0, done), MPROC_EINVAL);
    assert_rc(mproc_wait(items1, 1, (mproc_wait_mode)-1, 0, done), MPROC_EINVAL);
    assert_int_equal(mproc_wait(items1, 1, MPROC_WAIT_ALL, WAIT_MS, done), 1); /* the good one */
    mproc_as_completed *it = NULL;
    size_t index = 0;
    assert_rc(mproc_as_completed_create(NULL, items1, 1), MPROC_EINVAL);
    assert_rc(mproc_as_completed_create(&it, NULL, 1), MPROC_EINVAL);
    assert_rc(mproc_as_completed_create(&it, items1, 2), MPROC_EINVAL);
    assert_rc(mproc_as_completed_next(NULL, 0, &index), MPROC_EINVAL);
    mproc_as_completed_destroy(NULL);
    assert_ok(mproc_as_completed_create(&it, items1, 1));
    assert_rc(mproc_as_completed_next(it, WAIT_MS, NULL), MPROC_EINVAL);
    assert_int_equal(mproc_as_completed_next(it, WAIT_MS, &index), 1);
    assert_int_equal(index, 0);
    mproc_as_completed_destroy(it);
    mproc_future_destroy(f);

    /* Cancel tokens. */
    mproc_cancel *c = NULL;
    assert_rc(mproc_cancel_create(NULL, 100), MPROC_EINVAL);
    assert_rc(mproc_cancel_trigger(NULL), MPROC_EINVAL);
    assert_rc(mproc_cancel_requested(NULL), MPROC_EINVAL);
    assert_rc(mproc_cancel_wait(NULL, 0), MPROC_EINVAL);
    mproc_cancel_destroy(NULL);
    mproc_unpacker u;
    mproc_bytes view;
    assert_ok(mproc_pack_view(args, &view));
    assert_ok(mproc_unpack_init(&u, &view));
    assert_rc(mproc_unpack_cancel(NULL, &c), MPROC_EINVAL);
    assert_rc(mproc_unpack_cancel(&u, NULL), MPROC_EINVAL);
    assert_rc(mproc_unpack_cancel(&u, &c), MPROC_ETYPE); /* an integer is not a token */
    int64_t x;
    assert_ok(mproc_unpack_i64(&u, &x)); /* and the cursor did not move */
    assert_int_equal(x, 3);
    /* A token of another kind of object: an event is not a token. */
    mproc_event *e;
    assert_ok(mproc_event_create(&e));
    mproc_pack *with_event = new_pack();
    assert_ok(mproc_pack_handle(with_event, e));
    assert_ok(mproc_pack_view(with_event, &view));
    assert_ok(mproc_unpack_init(&u, &view));
    assert_rc(mproc_unpack_cancel(&u, &c), MPROC_ETYPE);
    mproc_pack_destroy(with_event);
    mproc_event_destroy(e);
    /* A token round trip in one process, and a thread woken by a trigger. */
    assert_ok(mproc_cancel_create(&c, MPROC_FOREVER));
    mproc_pack *with_token = new_pack();
    assert_ok(mproc_pack_handle(with_token, c));
    assert_ok(mproc_pack_view(with_token, &view));
    assert_ok(mproc_unpack_init(&u, &view));
    mproc_cancel *copy = NULL;
    assert_ok(mproc_unpack_cancel(&u, &copy));
    mproc_pack_destroy(with_token);
    token_waiter w = {copy, 12345};
    harness_thread *t = harness_thread_start(wait_token, &w);
    harness_sleep_ms(30);
    assert_int_equal(mproc_cancel_requested(copy), 0);
    assert_ok(mproc_cancel_trigger(c));
    harness_thread_join(t);
    assert_int_equal(w.rc, 0);
    assert_int_equal(mproc_cancel_requested(copy), 1);
    mproc_cancel_destroy(copy);
    mproc_cancel_destroy(c);
    assert_ok(mproc_cancel_create(&c, 50)); /* wakes its own waiter */
    w = (token_waiter){c, 12345};
    t = harness_thread_start(wait_token, &w);
    harness_thread_join(t);
    assert_int_equal(w.rc, 0);
    assert_int_equal(mproc_cancel_requested(c), 1);
    mproc_cancel_destroy(c);
    assert_ok(mproc_cancel_create(&c, 0)); /* a deadline of now: cancelled already */
    assert_int_equal(mproc_cancel_requested(c), 1);
    mproc_cancel_destroy(c);

    mproc_executor_destroy(ex);
    mproc_pack_destroy(args);
    mproc_pack_destroy(items);
}

/* ---- typed results and pack literals (API 1.0) ----------------------------------------------- */

static void typed_futures(pool_kind kind)
{
    mproc_executor *ex = NULL;
    assert_ok(mproc_executor_create(&ex, &(mproc_executor_opts){.max_workers = 2,
                                                                .threads = kind == POOL_THREADS,
                                                                .initializer = "init_tls",
                                                                .initargs = MPROC_ARGS(55)}));
    /* args as a literal; the result typed */
    mproc_future *f = NULL;
    assert_ok(mproc_executor_submit(ex, "typed_result", MPROC_ARGS(4), &f));
    mproc_bytes r = {0};
    assert_ok(mproc_future_result(f, WAIT_MS, &r));
    check_typed_result(&r, 4);
    mproc_bytes_free(&r);
    mproc_future_destroy(f);
    /* the initializer got its literal initargs */
    assert_ok(mproc_executor_submit(ex, "read_init", NULL, &f));
    assert_ok(mproc_future_result(f, WAIT_MS, &r));
    int64_t tag = 0, tid = 0;
    as_pair(&r, &tag, &tid);
    assert_int_equal(tag, 55);
    mproc_bytes_free(&r);
    mproc_future_destroy(f);
    /* the failure text rule holds for futures too */
    assert_ok(mproc_executor_submit(ex, "fail_with", MPROC_ARGS(1), &f));
    assert_rc(mproc_future_result(f, WAIT_MS, &r), MPROC_ETASK);
    assert_text(&r, "one string by hand");
    mproc_bytes_free(&r);
    mproc_future_destroy(f);
    /* map over a literal's fields */
    mproc_bytes results[3];
    assert_ok(mproc_executor_map(ex, "typed_result", MPROC_ARGS(7, 8, 9), 0, WAIT_MS, results, 3));
    for (int i = 0; i < 3; i++)
        check_typed_result(&results[i], 7 + i);
    mproc_bytes_free_array(results, 3);
    /* futures waited on together, their results typed */
    mproc_future *fs[3];
    for (int i = 0; i < 3; i++)
        assert_ok(mproc_executor_submit(ex, "typed_result", MPROC_ARGS(i + 10), &fs[i]));
    mproc_as_completed *it;
    assert_ok(mproc_as_completed_create(&it, fs, 3));
    size_t index = 99;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(mproc_as_completed_next(it, WAIT_MS, &index), 1);
        assert_true(index < 3);
        assert_ok(mproc_future_result(fs[index], 0, &r));
        check_typed_result(&r, (int64_t)index + 10);
        mproc_bytes_free(&r);
    }
    assert_int_equal(mproc_as_completed_next(it, WAIT_MS, &index), 0);
    mproc_as_completed_destroy(it);
    for (int i = 0; i < 3; i++)
        mproc_future_destroy(fs[i]);
    mproc_executor_destroy(ex);
}

#define HARNESS_CASES "cases/futures.txt"
#include "harness_main.h"
