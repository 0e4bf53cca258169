/* subprocess: run and Popen against tests/sp_helper (in the working directory meson gives
 * these tests): capture, input, merge, discard, cwd, environment, timeouts, large output,
 * pipelines, signals, quoting both ways, and bad input. */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#define HELPER ".\\sp_helper.exe"
#else
#include <unistd.h>
#define HELPER "./sp_helper"
#endif

/* run with capture; asserts it started. */
static int run_helper(const char *const *argv, mproc_run_opts opts, mproc_run_result *r)
{
    opts.capture = opts.popen_opts.stdout_mode == MPROC_STDIO_INHERIT &&
                   opts.popen_opts.stderr_mode == MPROC_STDIO_INHERIT;
    return mproc_run(argv, &opts, r);
}

static void assert_output(const mproc_bytes *b, const char *want)
{
    if (b->len != strlen(want) || memcmp(b->data, want, b->len) != 0)
        fail_msg("got \"%.*s\", wanted \"%s\"", (int)b->len, (const char *)b->data, want);
}

static void run_captures_arguments_both_ways(void **state)
{
    (void)state;
    /* Hard strings for CommandLineToArgvW on Windows; plain argv on POSIX. */
    const char *argv[] = {HELPER,          "args",    "plain",
                          "two words",     "",        "say \"hi\"",
                          "tail\\",        "a dir\\", "back\\\\slash\"quote",
                          "ünï cødé 中文", "\t",      NULL};
    mproc_run_result r;
    assert_ok(run_helper(argv, (mproc_run_opts){0}, &r));
    assert_int_equal(r.returncode, 0);
    assert_output(&r.out, "[plain]\n[two words]\n[]\n[say \"hi\"]\n[tail\\]\n[a dir\\]\n"
                          "[back\\\\slash\"quote]\n[ünï cødé 中文]\n[\t]\n");
    assert_output(&r.err, "");
    mproc_run_result_free(&r);
}

static void run_exit_code_and_check(void **state)
{
    (void)state;
    const char *argv[] = {HELPER, "exit", "3", NULL};
    mproc_run_result r;
    assert_ok(run_helper(argv, (mproc_run_opts){0}, &r));
    assert_int_equal(r.returncode, 3);
    assert_rc(mproc_run_check_returncode(&r), MPROC_ENONZERO);
    mproc_run_result_free(&r);
    assert_rc(run_helper(argv, (mproc_run_opts){.check = true}, &r), MPROC_ENONZERO);
    assert_int_equal(r.returncode, 3); /* the error carries the code and the output */
    assert_non_null(r.out.data);
    mproc_run_result_free(&r);
    const char *ok[] = {HELPER, "both", NULL};
    assert_ok(run_helper(ok, (mproc_run_opts){.check = true}, &r));
    assert_ok(mproc_run_check_returncode(&r));
    assert_output(&r.out, "out\n");
    assert_output(&r.err, "err\n");
    mproc_run_result_free(&r);
}

static void run_feeds_input(void **state)
{
    (void)state;
    const char *argv[] = {HELPER, "cat", NULL};
    static const char input[] = "hello\0world\n";
    mproc_run_result r;
    assert_ok(
        run_helper(argv, (mproc_run_opts){.input = input, .input_len = sizeof input - 1}, &r));
    assert_int_equal(r.out.len, sizeof input - 1);
    assert_memory_equal(r.out.data, input, sizeof input - 1);
    mproc_run_result_free(&r);
}

static void run_timeout_kills_and_keeps_output(void **state)
{
    (void)state;
    const char *argv[] = {HELPER, "sleep", "30000", NULL};
    mproc_run_result r;
    int64_t start = harness_now_ms();
    assert_rc(run_helper(argv, (mproc_run_opts){.timeout_ms = 1500}, &r), MPROC_ETIMEDOUT);
    assert_true(harness_now_ms() - start < 25000);
    assert_output(&r.out, "started\n");
    assert_int_equal(r.returncode, -9);
    mproc_run_result_free(&r);
}

/* The timed-out program's own child still holds the pipes: run returns once the program
 * is dead, with what it wrote, not when the grandchild lets the pipes go (it used to wait
 * up to 5 s for them; Python's run returns at once on POSIX). */
