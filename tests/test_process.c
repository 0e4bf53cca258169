/* Process: start/join/terminate/kill/exit codes, names, nesting, lifetimes (parent killed,
 * normal exit), bad input, and many start/join cycles, under every start method. */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif
#include "harness.h"

#include <stdio.h>
#include <string.h>

#ifndef _WIN32
#include <unistd.h>
#endif

/* ---- tasks ----------------------------------------------------------------------------- */

static int64_t arg_i64(const mproc_bytes *in, int index)
{
    mproc_unpacker u;
    mproc_unpack_init(&u, in);
    for (int i = 0; i < index; i++)
        mproc_unpack_skip(&u);
    int64_t v = 0; /* absent: 0 */
    mproc_unpack_i64(&u, &v);
    return v;
}

static const char *arg_str(const mproc_bytes *in, int index)
{
    mproc_unpacker u;
    mproc_unpack_init(&u, in);
    for (int i = 0; i < index; i++)
        mproc_unpack_skip(&u);
    const char *s = "";
    mproc_unpack_str(&u, &s);
    return s;
}

MPROC_TASK(exit_with, in, out)
{
    (void)out;
    return (int)arg_i64(in, 0);
}

MPROC_TASK(sleep_then_exit, in, out)
{
    (void)out;
    harness_sleep_ms(arg_i64(in, 0));
    return 0;
}

/* (code): packs a result, which a Process drops, and exits with code. */
MPROC_TASK(result_is_dropped, in, out)
{
    int64_t code = arg_i64(in, 0);
    if (MPROC_PACK(out, code, "a result nobody reads") != 0)
        return 99;
    return (int)code;
}

MPROC_TASK(check_args, in, out)
{
    (void)out;
    mproc_unpacker u, inner;
    int64_t i;
    double d;
    const char *s;
    const void *data;
    size_t n;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_i64(&u, &i) || i != -42)
        return 11;
    if (mproc_unpack_f64(&u, &d) || d != 2.5)
        return 12;
    if (mproc_unpack_str(&u, &s) || strcmp(s, "grüße 世界") != 0)
        return 13;
    if (mproc_unpack_bytes(&u, &data, &n) || n != 70000 ||
        ((const unsigned char *)data)[69999] != 99)
        return 14;
    if (mproc_unpack_pack(&u, &inner) || mproc_unpack_str(&inner, &s) || strcmp(s, "nested"))
        return 15;
    return mproc_unpack_peek(&u) == 0 ? 0 : 16;
}

/* args: expected name, expected parent pid */
MPROC_TASK(check_identity, in, out)
{
    (void)out;
    if (strcmp(mproc_current_name(), arg_str(in, 0)) != 0)
        return 21;
    if (mproc_getppid() != arg_i64(in, 1))
        return 22;
    if (mproc_getpid() == arg_i64(in, 1) || mproc_getpid() <= 0)
        return 23;
    if (!mproc_parent_name())
        return 24;
    return 0;
}

/* args: method. Starts a grandchild and checks it is named "<own name>:1". */
MPROC_TASK(start_grandchild, in, out)
{
    (void)out;
    char expected[300];
    const char *own = mproc_current_name();
    if (strncmp(own, "Process-", 8) != 0)
        return 31;
    snprintf(expected, sizeof expected, "%s:1", own);
    mproc_context *ctx;
    if (mproc_context_get(&ctx, (mproc_start_method)arg_i64(in, 0)))
        return 32;
    mproc_pack *args;
    mproc_pack_create(&args);
    mproc_pack_str(args, expected);
    mproc_pack_i64(args, mproc_getpid());
    mproc_process *p;
    int rc = mproc_process_create(
        &p, &(mproc_process_opts){.target = "check_identity", .args = args, .ctx = ctx});
    mproc_pack_destroy(args);
    if (rc)
        return 33;
    if (strcmp(mproc_process_name(p), expected) != 0)
        return 34;
    if (mproc_process_start(p) || mproc_process_join(p, 60000))
        return 35;
    int code;
    mproc_process_exitcode(p, &code);
    mproc_process_destroy(p);
    return code;
}

