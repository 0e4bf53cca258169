/* Test harness: every CMocka case runs as its own meson test (its own process, with a
 * timeout), and after each case the harness checks that it leaked no descriptors or
 * handles and left no child processes. */
#ifndef MPROC_TEST_HARNESS_H
#define MPROC_TEST_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mproc.h"
#include "platform.h" /* the mpp_test_* hooks */

/* main() of a test program (harness_main.h builds its table from the case list):
 *   prog CASE            runs one case (what meson does)
 *   prog --check A B …   fails unless A B … (meson's reading of the case list) are exactly
 *                        the program's cases (the compiler's reading)
 *   prog                 runs every case in this process
 * Every case runs between a snapshot and a check of this process's fds or handles, child
 * processes and /dev/shm names: a case that leaks one fails. */
int harness_main(int argc, char **argv, const struct CMUnitTest *tests, size_t count);

/* Whether the OS process pid still runs (a zombie counts as ended). */
bool harness_pid_alive(int64_t pid);
/* Waits up to timeout_ms for pid to end; true if it did. */
bool harness_wait_pid_gone(int64_t pid, int64_t timeout_ms);
/* Kills an OS process outright (SIGKILL / TerminateProcess with exit code 137). */
void harness_kill_pid(int64_t pid);
/* A fresh path for a scratch file, unique to this test process. */
void harness_temp_path(char *buf, size_t size, const char *tag);
/* Reads an int64 written by harness_write_i64, waiting up to timeout_ms for the file. */
bool harness_read_i64(const char *path, int64_t *value, int64_t timeout_ms);
void harness_write_i64(const char *path, int64_t value);
void harness_sleep_ms(int64_t ms);
int64_t harness_now_ms(void);
/* Runs the program `exe` (a path; on Windows relative to the working directory) with
 * stdout and stderr captured, killing it after timeout_ms. On success *out and *err hold
 * NUL-terminated text with "\r\n" folded to "\n" (free them) and *exitcode its exit status.
 * Returns false if it could not start or did not end in time. */
bool harness_run_program(const char *exe, int64_t timeout_ms, char **out, char **err,
                         int *exitcode);
/* Creates and starts a child running task `target` with args under `method`; NULL (having
 * checked that the method is refused) where the platform has no such method. */
mproc_process *harness_start(mproc_start_method method, const char *target, const mproc_pack *args);
/* Joins p (2 minutes at most), destroys it and returns its exit code. */
int harness_join_code(mproc_process *p);
/* true when running as a Windows build (under Wine here). */
bool harness_is_windows(void);

/* ---- threads of a test (pthreads or Win32) ---- */

typedef struct harness_thread harness_thread;
/* Runs fn(arg) on a new thread of this process; a thread that cannot start fails the case. */
harness_thread *harness_thread_start(void (*fn)(void *), void *arg);
/* Waits for the thread to end and frees it. The threads' own calls are bounded; the 2
 * minutes here only keep a broken one from hanging the case silently. */
void harness_thread_join(harness_thread *t);
/* A small id of the calling thread, given on first use: two threads never share one, and
 * a new thread never gets the id of one that ended. */
int harness_thread_id(void);

/* ---- packs and results, for tasks and the tests that call them ---- */

mproc_pack *new_pack(void);
/* A pack of one integer. */
mproc_pack *pack_of(int64_t x);
/* A pack of the n integers first, first+1, ... */
mproc_pack *pack_range(int64_t first, size_t n);
mproc_pack *pack_two(int64_t a, int64_t b);
/* A result that is a pack of one integer, as that integer (anything else fails the case). */
int64_t as_i64(const mproc_bytes *b);
/* A result that is a pack of one string, as that string (borrowed from b). */
const char *as_text(const mproc_bytes *b);
/* Whether b is a pack of one integer, and *v that integer (for threads of a case, which
 * must not fail it). */
bool read_i64(const mproc_bytes *b, int64_t *v);
/* For qsort over int64_t. */
int cmp_i64(const void *a, const void *b);
/* A text as mproc_task_fail makes it: NUL-terminated, equal to want. */
void assert_text(const mproc_bytes *b, const char *want);
/* A text that carries want (an initializer's text may come with a prefix). */
void assert_text_has(const mproc_bytes *b, const char *want);
/* A non-empty NUL-terminated text. */
void assert_some_text(const mproc_bytes *b);
/* b[0..n-1] hold nothing (no data, length 0). */
void assert_empty(const mproc_bytes *b, size_t n);
/* Byte i of a pattern that depends on position and seed, to catch torn, mixed or shifted
 * data; fill writes it, filled checks it. */
uint8_t pattern_at(size_t i, uint32_t seed);
void fill(uint8_t *p, size_t n, uint32_t seed);
bool filled(const uint8_t *p, size_t n, uint32_t seed);
/* In a task: starts reading its arguments; an argument list that is one nested pack (a
 * map item that is a tuple) is read through. */
void open_args(mproc_unpacker *u, const mproc_bytes *in);
/* In a task: its result, a pack of one integer or of one string. 0, or a failure of the
 * task. */
int put_i64(mproc_pack *out, int64_t v);
int put_text(mproc_pack *out, const char *s);

/* The number an object holds, through its int64_t out-parameter call, which must succeed:
 * mproc_queue_qsize, mproc_sem_value, mproc_barrier_parties / _n_waiting,
 * mproc_array_length. */
int64_t qsize_of(mproc_queue *q);
int64_t sem_value_of(mproc_sem *s);
int64_t parties_of(mproc_barrier *b);
int64_t n_waiting_of(mproc_barrier *b);
int64_t length_of(mproc_array *a);

/* Asserts that an mproc call returned `want`, printing both names otherwise. */
/* (The text is taken here, before a macro in the call is expanded.) */
#define assert_rc(call, want) assert_rc_((call), (want), #call)
#define assert_ok(call) assert_rc_((call), 0, #call)
#define assert_rc_(call, want, text)                                                               \
    do {                                                                                           \
        int rc_ = (int)(call);                                                                     \
        if (rc_ != (want))                                                                         \
            fail_msg("%s returned %s (%d), wanted %s", text, mproc_errname(rc_), rc_,              \
                     mproc_errname(want));                                                         \
    } while (0)

#endif