static void run_timeout_returns_while_a_grandchild_holds_the_pipes(void **state)
{
    (void)state;
    const char *argv[] = {HELPER, "grandchild", "4000", NULL};
    mproc_run_result r;
    int64_t start = harness_now_ms();
    assert_rc(run_helper(argv, (mproc_run_opts){.timeout_ms = 500}, &r), MPROC_ETIMEDOUT);
    int64_t took = harness_now_ms() - start;
    if (took > 2500)
        fail_msg("run returned %lld ms after its 500 ms timeout", (long long)(took - 500));
    if (r.out.len < 8 || memcmp(r.out.data, "started\n", 8) != 0)
        fail_msg("got \"%.*s\"", (int)r.out.len, (const char *)r.out.data);
    assert_int_equal(r.returncode, -9);
    mproc_run_result_free(&r);
    harness_sleep_ms(4000); /* the grandchild ends before the leak check */
}

static void start_errors_are_reported_at_start(void **state)
{
    (void)state;
    mproc_run_result r;
    const char *missing[] = {"mproc-no-such-program-here", NULL};
    assert_rc(mproc_run(missing, NULL, &r), MPROC_ENOENT);
    const char *missing_path[] = {HELPER "-missing", NULL};
    assert_rc(mproc_run(missing_path, NULL, &r), MPROC_ENOENT);
    /* A file that is not a program. */
    char path[512];
    harness_temp_path(path, sizeof path, "not-a-program.txt");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("just text\n", f);
    fclose(f);
    const char *not_program[] = {path, NULL};
    assert_rc(mproc_run(not_program, NULL, &r), MPROC_EPERM);
    remove(path);
    /* A working directory that does not exist. */
    const char *ok[] = {HELPER, "exit", "0", NULL};
    assert_rc(mproc_run(ok, &(mproc_run_opts){.popen_opts.cwd = "/no/such/dir/here"}, &r),
              MPROC_ENOENT);
}

static void stderr_merged_or_discarded(void **state)
{
    (void)state;
    const char *argv[] = {HELPER, "both", NULL};
    mproc_run_result r;
    assert_ok(mproc_run(argv,
                        &(mproc_run_opts){.popen_opts = {.stdout_mode = MPROC_STDIO_PIPE,
                                                         .stderr_mode = MPROC_STDIO_STDOUT}},
                        &r));
    assert_output(&r.out, "out\nerr\n");
    assert_output(&r.err, "");
    mproc_run_result_free(&r);
    assert_ok(mproc_run(argv,
                        &(mproc_run_opts){.popen_opts = {.stdout_mode = MPROC_STDIO_DEVNULL,
                                                         .stderr_mode = MPROC_STDIO_PIPE}},
                        &r));
    assert_output(&r.out, "");
    assert_output(&r.err, "err\n");
    mproc_run_result_free(&r);
}

static void cwd_is_used(void **state)
{
    (void)state;
    char path[512];
    harness_temp_path(path, sizeof path, "marker");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    /* Run from the marker's directory and look for it by its bare name. The helper is
     * found through an absolute path then. */
    char dir[512], helper[1024], cwd_now[512];
    strcpy(dir, path);
    char *slash = strrchr(dir, harness_is_windows() ? '\\' : '/');
    assert_non_null(slash);
    *slash = '\0';
#ifdef _WIN32
    GetCurrentDirectoryA(sizeof cwd_now, cwd_now);
    snprintf(helper, sizeof helper, "%s\\sp_helper.exe", cwd_now);
#else
    assert_non_null(getcwd(cwd_now, sizeof cwd_now));
    snprintf(helper, sizeof helper, "%s/sp_helper", cwd_now);
#endif
    const char *argv[] = {helper, "exists", slash + 1, NULL};
    mproc_run_result r;
    assert_ok(run_helper(argv, (mproc_run_opts){.popen_opts.cwd = dir}, &r));
    assert_output(&r.out, "yes\n");
    mproc_run_result_free(&r);
    assert_ok(run_helper(argv, (mproc_run_opts){0}, &r));
    assert_output(&r.out, "no\n");
    mproc_run_result_free(&r);
    remove(path);
}