MPROC_TASK(daemon_tries_child, in, out)
{
    (void)in;
    (void)out;
    mproc_process *p;
    if (mproc_process_create(&p, &(mproc_process_opts){.target = "exit_with"}))
        return 41;
    int rc = mproc_process_start(p);
    mproc_process_destroy(p);
    return rc == MPROC_EDAEMON ? 0 : 42;
}

typedef struct grandchild_job {
    mproc_start_method method;
    const char *pid_path;
    mproc_process *p;
    int rc;
} grandchild_job;

static void start_long_sleeper(grandchild_job *job)
{
    mproc_context *ctx;
    mproc_context_get(&ctx, job->method);
    mproc_pack *args;
    mproc_pack_create(&args);
    mproc_pack_i64(args, 60000);
    job->rc = mproc_process_create(
        &job->p, &(mproc_process_opts){.target = "sleep_then_exit", .args = args, .ctx = ctx});
    mproc_pack_destroy(args);
    if (!job->rc)
        job->rc = mproc_process_start(job->p);
    if (!job->rc)
        harness_write_i64(job->pid_path, mproc_process_pid(job->p));
}

static void sleeper_thread(void *arg)
{
    start_long_sleeper(arg);
}

/* args: method, pid file, from_thread. Starts a long-sleeping grandchild (from a thread
 * that then ends, if asked), records its pid, and waits to be killed. */
MPROC_TASK(parent_of_sleeper, in, out)
{
    (void)out;
    grandchild_job job = {(mproc_start_method)arg_i64(in, 0), arg_str(in, 1), NULL, 0};
    if (arg_i64(in, 2)) {
        harness_thread_join(harness_thread_start(sleeper_thread, &job));
    } else {
        start_long_sleeper(&job);
    }
    if (job.rc)
        return 51;
    harness_sleep_ms(60000);
    return 52;
}

/* args: path, delay: writes 1 to path after the delay. */
MPROC_TASK(write_marker_after, in, out)
{
    (void)out;
    harness_sleep_ms(arg_i64(in, 1));
    harness_write_i64(arg_str(in, 0), 1);
    return 0;
}

/* args: method, marker path, daemon pid path. Leaves a daemon and a slow non-daemon
 * child running and returns: exit must terminate the first and wait for the second. */
MPROC_TASK(leave_children_running, in, out)
{
    (void)out;
    mproc_context *ctx;
    mproc_context_get(&ctx, (mproc_start_method)arg_i64(in, 0));
    mproc_pack *args;
    mproc_pack_create(&args);
    mproc_pack_i64(args, 60000);
    mproc_process *daemon, *slow;
    if (mproc_process_create(&daemon, &(mproc_process_opts){.target = "sleep_then_exit",
                                                            .args = args,
                                                            .daemon = true,
                                                            .ctx = ctx}) ||
        mproc_process_start(daemon))
        return 61;
    mproc_pack_reset(args);
    mproc_pack_str(args, arg_str(in, 1));
    mproc_pack_i64(args, 300);
    if (mproc_process_create(
            &slow,
            &(mproc_process_opts){.target = "write_marker_after", .args = args, .ctx = ctx}) ||
        mproc_process_start(slow))
        return 62;
    mproc_pack_destroy(args);
    harness_write_i64(arg_str(in, 2), mproc_process_pid(daemon));
    return 0; /* handles left open on purpose: the process exits now */
}

/* ---- helpers -------------------------------------------------------------------------------- */

/* Creates and starts target with args under method; on a platform without the method,
 * checks that it says so and returns NULL. */
