/* The raw OS primitives the mproc figures are set beside, written once: raw children and
 * their join, shared memory, streams (write_all, read_all), the ready/go start of a raw run,
 * and the two raw runs that two sections use: a framed stream (queue, pipe) and a
 * request/answer exchange (pipe ping-pong, manager). POSIX: forked children, mmap, pipes and
 * socketpairs. Windows: this executable again (`--raw-child KIND ...`, see main.c), given
 * inheritable handles by number; file mappings, anonymous and named pipes. */
#ifndef BENCH_RAW_H
#define BENCH_RAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef _WIN32
#include <windows.h>
typedef HANDLE raw_fd;
typedef HANDLE raw_child;
#else
#include <pthread.h>
#include <sys/types.h>
typedef int raw_fd;
typedef pid_t raw_child;
#endif

/* Finds this executable (POSIX: for posix_spawn; Windows: nothing to do). */
void raw_init(const char *argv0);

#ifdef _WIN32
/* What raw children are given: inheritable handles. */
extern SECURITY_ATTRIBUTES raw_inheritable;

/* This executable again with args after its name (inheriting handles or not); its process
 * handle, or NULL. */
HANDLE raw_spawn_self(const wchar_t *args, bool inherit_handles);
/* `--raw-child args`, inheriting handles; exits where it cannot start. */
raw_child raw_spawn(const wchar_t *args);
/* A handle given by number on the command line. */
HANDLE handle_arg(const char *s);
#else
extern char self_path[4096]; /* this executable, for posix_spawn */

/* fork(); exits where it fails. */
raw_child raw_fork(void);
/* Anonymous memory shared with the children forked after; exits where it cannot. */
void *shared_alloc(size_t size);
void shared_mutex_init(pthread_mutex_t *m);
#endif

/* Waits for a raw child; exits unless it ended with 0. */
void raw_join(raw_child child);
void raw_close(raw_fd fd);
bool write_all(raw_fd fd, const void *data, size_t len);
bool read_all(raw_fd fd, void *data, size_t len); /* false also at the end of the stream */

/* The ready/go start of a raw run, in shared memory: each child says it is ready and waits
 * for go; the parent waits until all are, notes the time and says go. */
typedef struct raw_gate {
#ifdef _WIN32
    volatile LONG ready, go;
#else
    int ready, go;
#endif
} raw_gate;

void raw_gate_pass(raw_gate *gate);
double raw_gate_open(raw_gate *gate, int children); /* the time noted, µs */

/* A framed stream: a child writes n messages of size bytes, each numbered at both ends,
 * behind a 4-byte length; this process reads them and checks each in a fresh copy. Over a
 * bare pipe, or with socket a socketpair (Windows: an anonymous pipe, either way); µs. */
double raw_stream_run(int64_t n, size_t size, bool socket);
#ifdef _WIN32
int raw_stream_child(char **args); /* --raw-child queue WRITE-END READY GO N SIZE */
#endif

/* A request/answer exchange over a duplex stream: this process writes a numbered request of
 * `request` bytes, a child reads and checks it and writes an `answer` of so many bytes,
 * numbered the same, which this process reads and checks. */
#define RAW_EXCHANGE_MAX 64 /* bytes a request may have */
typedef struct raw_exchange {
    const char *kind;       /* Windows: the child's --raw-child KIND */
    size_t request, answer; /* answer <= request <= RAW_EXCHANGE_MAX */
    int bound_ms;           /* POSIX: a read or write waiting this long fails; 0: no bound */
    const char *what;       /* what failed, where a write or read fails */
} raw_exchange;

/* total exchanges, the first `untimed` of them outside the clock; µs. */
double raw_exchange_run(const raw_exchange *x, int64_t total, int64_t untimed);
#ifdef _WIN32
/* The child's side: --raw-child KIND PIPE-END N, N requests answered. */
int raw_exchange_child(const raw_exchange *x, char **args);
#endif

#endif