static void environment_modes(void **state)
{
    (void)state;
    const char *env[] = {"MPROC_TEST_A=set here", "MPROC_TEST_U=ünï", NULL};
    const char *get_a[] = {HELPER, "env", "MPROC_TEST_A", NULL};
    const char *get_u[] = {HELPER, "env", "MPROC_TEST_U", NULL};
    const char *get_path[] = {HELPER, "env", "PATH", NULL};
    mproc_run_result r;
    assert_ok(run_helper(get_a, (mproc_run_opts){0}, &r));
    assert_output(&r.out, "(unset)\n");
    mproc_run_result_free(&r);
    mproc_run_opts extend = {.popen_opts = {.env_mode = MPROC_ENV_EXTEND, .env = env}};
    assert_ok(run_helper(get_a, extend, &r));
    assert_output(&r.out, "set here\n");
    mproc_run_result_free(&r);
    assert_ok(run_helper(get_u, extend, &r));
    assert_output(&r.out, "ünï\n");
    mproc_run_result_free(&r);
    assert_ok(run_helper(get_path, extend, &r));
    assert_string_not_equal((const char *)r.out.data, "(unset)\n"); /* kept */
    mproc_run_result_free(&r);
    mproc_run_opts replace = {.popen_opts = {.env_mode = MPROC_ENV_REPLACE, .env = env}};
    assert_ok(run_helper(get_a, replace, &r));
    assert_output(&r.out, "set here\n");
    mproc_run_result_free(&r);
    assert_ok(run_helper(get_path, replace, &r));
    assert_output(&r.out, "(unset)\n"); /* replaced */
    mproc_run_result_free(&r);
    const char *bad_env[] = {"NO_EQUALS_SIGN", NULL};
    assert_rc(
        run_helper(get_a,
                   (mproc_run_opts){.popen_opts = {.env_mode = MPROC_ENV_EXTEND, .env = bad_env}},
                   &r),
        MPROC_EINVAL);
}

static void popen_write_read_close(void **state)
{
    (void)state;
    const char *argv[] = {HELPER, "echo-lines", NULL};
    mproc_popen *p;
    assert_ok(mproc_popen_start(
        &p, argv,
        &(mproc_popen_opts){.stdin_mode = MPROC_STDIO_PIPE, .stdout_mode = MPROC_STDIO_PIPE}));
    assert_true(mproc_popen_pid(p) > 0);
    int code;
    assert_int_equal(mproc_popen_poll(p, &code), 0);
    assert_rc(mproc_popen_returncode(p, &code), MPROC_ESTATE);
    char buf[256];
    size_t got = 0, written = 0;
    assert_rc(mproc_popen_read(p, MPROC_STDOUT, 100, buf, sizeof buf, &got), MPROC_ETIMEDOUT);
    assert_ok(mproc_popen_write(p, "ping\n", 5, 5000, &written));
    assert_int_equal(written, 5);
    size_t have = 0;
    while (have < 11) {
        assert_ok(mproc_popen_read(p, MPROC_STDOUT, 10000, buf + have, sizeof buf - have, &got));
        have += got;
    }
    assert_memory_equal(buf, "echo: ping\n", 11);
    assert_rc(mproc_popen_destroy(p), MPROC_EBUSY);      /* still running: nothing freed */
    assert_ok(mproc_popen_close_stream(p, MPROC_STDIN)); /* EOF: the helper ends */
    assert_rc(mproc_popen_read(p, MPROC_STDOUT, 10000, buf, sizeof buf, &got), MPROC_ECLOSED);
    assert_ok(mproc_popen_wait(p, 10000, &code));
    assert_int_equal(code, 0);
    assert_ok(mproc_popen_returncode(p, &code));
    assert_ok(mproc_popen_destroy(p));
}

static void writing_to_a_gone_reader_is_an_error(void **state)
{
    (void)state;
    const char *argv[] = {HELPER, "exit", "0", NULL};
    mproc_popen *p;
    assert_ok(mproc_popen_start(&p, argv, &(mproc_popen_opts){.stdin_mode = MPROC_STDIO_PIPE}));
    int code;
    assert_ok(mproc_popen_wait(p, 10000, &code));
    static char block[65536];
    int rc = 0;
    for (int i = 0; i < 64 && rc == 0; i++) { /* fills no buffer: the reader is gone */
        size_t written;
        rc = mproc_popen_write(p, block, sizeof block, 5000, &written);
    }
    assert_rc(rc, MPROC_ECLOSED);
    assert_ok(mproc_popen_destroy(p));
}

static bool check_pattern(const mproc_bytes *b, size_t want, int stream)
{
    if (b->len != want)
        return false;
    const unsigned char *d = b->data;
    for (size_t i = 0; i < want; i++)
        if (d[i] != (unsigned char)((i * 7 + (size_t)stream * 13) % 251))
            return false;
    return true;
}