static mproc_process *start(mproc_start_method method, const char *target, mproc_pack *args,
                            bool daemon)
{
    mproc_context *ctx;
    if (!mproc_start_method_available(method)) {
        assert_rc(mproc_context_get(&ctx, method), MPROC_ENOTSUP);
        assert_rc(mproc_set_start_method(method), MPROC_ENOTSUP);
        return NULL;
    }
    assert_ok(mproc_context_get(&ctx, method));
    assert_int_equal(mproc_context_method(ctx), method);
    mproc_process *p;
    assert_ok(mproc_process_create(
        &p, &(mproc_process_opts){.target = target, .args = args, .daemon = daemon, .ctx = ctx}));
    assert_ok(mproc_process_start(p));
    assert_true(mproc_process_pid(p) > 0);
    return p;
}

static mproc_pack *pack_i64(int64_t v)
{
    mproc_pack *p;
    assert_ok(mproc_pack_create(&p));
    assert_ok(mproc_pack_i64(p, v));
    return p;
}

static int finish(mproc_process *p)
{
    assert_ok(mproc_process_join(p, 60000));
    int code;
    assert_ok(mproc_process_exitcode(p, &code));
    assert_int_equal(mproc_process_is_alive(p), 0);
    assert_ok(mproc_process_destroy(p));
    return code;
}

/* ---- cases ------------------------------------------------------------------------------------ */

/* Leaves a pool (spawned workers, one task each) replacing its workers, and returns: the
 * process exits while the pool's result thread destroys the workers it replaces, the race
 * with the exit handler that TSan reported (issue 19). */
MPROC_TASK(exits_while_a_pool_replaces_workers, in, out)
{
    (void)in;
    (void)out;
    mproc_context *spawn;
    mproc_pool *pool;
    if (mproc_context_get(&spawn, MPROC_SPAWN) != 0 ||
        mproc_pool_create(
            &pool, &(mproc_pool_opts){.processes = 2, .maxtasksperchild = 1, .ctx = spawn}) != 0)
        return 90;
    mproc_pack *args = pack_i64(0);
    for (int i = 0; i < 40; i++)
        if (mproc_pool_apply_async(pool, "sleep_then_exit", args, NULL, NULL) != 0)
            return 91;
    mproc_bytes r;
    if (mproc_pool_apply(pool, "sleep_then_exit", args, 60000, &r) != 0)
        return 92;
    mproc_bytes_free(&r);
    mproc_pack_destroy(args);
    return 0;
}

static void exit_codes(mproc_start_method method)
{
    int codes[] = {0, 7, 255};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        mproc_pack *args = pack_i64(codes[i]);
        mproc_process *p = start(method, "exit_with", args, false);
        mproc_pack_destroy(args);
        if (!p)
            return;
        assert_int_equal(finish(p), codes[i]);
    }
}

static void args_round_trip(mproc_start_method method)
{
    mproc_pack *args, *inner;
    assert_ok(mproc_pack_create(&args));
    assert_ok(mproc_pack_create(&inner));
    static unsigned char big[70000];
    big[69999] = 99;
    mproc_pack_i64(args, -42);
    mproc_pack_f64(args, 2.5);
    mproc_pack_str(args, "grüße 世界");
    mproc_pack_bytes(args, big, sizeof big);
    mproc_pack_str(inner, "nested");
    mproc_pack_pack(args, inner);
    mproc_pack_destroy(inner);
    mproc_process *p = start(method, "check_args", args, false);
    mproc_pack_destroy(args);
    if (p)
        assert_int_equal(finish(p), 0);
}

static void names_and_identity(mproc_start_method method)
{
    if (!mproc_start_method_available(method)) {
        start(method, "exit_with", NULL, false);
        return;
    }
    assert_string_equal(mproc_current_name(), "MainProcess");
    assert_null(mproc_parent_name());
    mproc_context *ctx;
    mproc_context_get(&ctx, method);
    /* Default names count up per process, as Python's Process-N. */
    mproc_process *probe;
    assert_ok(mproc_process_create(&probe, &(mproc_process_opts){.target = "exit_with"}));
    int n = 0;
    assert_int_equal(sscanf(mproc_process_name(probe), "Process-%d", &n), 1);
    mproc_process_destroy(probe);
    for (int custom = 0; custom < 2; custom++) {
        char expected[64];
        snprintf(expected, sizeof expected, custom ? "worker-é%d" : "Process-%d", n + 1);
        mproc_pack *args;
        mproc_pack_create(&args);
        mproc_pack_str(args, expected);
        mproc_pack_i64(args, mproc_getpid());
        mproc_process *p;
        assert_ok(mproc_process_create(&p, &(mproc_process_opts){.target = "check_identity",
                                                                 .args = args,
                                                                 .name = custom ? expected : NULL,
                                                                 .ctx = ctx}));
        mproc_pack_destroy(args);
        assert_string_equal(mproc_process_name(p), expected);
        assert_false(mproc_process_daemon(p));
        assert_ok(mproc_process_start(p));
        assert_int_equal(finish(p), 0);
        n++;
    }
}

