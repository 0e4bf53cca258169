/* What the pool suites (test_pool.c: processes, test_threadpool.c: threads) and the
 * executor suite (test_futures.c) share: the kinds of pool, the tasks more than one of
 * them runs, gates that hold tasks until the test lets them go, and waiting for workers.
 * pool_common.c is linked into the three programs. */
#ifndef MPROC_TEST_POOL_COMMON_H
#define MPROC_TEST_POOL_COMMON_H

#include "harness.h"

/* Every blocking call of the tests is bounded by this much (ms). */
#define WAIT_MS 60000

/* State shared between the test and the pool's threads is only touched through these, or
 * read after a call that has finished. */
#define LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define INC(p) __atomic_add_fetch((p), 1, __ATOMIC_SEQ_CST)
#define DEC(p) __atomic_sub_fetch((p), 1, __ATOMIC_SEQ_CST)

/* ---- kinds of pool ---------------------------------------------------------------------- */

typedef enum pool_kind {
    POOL_PROCESSES, /* mproc_pool_create, the default start method */
    POOL_FORK,      /* mproc_pool_create under a start method */
    POOL_SPAWN,
    POOL_FORKSERVER,
    POOL_THREADS, /* mproc_threadpool_create */
} pool_kind;

/* "processes", "fork", ..., "threads": for messages. */
const char *pool_kind_name(pool_kind kind);
/* The start method of a process pool of the kind; MPROC_METHOD_DEFAULT for the others. */
mproc_start_method pool_kind_method(pool_kind kind);
/* mproc_pool_create or mproc_threadpool_create with opts (ctx set for a start method): its
 * return code. */
int pool_create(pool_kind kind, mproc_pool **pool, const mproc_pool_opts *opts);
/* Creates a pool of the kind; false (having checked that the method is refused) where the
 * platform has no such start method. */
bool pool_under(mproc_pool **pool, pool_kind kind, mproc_pool_opts opts);
/* A pool of a kind every platform has. */
mproc_pool *new_pool(pool_kind kind, mproc_pool_opts opts);
/* Cases whose pool starts new workers from its result thread: under fork that is a fork
 * from a process with several threads, which qemu-user 7.2 cannot do (the child aborts in
 * cpu_exec or hangs; a 15-line C program without mproc does the same). Real Linux on
 * aarch64 can; the native and sanitizer runs cover these cases. False (the case skipped)
 * for a fork pool under qemu-user. */
bool replaces_workers_under(pool_kind kind);
/* Waits (bounded) until the pool lists `want` workers: live processes, none of them `gone`;
 * or, for a thread pool, threads of this process (each listed with its pid). */
void wait_workers(mproc_pool *pool, pool_kind kind, int want, int64_t gone);

/* ---- gates: tasks that wait until the test lets them go --------------------------------- */

/* A gate holds gate_square tasks: a file that opens it once written, for workers in other
 * processes, or an in-memory gate for worker threads, which also counts the tasks that
 * entered and left it. */
typedef struct gate {
    pool_kind kind;
    int slot;       /* threads: which in-memory gate */
    char path[512]; /* processes: the file */
} gate;

/* A closed gate for tasks of a pool of the kind. */
void gate_init(gate *g, pool_kind kind);
/* The arguments of one gate_square call: (gate, x). */
mproc_pack *gate_args(const gate *g, int64_t x);
/* Items (gate, 0) .. (gate, n-1) for a map. */
mproc_pack *gate_items(const gate *g, int n);
void gate_open(gate *g);
/* Removes the gate's file, if it has one. */
void gate_free(gate *g);
/* In-memory gates only: the tasks that entered it, that left it; waits (bounded) until
 * `want` have entered. */
int gate_entered(const gate *g);
int gate_left(const gate *g);
void wait_entered(const gate *g, int want);
/* A file gate by its path: (path, x), and with `started` (not NULL) a third field, a file
 * the task writes its pid to before it waits. */
mproc_pack *pack_gate(const char *path, int64_t x, const char *started);
void open_gate_file(const char *path);

/* ---- helpers ------------------------------------------------------------------------------ */

/* How many of n results are not i*i for their index i (a map of square over 0..n-1). */
int wrong_squares(const mproc_bytes *results, size_t n);
/* A result of two int64 (16 bytes). */
int put_pair(mproc_pack *out, int64_t a, int64_t b);
void as_pair(const mproc_bytes *b, int64_t *a, int64_t *c);

/* A typed_result(x) result: asserts each of its fields (and that MPROC_UNPACK refuses other
 * types and counts). */
void check_typed_result(const mproc_bytes *r, int64_t x);

/* The initializer init_tls(tag) keeps tag in a thread-local of its worker's thread
 * (read_init reads it), and, for worker threads of this process, counts its calls and
 * notes the threads it ran on. */
extern _Thread_local int64_t init_tag;
extern int init_calls;
extern int init_tids[256];

/* Runs n wait_for_peers tasks at once on a pool of n worker threads: each thread takes one.
 * Fills tids[0..n-1] with their harness_thread_id (distinct, none the caller's). */
void rendezvous(mproc_pool *pool, int n, int64_t *tids);

/* The tasks, by name:
 *   square (x) -> x*x              answer () -> 42
 *   square_jitter (x) -> x*x after 0..6 ms, so that results finish out of order
 *   multiply (a, b) -> a*b
 *   check_item (x) -> x*x, but x % 4 == 3 fails with "bad item x" (x == 3 after 300 ms,
 *       so that later failing items fail first in time)
 *   returns_seven () fails with code 7 and no text
 *   gate_square (gate, x[, started]) -> x*x once the gate is open (WAIT_MS at most)
 *   sleep_square (ms, x) -> x*x after ms
 *   worker_pid () -> the pid of the process it runs in    exit_three () calls exit(3)
 *   init_fails: an initializer failing with "init broke 42"; init_returns_five with 5
 *   init_tls (tag), read_init () -> (tag, harness_thread_id)
 *   wait_for_peers (n) -> harness_thread_id, once n such tasks are inside at once
 *   use_objects (queue, lock, value, conn, x) -> x: puts x in the queue, adds it to the
 *       value under the lock, sends it on the pipe end
 *   checksum_bytes (bytes) -> (length, checksum)    make_big (size, seed) -> the pattern
 *   typed_result (x) -> (x*x, "square", x / 2.0, bytes "abc", (x, -x)), typed
 *   echo_three (a, s, d) -> (a, s, d)    add_to_value (value, delta) adds delta, gives no result
 *   result_with_lock () -> a Lock: refused, MPROC_ENOTSUP (a result cannot hold OS handles)
 *   fail_with (mode) fails: 0 with mproc_task_fail's "failed after a result" after packing
 *       a result; 1 with one STR packed by hand ("one string by hand") and code 2; 2 with
 *       two STRs and code 3; 3 with one I64 and code 4; else with nothing and code -5 (the
 *       last three: "task 'fail_with' returned N") */

/* The checksum checksum_bytes computes (FNV-1a); make_big makes harness's pattern. */
uint64_t checksum(const uint8_t *p, size_t n);

#endif