static void communicate_large_output_on_both_pipes(void **state)
{
    (void)state;
    const size_t size = 64u << 20;
    char size_text[32];
    snprintf(size_text, sizeof size_text, "%lu", (unsigned long)size);
    const char *argv[] = {HELPER, "emit", size_text, NULL};
    mproc_popen *p;
    assert_ok(mproc_popen_start(
        &p, argv,
        &(mproc_popen_opts){.stdout_mode = MPROC_STDIO_PIPE, .stderr_mode = MPROC_STDIO_PIPE}));
    mproc_bytes out = {0}, err = {0};
    assert_ok(mproc_popen_communicate(p, NULL, 0, 240000, &out, &err));
    assert_true(check_pattern(&out, size, 0));
    assert_true(check_pattern(&err, size, 1));
    mproc_bytes_free(&out);
    mproc_bytes_free(&err);
    int code;
    assert_ok(mproc_popen_returncode(p, &code));
    assert_int_equal(code, 0);
    assert_ok(mproc_popen_destroy(p));
}

static void communicate_timeout_then_kill(void **state)
{
    (void)state;
    const char *argv[] = {HELPER, "sleep", "30000", NULL};
    mproc_popen *p;
    assert_ok(mproc_popen_start(&p, argv, &(mproc_popen_opts){.stdout_mode = MPROC_STDIO_PIPE}));
    mproc_bytes out = {0};
    assert_rc(mproc_popen_communicate(p, NULL, 0, 1000, &out, NULL), MPROC_ETIMEDOUT);
    assert_ok(mproc_popen_kill(p)); /* Python: proc.kill(); outs, errs = proc.communicate() */
    assert_ok(mproc_popen_communicate(p, NULL, 0, 10000, &out, NULL));
    assert_output(&out, "started\n"); /* nothing lost across the two calls */
    mproc_bytes_free(&out);
    int code;
    assert_ok(mproc_popen_returncode(p, &code));
    assert_int_equal(code, -9);
    assert_ok(mproc_popen_destroy(p));
}

static void pipeline_of_two(void **state)
{
    (void)state;
    const char *source[] = {HELPER, "lines", "100", NULL};
    const char *filter[] = {HELPER, "grep", "7", NULL};
    mproc_popen *p1, *p2;
    assert_ok(mproc_popen_start(&p1, source, &(mproc_popen_opts){.stdout_mode = MPROC_STDIO_PIPE}));
    assert_ok(mproc_popen_start(&p2, filter,
                                &(mproc_popen_opts){.stdin_mode = MPROC_STDIO_FROM,
                                                    .stdin_from = p1,
                                                    .stdout_mode = MPROC_STDIO_PIPE}));
    mproc_bytes out = {0};
    assert_ok(mproc_popen_communicate(p2, NULL, 0, 20000, &out, NULL));
    assert_output(&out,
                  "7\n17\n27\n37\n47\n57\n67\n70\n71\n72\n73\n74\n75\n76\n77\n78\n79\n87\n97\n");
    mproc_bytes_free(&out);
    int code;
    assert_ok(mproc_popen_wait(p1, 10000, &code));
    assert_int_equal(code, 0);
    /* p1's stdout went to p2: no longer ours. */
    char buf[8];
    size_t got;
    assert_rc(mproc_popen_read(p1, MPROC_STDOUT, 0, buf, sizeof buf, &got), MPROC_ESTATE);
    assert_ok(mproc_popen_destroy(p1));
    assert_ok(mproc_popen_destroy(p2));
}

static void terminate_and_kill_codes(void **state)
{
    (void)state;
    const char *argv[] = {HELPER, "sleep", "30000", NULL};
    mproc_popen_opts quiet = {.stdout_mode = MPROC_STDIO_DEVNULL};
    mproc_popen *p;
    int code;
    assert_ok(mproc_popen_start(&p, argv, &quiet));
    assert_rc(mproc_popen_wait(p, 200, &code), MPROC_ETIMEDOUT);
    assert_ok(mproc_popen_terminate(p));
    assert_ok(mproc_popen_wait(p, 10000, &code));
    assert_int_equal(code, -15);
    assert_ok(mproc_popen_terminate(p)); /* ended: nothing to do, no error */
    assert_ok(mproc_popen_destroy(p));
    assert_ok(mproc_popen_start(&p, argv, &quiet));
    assert_ok(mproc_popen_kill(p));
    assert_ok(mproc_popen_wait(p, 10000, &code));
    assert_int_equal(code, -9);
    assert_ok(mproc_popen_destroy(p));
}