static void nested_children(mproc_start_method method)
{
    mproc_pack *args = pack_i64(method);
    mproc_process *p = start(method, "start_grandchild", args, false);
    mproc_pack_destroy(args);
    if (p)
        assert_int_equal(finish(p), 0);
}

static void join_timeout_then_terminate(mproc_start_method method)
{
    mproc_pack *args = pack_i64(60000);
    mproc_process *p = start(method, "sleep_then_exit", args, false);
    mproc_pack_destroy(args);
    if (!p)
        return;
    int code;
    assert_rc(mproc_process_join(p, 0), MPROC_ETIMEDOUT);
    assert_rc(mproc_process_join(p, 50), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_process_is_alive(p), 1);
    assert_ok(mproc_process_exitcode(p, &code));
    assert_int_equal(code, MPROC_EXIT_RUNNING);
    assert_rc(mproc_process_destroy(p), MPROC_EBUSY);
    assert_ok(mproc_process_terminate(p));
    assert_int_equal(finish(p), -15);
}

static void kill_gives_minus_nine(mproc_start_method method)
{
    mproc_pack *args = pack_i64(60000);
    mproc_process *p = start(method, "sleep_then_exit", args, false);
    mproc_pack_destroy(args);
    if (!p)
        return;
    assert_ok(mproc_process_kill(p));
    assert_int_equal(finish(p), -9);
}

static int late_task(const mproc_bytes *in, mproc_pack *out)
{
    (void)in;
    (void)out;
    return 0;
}

static void unknown_task(mproc_start_method method)
{
    mproc_process *p;
    assert_rc(mproc_process_create(&p, &(mproc_process_opts){.target = "no_such_task"}),
              MPROC_ENOTASK);
    assert_null(p);
    if (!mproc_start_method_available(method)) {
        start(method, "exit_with", NULL, false);
        return;
    }
    /* Registered after mproc_init: a fresh child (spawn, forkserver) does not know it and
     * must say so at start; a forked copy of the parent does. */
    assert_ok(mproc_task_register("registered_late", late_task));
    mproc_context *ctx;
    mproc_context_get(&ctx, method);
    assert_ok(
        mproc_process_create(&p, &(mproc_process_opts){.target = "registered_late", .ctx = ctx}));
    int rc = mproc_process_start(p);
    if (method == MPROC_FORK) {
        assert_int_equal(rc, 0);
        assert_int_equal(finish(p), 0);
    } else {
        assert_rc(rc, MPROC_ENOTASK);
        assert_int_equal(mproc_process_is_alive(p), 0);
        assert_ok(mproc_process_destroy(p));
    }
}

/* mproc_process_start_new (create + start, nothing left on failure) and mproc_process_run
 * (start, join, exit code, destroy; a timeout kills the child). */
/* A task of a static library (static_tasks.c), known here because of this mark; the
 * control program static_tasks_unused.c, without it, does not know the task. */
MPROC_USE_TASKS(static_tasks);

static void task_from_static_library(void **state)
{
    (void)state;
    assert_non_null(mproc_task_lookup("from_static_library"));
    char path[512];
    harness_temp_path(path, sizeof path, "static");
    /* a fresh run of this program (spawn) knows the task: it starts and runs */
    mproc_process *p = harness_start(MPROC_SPAWN, "from_static_library", MPROC_ARGS(path, 23));
    assert_non_null(p);
    int64_t pid = mproc_process_pid(p), written = 0;
    assert_int_equal(harness_join_code(p), 23);
    assert_true(harness_read_i64(path, &written, 0));
    assert_int_equal(written, pid);
    remove(path);
}

static void start_new_and_run(mproc_start_method method)
{
    mproc_context *ctx;
    if (!mproc_start_method_available(method)) {
        assert_rc(mproc_context_get(&ctx, method), MPROC_ENOTSUP);
        return;
    }
    assert_ok(mproc_context_get(&ctx, method));
    mproc_process *p = NULL;
    assert_ok(mproc_process_start_new(
        &p, &(mproc_process_opts){.target = "exit_with", .args = MPROC_ARGS(5), .ctx = ctx}));
    assert_non_null(p);
    assert_true(mproc_process_pid(p) > 0);
    assert_int_equal(finish(p), 5);

    /* A target unknown here, or to the child: MPROC_ENOTASK, *out NULL, nothing left. */
    p = (mproc_process *)&ctx;
    assert_rc(
        mproc_process_start_new(&p, &(mproc_process_opts){.target = "no_such_task", .ctx = ctx}),
        MPROC_ENOTASK);
    assert_null(p);
    assert_rc(mproc_process_start_new(NULL, &(mproc_process_opts){.target = "exit_with"}),
              MPROC_EINVAL);
    assert_rc(mproc_process_start_new(&p, NULL), MPROC_EINVAL);
    assert_null(p);
    assert_ok(mproc_task_register("registered_late", late_task));
    mproc_process_opts late = {.target = "registered_late", .ctx = ctx};
    p = (mproc_process *)&ctx;
    int rc = mproc_process_start_new(&p, &late);
    if (method == MPROC_FORK) { /* a forked copy knows it */
        assert_int_equal(rc, 0);
        assert_int_equal(finish(p), 0);
    } else {
        assert_rc(rc, MPROC_ENOTASK);
        assert_null(p);
    }
    assert_int_equal(mproc_active_children(NULL, 0), 0);

    /* run: the exit code (the task's packed result is dropped); exitcode may be NULL. */
    int code = -1;
    assert_ok(mproc_process_run(
        &(mproc_process_opts){.target = "result_is_dropped", .args = MPROC_ARGS(7), .ctx = ctx},
        60000, &code));
    assert_int_equal(code, 7);
    assert_ok(mproc_process_run(
        &(mproc_process_opts){.target = "exit_with", .args = MPROC_ARGS(0), .ctx = ctx},
        MPROC_FOREVER, NULL));

    /* A timeout kills the child (as subprocess.run) and reaps it: -9, MPROC_ETIMEDOUT. */
    mproc_process_opts sleeper = {
        .target = "sleep_then_exit", .args = MPROC_ARGS(60000), .ctx = ctx};
    int64_t t0 = harness_now_ms();
    code = 0;
    assert_rc(mproc_process_run(&sleeper, 200, &code), MPROC_ETIMEDOUT);
    assert_int_equal(code, -9);
    assert_rc(mproc_process_run(&sleeper, 0, NULL), MPROC_ETIMEDOUT);
    assert_true(harness_now_ms() - t0 < 30000);
    assert_int_equal(mproc_active_children(NULL, 0), 0);

    /* A start that fails: its code, *exitcode MPROC_EXIT_RUNNING (it never ran). */
    code = 0;
    assert_rc(
        mproc_process_run(&(mproc_process_opts){.target = "no_such_task", .ctx = ctx}, 1000, &code),
        MPROC_ENOTASK);
    assert_int_equal(code, MPROC_EXIT_RUNNING);
    if (method != MPROC_FORK) {
        code = 0;
        assert_rc(mproc_process_run(&late, 1000, &code), MPROC_ENOTASK);
        assert_int_equal(code, MPROC_EXIT_RUNNING);
    }
    assert_rc(mproc_process_run(&sleeper, -2, &code), MPROC_EINVAL);
    assert_rc(mproc_process_run(NULL, 1000, &code), MPROC_EINVAL);
}