static void batch_files_are_refused_on_windows(void **state)
{
    (void)state;
    mproc_run_result r;
    const char *bat[] = {"script.bat", "&calc", NULL};
    const char *cmd[] = {"C:\\dir\\SCRIPT.CMD. ", "x", NULL};
    if (harness_is_windows()) {
        assert_rc(mproc_run(bat, NULL, &r), MPROC_ENOTSUP);
        assert_rc(mproc_run(cmd, NULL, &r), MPROC_ENOTSUP);
    } else { /* not special on POSIX: just a name that is not there */
        assert_rc(mproc_run(bat, NULL, &r), MPROC_ENOENT);
    }
}

static void bad_input(void **state)
{
    (void)state;
    mproc_popen *p = NULL;
    const char *ok[] = {HELPER, "exit", "0", NULL};
    const char *empty[] = {NULL};
    const char *empty_name[] = {"", NULL};
    assert_rc(mproc_popen_start(NULL, ok, NULL), MPROC_EINVAL);
    assert_rc(mproc_popen_start(&p, NULL, NULL), MPROC_EINVAL);
    assert_rc(mproc_popen_start(&p, empty, NULL), MPROC_EINVAL);
    assert_rc(mproc_popen_start(&p, empty_name, NULL), MPROC_EINVAL);
    assert_rc(mproc_popen_start(&p, ok, &(mproc_popen_opts){.stdin_mode = MPROC_STDIO_STDOUT}),
              MPROC_EINVAL);
    assert_rc(mproc_popen_start(&p, ok, &(mproc_popen_opts){.stdout_mode = MPROC_STDIO_STDOUT}),
              MPROC_EINVAL);
    assert_rc(mproc_popen_start(&p, ok, &(mproc_popen_opts){.stdin_mode = MPROC_STDIO_FROM}),
              MPROC_EINVAL);
    assert_rc(mproc_popen_start(&p, ok, &(mproc_popen_opts){.stdout_mode = (mproc_stdio)99}),
              MPROC_EINVAL);
    assert_rc(mproc_popen_start(&p, ok, &(mproc_popen_opts){.env_mode = (mproc_env_mode)7}),
              MPROC_EINVAL);
    assert_null(p);
    assert_ok(mproc_popen_start(&p, ok, NULL));
    char buf[4];
    size_t n;
    assert_rc(mproc_popen_write(p, "x", 1, 0, &n), MPROC_ESTATE); /* stdin not a pipe */
    assert_rc(mproc_popen_read(p, MPROC_STDOUT, 0, buf, sizeof buf, &n), MPROC_ESTATE);
    assert_rc(mproc_popen_read(p, MPROC_STDIN, 0, buf, sizeof buf, &n), MPROC_EINVAL);
    assert_rc(mproc_popen_read(p, 7, 0, buf, sizeof buf, &n), MPROC_EINVAL);
    assert_rc(mproc_popen_read(p, MPROC_STDOUT, 0, NULL, 4, &n), MPROC_EINVAL);
    assert_rc(mproc_popen_close_stream(p, MPROC_STDERR), MPROC_ESTATE);
    assert_rc(mproc_popen_communicate(p, "x", 1, 0, NULL, NULL), MPROC_ESTATE);
    assert_rc(mproc_popen_communicate(NULL, NULL, 0, 0, NULL, NULL), MPROC_EINVAL);
    int code;
    assert_ok(mproc_popen_wait(p, 10000, &code));
    assert_ok(mproc_popen_destroy(p));
    assert_rc(mproc_popen_wait(NULL, 0, &code), MPROC_EINVAL);
    assert_rc(mproc_popen_poll(NULL, &code), MPROC_EINVAL);
    assert_rc(mproc_popen_kill(NULL), MPROC_EINVAL);
    assert_rc(mproc_popen_terminate(NULL), MPROC_EINVAL);
    assert_rc(mproc_popen_destroy(NULL), MPROC_EINVAL);
    assert_int_equal(mproc_popen_pid(NULL), 0);
    mproc_run_result r;
    assert_rc(mproc_run(ok, NULL, NULL), MPROC_EINVAL);
    assert_rc(mproc_run(ok, &(mproc_run_opts){.input_len = 3}, &r), MPROC_EINVAL);
    assert_rc(
        mproc_run(ok,
                  &(mproc_run_opts){.capture = true, .popen_opts.stdout_mode = MPROC_STDIO_DEVNULL},
                  &r),
        MPROC_EINVAL);
    assert_rc(mproc_run_check_returncode(NULL), MPROC_EINVAL);
    mproc_run_result_free(NULL);
}

#define HARNESS_CASES "cases/subprocess.txt"
#include "harness_main.h"