static void daemon_has_no_children(mproc_start_method method)
{
    mproc_process *p = start(method, "daemon_tries_child", NULL, true);
    if (p)
        assert_int_equal(finish(p), 0);
}

static void parent_killed(mproc_start_method method, bool from_thread)
{
    char path[512];
    harness_temp_path(path, sizeof path, "pid");
    mproc_pack *args;
    mproc_pack_create(&args);
    mproc_pack_i64(args, method);
    mproc_pack_str(args, path);
    mproc_pack_i64(args, from_thread);
    mproc_process *p = start(method, "parent_of_sleeper", args, false);
    mproc_pack_destroy(args);
    if (!p)
        return;
    int64_t grandchild = 0;
    assert_true(harness_read_i64(path, &grandchild, 60000));
    remove(path);
    /* The thread that started it has ended: the grandchild must still run. */
    harness_sleep_ms(200);
    assert_true(harness_pid_alive(grandchild));
    harness_kill_pid(mproc_process_pid(p)); /* from outside, as `kill -9` would */
    assert_int_equal(finish(p), harness_is_windows() ? 137 : -9);
    assert_true(harness_wait_pid_gone(grandchild, 1000));
}

static void exit_terminates_daemons_joins_others(mproc_start_method method)
{
    char marker[512], daemon_pid_path[512];
    harness_temp_path(marker, sizeof marker, "marker");
    harness_temp_path(daemon_pid_path, sizeof daemon_pid_path, "daemon");
    mproc_pack *args;
    mproc_pack_create(&args);
    mproc_pack_i64(args, method);
    mproc_pack_str(args, marker);
    mproc_pack_str(args, daemon_pid_path);
    mproc_process *p = start(method, "leave_children_running", args, false);
    mproc_pack_destroy(args);
    if (!p)
        return;
    assert_int_equal(finish(p), 0);
    int64_t value = 0, daemon_pid = 0;
    /* The slow child was joined before its parent ended: its marker is already there. */
    assert_true(harness_read_i64(marker, &value, 0));
    assert_true(harness_read_i64(daemon_pid_path, &daemon_pid, 0));
    assert_true(harness_wait_pid_gone(daemon_pid, 1000));
    remove(marker);
    remove(daemon_pid_path);
}

static void many_cycles(mproc_start_method method)
{
    /* 1000 start/join cycles; the harness then checks that nothing leaked. */
    for (int i = 0; i < 1000; i++) {
        mproc_pack *args = pack_i64(i & 0x7f);
        mproc_process *p = start(method, "exit_with", args, false);
        mproc_pack_destroy(args);
        if (!p)
            return;
        assert_int_equal(finish(p), i & 0x7f);
    }
}

static void exec_failure_is_reported(mproc_start_method method)
{
    if (!mproc_start_method_available(method)) {
        start(method, "exit_with", NULL, false);
        return;
    }
    mproc_context *ctx;
    mproc_context_get(&ctx, method);
    mproc_process *p;
    assert_ok(mproc_process_create(&p, &(mproc_process_opts){.target = "exit_with", .ctx = ctx}));
    mpp_test_set_exe_path(harness_is_windows() ? "C:\\no\\such\\program.exe" : "/no/such/program");
    /* fork runs no executable, so only the others can fail this way. */
    assert_rc(mproc_process_start(p), method == MPROC_FORK ? 0 : MPROC_ESPAWN);
    if (method == MPROC_FORK)
        assert_int_equal(finish(p), 0), p = NULL;
    mpp_test_set_exe_path(NULL);
    if (!p)
        return;
    /* The same object can be started once the cause is gone. */
    assert_ok(mproc_process_start(p));
    assert_int_equal(finish(p), 0);
}

static void parent_killed_main(mproc_start_method m)
{
    parent_killed(m, false);
}
static void parent_killed_thread(mproc_start_method m)
{
    parent_killed(m, true);
}

static void state_errors(void **state)
{
    (void)state;
    mproc_process *p;
    int code;
    assert_ok(mproc_process_create(&p, &(mproc_process_opts){.target = "exit_with"}));
    assert_rc(mproc_process_join(p, 0), MPROC_ESTATE);
    assert_rc(mproc_process_join(p, -5), MPROC_EINVAL);
    assert_rc(mproc_process_terminate(p), MPROC_ESTATE);
    assert_rc(mproc_process_kill(p), MPROC_ESTATE);
    assert_int_equal(mproc_process_is_alive(p), 0);
    assert_ok(mproc_process_exitcode(p, &code));
    assert_int_equal(code, MPROC_EXIT_RUNNING);
    assert_int_equal(mproc_process_pid(p), 0);
    assert_ok(mproc_process_start(p));
    assert_rc(mproc_process_start(p), MPROC_ESTATE);
    assert_ok(mproc_process_join(p, 60000));
    assert_rc(mproc_process_start(p), MPROC_ESTATE);
    assert_ok(mproc_process_terminate(p)); /* already ended: nothing to do */
    assert_ok(mproc_process_join(p, 0));
    assert_ok(mproc_process_destroy(p));
}

static void bad_input(void **state)
{
    (void)state;
    mproc_process *p = NULL;
    int code;
    assert_rc(mproc_process_create(NULL, &(mproc_process_opts){.target = "exit_with"}),
              MPROC_EINVAL);
    assert_rc(mproc_process_create(&p, NULL), MPROC_EINVAL);
    assert_rc(mproc_process_create(&p, &(mproc_process_opts){0}), MPROC_EINVAL);
    assert_rc(mproc_process_create(&p, &(mproc_process_opts){.target = ""}), MPROC_ENOTASK);
    char long_name[400];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    assert_rc(
        mproc_process_create(&p, &(mproc_process_opts){.target = "exit_with", .name = long_name}),
        MPROC_ETOOBIG);
    assert_rc(mproc_process_start(NULL), MPROC_EINVAL);
    assert_rc(mproc_process_join(NULL, 0), MPROC_EINVAL);
    assert_rc(mproc_process_is_alive(NULL), MPROC_EINVAL);
    assert_rc(mproc_process_terminate(NULL), MPROC_EINVAL);
    assert_rc(mproc_process_kill(NULL), MPROC_EINVAL);
    assert_rc(mproc_process_exitcode(NULL, &code), MPROC_EINVAL);
    assert_ok(mproc_process_create(&p, &(mproc_process_opts){.target = "exit_with"}));
    assert_rc(mproc_process_exitcode(p, NULL), MPROC_EINVAL);
    mproc_process_destroy(p);
    assert_int_equal(mproc_process_pid(NULL), 0);
    assert_string_equal(mproc_process_name(NULL), "");
    assert_false(mproc_process_daemon(NULL));
    assert_ok(mproc_process_destroy(NULL));
    assert_rc(mproc_active_children(NULL, 3), MPROC_EINVAL);
    assert_rc(mproc_set_start_method((mproc_start_method)42), MPROC_EINVAL);
    mproc_context *ctx;
    assert_rc(mproc_context_get(NULL, MPROC_SPAWN), MPROC_EINVAL);
    assert_rc(mproc_context_get(&ctx, (mproc_start_method)-1), MPROC_EINVAL);
    assert_null(mproc_start_method_name((mproc_start_method)9));
    assert_false(mproc_start_method_available((mproc_start_method)9));
    assert_rc(mproc_set_exit_join_timeout(-2), MPROC_EINVAL);
}

static void start_method_settings(void **state)
{
    (void)state;
    mproc_start_method platform_default = harness_is_windows() ? MPROC_SPAWN : MPROC_FORKSERVER;
    assert_int_equal(mproc_get_start_method(), platform_default);
    assert_string_equal(mproc_start_method_name(MPROC_FORK), "fork");
    assert_string_equal(mproc_start_method_name(MPROC_SPAWN), "spawn");
    assert_string_equal(mproc_start_method_name(MPROC_FORKSERVER), "forkserver");
    assert_true(mproc_start_method_available(MPROC_SPAWN));
    assert_int_equal(mproc_start_method_available(MPROC_FORK), !harness_is_windows());
    assert_ok(mproc_set_start_method(MPROC_SPAWN));
    assert_int_equal(mproc_get_start_method(), MPROC_SPAWN);
    mproc_context *ctx;
    assert_ok(mproc_context_get(&ctx, MPROC_METHOD_DEFAULT));
    assert_int_equal(mproc_context_method(ctx), MPROC_SPAWN); /* follows the default */
    assert_ok(mproc_set_start_method(MPROC_METHOD_DEFAULT));
    assert_int_equal(mproc_get_start_method(), platform_default);
    assert_int_equal(mproc_context_method(NULL), platform_default);
}

static void exit_while_a_pool_replaces_workers(void **state)
{
    (void)state;
    for (int i = 0; i < 4; i++) {
        mproc_process *p = harness_start(MPROC_SPAWN, "exits_while_a_pool_replaces_workers", NULL);
        assert_int_equal(harness_join_code(p), 0);
    }
}

static void active_children_and_cpus(void **state)
{
    (void)state;
    mproc_process *list[4];
    assert_int_equal(mproc_active_children(list, 4), 0);
    mproc_pack *args = pack_i64(60000);
    mproc_process *a = start(MPROC_SPAWN, "sleep_then_exit", args, false);
    mproc_process *b = start(MPROC_SPAWN, "sleep_then_exit", args, true);
    mproc_pack_destroy(args);
    assert_int_equal(mproc_active_children(list, 4), 2);
    assert_true((list[0] == a && list[1] == b) || (list[0] == b && list[1] == a));
    assert_int_equal(mproc_active_children(list, 1), 2); /* the count exceeds cap */
    assert_int_equal(mproc_active_children(NULL, 0), 2);
    mproc_process_kill(a);
    assert_int_equal(finish(a), -9);
    assert_int_equal(mproc_active_children(list, 4), 1);
    assert_ptr_equal(list[0], b);
    mproc_process_terminate(b);
    assert_int_equal(finish(b), -15);
    assert_int_equal(mproc_active_children(list, 4), 0);

    int cpus = mproc_cpu_count(), usable = mproc_cpu_count_usable();
    assert_true(cpus >= 1);
    assert_true(usable >= 1 && usable <= cpus);
}

#ifndef _WIN32
static void idle_thread(void *arg)
{
    (void)arg;
    harness_sleep_ms(500); /* alive while the child is forked */
}

/* Captures what the library logs to stderr while fork-starting a child. */
static char *stderr_of_fork_start(void)
{
    char path[256];
    harness_temp_path(path, sizeof path, "stderr");
    fflush(stderr);
    int saved = dup(2);
    FILE *f = fopen(path, "w+");
    assert_non_null(f);
    dup2(fileno(f), 2);
    mproc_pack *args = pack_i64(0);
    mproc_process *p = start(MPROC_FORK, "exit_with", args, false);
    mproc_pack_destroy(args);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    assert_int_equal(finish(p), 0);
    static char text[1024];
    rewind(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    remove(path);
    return text;
}
#endif

/* fork() from a process with threads copies only the calling one: the library says so. */
static void fork_with_threads_warns(void **state)
{
    (void)state;
#ifdef _WIN32
    assert_rc(mproc_set_start_method(MPROC_FORK), MPROC_ENOTSUP);
#else
    assert_string_equal(stderr_of_fork_start(), "");
    harness_thread *thread = harness_thread_start(idle_thread, NULL);
    const char *text = stderr_of_fork_start();
    harness_thread_join(thread);
#if defined(MPROC_PORTABLE_POSIX)
    assert_string_equal(text, ""); /* threads are not counted there: no warning, no noise */
#else
    assert_non_null(strstr(text, "[WARNING/MainProcess] fork() from a process with 2 threads"));
#endif
#endif
}

#define HARNESS_CASES "cases/process.txt"
#include "harness_main.h"
