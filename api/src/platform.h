/* What a platform backend (posix/, win32/) must implement: exactly this list.
 *
 * The portable core (api/src/) owns every decision that is the same everywhere: argument
 * validation, process names and identities, the child registry, exit-time joins, the
 * payload sent to a child and what the child does with it. A backend only moves bytes and
 * handles between processes and talks to the OS. It is chosen by meson at build time.
 *
 * The list has two parts. The OS primitives come first: each backend's os.c implements
 * them standing on base/error.c and base/memory.c alone, since the rest of the base layer
 * (deadlines, the log, hooks) stands on them. The rest of the list may use the whole base
 * layer (base/base.h). scripts/check-house.py holds both parts to that. */
#ifndef MPROC_PLATFORM_H
#define MPROC_PLATFORM_H

#include "mproc/common.h"
#include "mproc/process.h"    /* the start methods */
#include "mproc/subprocess.h" /* the stdio modes */

/* An fd (POSIX) or a HANDLE (Windows); MPP_NO_HANDLE is none. */
typedef intptr_t mpp_handle;
#define MPP_NO_HANDLE ((mpp_handle)-1)

/* ==== the OS primitives (os.c) ========================================================== */

/* ---- errors ---------------------------------------------------------------------- */
/* The calling thread's last OS error (errno / GetLastError()). */
int mpp_os_error_now(void);
/* Maps an OS error number to a MPROC_E… code. The one place per backend that does. */
int mpp_map_os_error(int os_error);

/* ---- time, locks, identity ---------------------------------------------------------- */
int64_t mpp_monotonic_ms(void);
int64_t mpp_monotonic_us(void);
void mpp_sleep_ms(int64_t ms);
/* One process-wide lock for the core's small critical sections (never held while
 * blocking). mpp_lock_reset re-creates it in a forked child. */
void mpp_lock(void);
void mpp_unlock(void);
void mpp_lock_reset(void);
int64_t mpp_getpid(void);
int64_t mpp_getppid(void);
int mpp_cpu_count(void);
int mpp_cpu_count_usable(void);
/* Writes the whole buffer to stderr with one call where the OS allows. */
void mpp_write_stderr(const char *text, size_t len);

/* ---- handles and other processes -------------------------------------------------------
 * Handles the library creates are never inherited by accident (close-on-exec / not
 * inheritable). */
int mpp_handle_dup(mpp_handle h, mpp_handle *out);
void mpp_handle_close(mpp_handle h);
/* Whether process pid still runs (a zombie has ended). Used to find dead lock owners. */
bool mpp_pid_alive(int64_t pid);
/* An id of the calling thread, unique among this process's live threads. */
uint64_t mpp_thread_id(void);

/* ---- threads of this process ------------------------------------------------------------
 * For the pool's result thread. A mutex and a condition variable are process-local. */
typedef struct mpp_thread mpp_thread;
typedef struct mpp_mutex mpp_mutex;
typedef struct mpp_cond mpp_cond;
int mpp_thread_start(mpp_thread **out, void (*fn)(void *arg), void *arg);
/* Waits for fn to return, then frees t. */
void mpp_thread_join(mpp_thread *t);
int mpp_mutex_create(mpp_mutex **out);
void mpp_mutex_destroy(mpp_mutex *m);
void mpp_mutex_lock(mpp_mutex *m);
void mpp_mutex_unlock(mpp_mutex *m);
int mpp_cond_create(mpp_cond **out);
void mpp_cond_destroy(mpp_cond *c);
/* Waits (m locked) until signalled, timeout_ms passed, or spuriously. */
void mpp_cond_wait(mpp_cond *c, mpp_mutex *m, int64_t timeout_ms);
void mpp_cond_signal(mpp_cond *c);
void mpp_cond_broadcast(mpp_cond *c);

/* ==== the rest of the list ============================================================== */

/* ---- start methods ------------------------------------------------------------------ */
bool mpp_method_available(int method);
int mpp_default_method(void);

/* ---- children, parent side ------------------------------------------------------------
 * A child runs the payload (built by the core, see process.c) with the given method.
 * The handles go with it: the child gets its own copies, in the same order (under fork,
 * the same values), and the child enters the core with them (mproc__enter_child, base.h).
 * mpp_child_start returns once the child acknowledged the payload (0), or the child's
 * own refusal code (e.g. MPROC_ENOTASK, the child then reaped), MPROC_ESPAWN when it could
 * not be started, MPROC_ETIMEDOUT when it did not answer within timeout_ms. */
typedef struct mpp_child mpp_child;
int mpp_child_start(mpp_child **out, int method, const mproc_bytes *payload,
                    const mpp_handle *handles, size_t nhandles, int64_t timeout_ms, int64_t *pid);
/* Waits (without reaping) until the child may have ended or timeout_ms passed; may return
 * early. Called without the core lock, from any number of threads. */
void mpp_child_wait_hint(mpp_child *c, int64_t timeout_ms);
/* Non-blocking: 1 and *exitcode when the child ended (reaped now, never twice), 0 while it
 * runs, or an error. Called under the core lock. */
int mpp_child_try_reap(mpp_child *c, int *exitcode);
/* Asks the child to end: force=false is SIGTERM / TerminateProcess(-15), force=true
 * SIGKILL / TerminateProcess(-9). Called under the core lock, only before reaping. */
int mpp_child_signal(mpp_child *c, bool force);
/* Something that becomes ready (readable / signalled) when the child ends, for mpp_wait:
 * the channel fd (POSIX; a grandchild may keep it open past the child's end, so callers
 * also poll mpp_child_try_reap) or the process handle (Windows). */
mpp_handle mpp_child_sentinel(mpp_child *c);
/* Releases what the parent holds for a reaped child. */
void mpp_child_free(mpp_child *c);

/* ---- children, child side ------------------------------------------------------------
 * Called by mproc_init. If argv marks this run as a spawned child (or, on POSIX, as the
 * fork server) it does that job and never returns; otherwise it records what spawn needs
 * (the executable's path) and returns 0. */
int mpp_init(int *argc, char ***argv);
/* In a child: tells the parent whether the payload was accepted (0) or why not. */
void mpp_child_ack(int code);
/* Ends this process with code after flushing stdio, without running the atexit
 * handlers of the program (the core runs its own exit work first). */
_Noreturn void mpp_exit(int code);

/* ---- external programs (subprocess) ---------------------------------------------------
 * A stream is this process's end of a pipe to a program. Reads and writes never block:
 * they move what can move now (*got / *done may be 0) and mpp_stream_wait waits for any
 * of several streams to become ready. A write is "ready" once everything handed to it
 * before has gone (so closing then loses nothing). */
typedef struct mpp_stream mpp_stream;
typedef struct mpp_program mpp_program;

typedef struct mpp_program_spec {
    const char *const *argv;
    const char *cwd;        /* NULL: this process's */
    const char *const *env; /* NULL: inherit; otherwise the complete environment */
    int stdio[3];           /* mproc_stdio values (validated by the core) */
    mpp_stream *stdin_from; /* with MPROC_STDIO_FROM: a read end to hand to the program */
} mpp_program_spec;

/* Starts the program; pipes[i] receives the stream of each MPROC_STDIO_PIPE slot. A
 * program that cannot be found or executed is MPROC_ENOENT / MPROC_EPERM, a .bat/.cmd on
 * Windows MPROC_ENOTSUP. */
int mpp_program_start(mpp_program **out, const mpp_program_spec *spec, mpp_stream *pipes[3],
                      int64_t *pid);
/* Waits up to timeout_ms for the program to end (reaps it): 0 and *code (negative signal
 * number as Python), or MPROC_ETIMEDOUT. Safe to call again after it ended. */
int mpp_program_wait(mpp_program *p, int64_t timeout_ms, int *code);
/* force=false: SIGTERM / TerminateProcess(-15); force=true: SIGKILL / (-9). No-op once reaped. */
int mpp_program_signal(mpp_program *p, bool force);
void mpp_program_free(mpp_program *p);

/* 0 with *got bytes (0: nothing yet), or MPROC_ECLOSED at end of file. */
int mpp_stream_read(mpp_stream *s, void *buf, size_t cap, size_t *got);
/* 0 with *done bytes taken (0: not now), or MPROC_ECLOSED when the reader is gone. */
int mpp_stream_write(mpp_stream *s, const void *buf, size_t len, size_t *done);
/* Waits until one of the n streams is ready (a read stream: data or end of file; a write
 * stream: earlier writes gone, or broken) or timeout_ms passed; ready[i] says which. */
int mpp_stream_wait(mpp_stream *const *streams, size_t n, int64_t timeout_ms, bool *ready);
void mpp_stream_close(mpp_stream *s);
/* Whether environment variable names compare without case (Windows). */
bool mpp_env_ignores_case(void);
/* This process's environment as "NAME=value" UTF-8 strings: a NULL-terminated array in
 * one mproc_malloc block (free it with mproc_free). */
char **mpp_environ_copy(void);

/* ---- shared memory and waiting: what the sync objects and values stand on --------------- */

/* Anonymous shared memory, shared by passing its handle (memfd / unlinked shm_open /
 * unnamed file mapping): nothing has a name, so nothing can outlive its users. */
int mpp_segment_create(size_t size, mpp_handle *out);
/* Maps size bytes of a segment read-write, shared. */
int mpp_segment_map(mpp_handle h, size_t size, void **addr);
void mpp_segment_unmap(void *addr, size_t size);
/* Gives back the memory behind [offset, offset+len) of a segment (it then reads as zeros);
 * a hint: may do nothing where the OS cannot. */
void mpp_segment_discard(mpp_handle h, size_t offset, size_t len);

/* Named shared memory (mproc_shm). The OS name is derived from name by the backend. Each
 * attachment is counted by the OS (a shared flock on POSIX, the section's handle count on
 * Windows), so the last one to release can remove the name; mpp_named_attach re-opens a
 * handle received from another process as an attachment of this one. */
int mpp_named_create(const char *name, size_t size, mpp_handle *out);
int mpp_named_open(const char *name, mpp_handle *out, size_t *size);
int mpp_named_attach(mpp_handle received, const char *name, mpp_handle *out);
/* Closes an attachment; removes the name when it was the last one. */
void mpp_named_release(const char *name, mpp_handle h);
/* Removes the name now (POSIX); existing attachments keep the memory. */
int mpp_named_unlink(const char *name);
/* Removes names whose every user died without releasing them (POSIX; no-op on Windows). */
void mpp_named_sweep(void);

/* Parking on a 32-bit word in shared memory. mpp_park_create gives what a process needs
 * to wait (a semaphore on Windows; MPP_NO_HANDLE where the word itself is enough, as a
 * futex). mpp_park_wait returns when *word != expected, when woken, at the timeout, or
 * spuriously: callers re-check their condition. mpp_park_wake wakes up to count waiters;
 * on Windows count must not exceed the waiters the caller knows of (extra wakes are kept
 * by the semaphore and show up later as spurious wake-ups). */
int mpp_park_create(mpp_handle *out);
void mpp_park_wait(mpp_handle park, uint32_t *word, uint32_t expected, int64_t timeout_ms);
void mpp_park_wake(mpp_handle park, uint32_t *word, uint32_t count);

/* ---- connections (Pipe) ---------------------------------------------------------------------
 * One end of a pipe between processes. Moves are bounded by deadlines (base/base.h). */
typedef struct mpp_conn mpp_conn;
/* Two connected ends; duplex=false: a only reads, b only writes. */
int mpp_pipe(mpp_conn **a, mpp_conn **b, bool duplex);
/* An end around a handle received from another process (taken over). */
int mpp_conn_adopt(mpp_handle h, mpp_conn **out);
mpp_handle mpp_conn_handle(const mpp_conn *c);
/* Writes until len bytes went or the deadline passed; *done says how many went.
 * MPROC_ECLOSED once no reader is left. */
int mpp_conn_write(mpp_conn *c, const void *buf, size_t len, int64_t deadline, size_t *done);
/* Waits until the deadline for at least one byte, then reads what is there (up to cap);
 * *got 0 means the deadline passed. MPROC_ECLOSED at end of file. Nothing read is lost
 * to a timeout. */
int mpp_conn_read(mpp_conn *c, void *buf, size_t cap, int64_t deadline, size_t *got);
void mpp_conn_close(mpp_conn *c);
/* Whether the other end is gone, without reading anything (a server waiting on behalf of
 * a client looks with it). */
bool mpp_conn_peer_closed(mpp_conn *c);
/* Waits for any of n items: a connection that can be read (or reached its end), or a
 * sentinel (mpp_child_sentinel) that fired. Any n. Returns how many are ready (0 when
 * timeout_ms passed) and marks them in ready[]. */
typedef struct mpp_waitable {
    mpp_conn *conn;
    mpp_handle sentinel;
} mpp_waitable;
int mpp_wait(const mpp_waitable *items, size_t n, int64_t timeout_ms, bool *ready);

/* ---- handles for a running child --------------------------------------------------------
 * A child that already runs gets copies of handles this way (a pool worker, for the objects
 * in a task's arguments). Windows duplicates them into the child's process: values[i] is
 * then each copy's value there. POSIX sends them over `via` (a connection whose other end
 * the child holds) with SCM_RIGHTS, in order, and leaves values alone; the child takes
 * them with mpp_take_handles, in the same order. */
int mpp_give_handles(mpp_child *c, mpp_conn *via, const mpp_handle *handles, size_t n,
                     uint64_t *values, int64_t deadline);
/* Child side: the n handles given for one message, into out (Windows: the values as given). */
int mpp_take_handles(mpp_conn *via, const uint64_t *values, size_t n, mpp_handle *out,
                     int64_t deadline);
/* Whether mpp_give_handles needs `via`: true where the handles travel over a connection the
 * child holds the other end of (POSIX), false where they go straight into its process and
 * via may be NULL (Windows). A pool makes that connection for each worker only if so. */
bool mpp_give_handles_needs_conn(void);

/* ---- listening and connecting: one OS step each (the core's net.c does the rest) ---------
 * For the core's mproc__listen / mproc__accept / mproc__connect (modules/net.c): the core parses
 * the address, tries a host's addresses in turn and writes the bound address out. Every
 * socket is non-blocking and not inherited; connections are mpp_conn ends (TCP ones with
 * Nagle off) that mpp_conn_read / _write / _close work on (mpp_wait and handle passing
 * need not). Deadlines as for connections. */

/* TCP. One address of a host, in a list (getaddrinfo's, in its order). */
typedef struct mpp_tcp_addr mpp_tcp_addr;
/* Resolves host (a name or a numeric address, no brackets) and port (decimal): 0 and the
 * list, or MPROC_ENOENT for no such host. Not bounded in time: name lookup cannot be. */
int mpp_tcp_resolve(const char *host, const char *port, mpp_tcp_addr **list);
/* The next address of the list, or NULL after the last. */
const mpp_tcp_addr *mpp_tcp_addr_next(const mpp_tcp_addr *a);
void mpp_tcp_addr_free(mpp_tcp_addr *list);
/* A socket listening on one address: 0, MPROC_EEXIST when the address is in use. */
int mpp_tcp_listen(const mpp_tcp_addr *a, mpp_handle *listener);
/* The numeric host (no brackets) and port the listener is bound to, into bound's host and
 * port (base.h). */
struct mproc__net_addr;
int mpp_tcp_bound(mpp_handle listener, struct mproc__net_addr *bound);
/* Waits until the deadline for one client: 0, or MPROC_ETIMEDOUT. */
int mpp_tcp_accept(mpp_handle listener, int64_t deadline, mpp_conn **out);
void mpp_tcp_close(mpp_handle listener);
/* One attempt to connect to one address, bounded by the deadline: 0 and the connected
 * socket, MPROC_ECLOSED when nobody listens there (refused), MPROC_ETIMEDOUT. */
int mpp_tcp_connect(const mpp_tcp_addr *a, int64_t deadline, mpp_handle *sock);
/* The connection around a connected socket (taken over: closed on failure). */
int mpp_tcp_conn(mpp_handle sock, mpp_conn **out);

/* Local: "local:NAME" is a Unix socket (Linux: the abstract namespace, so nothing on disk;
 * elsewhere a socket file in the temp directory, removed when its owner closes it) or the
 * named pipe \\.\pipe\NAME on Windows. */
typedef struct mpp_local_listener mpp_local_listener;
/* 0, MPROC_EEXIST when another listener has the name, MPROC_EINVAL when it is too long. */
int mpp_local_listen(const char *name, mpp_local_listener **out);
/* Waits until the deadline for one client: 0, or MPROC_ETIMEDOUT. */
int mpp_local_accept(mpp_local_listener *l, int64_t deadline, mpp_conn **out);
/* owner=false (in a forked child): closes this process's copy only, leaving the name to
 * its owner. */
void mpp_local_close(mpp_local_listener *l, bool owner);
/* Connects within the deadline: 0, MPROC_ECLOSED when nobody listens there (no such pipe
 * or socket), MPROC_ETIMEDOUT. */
int mpp_local_connect(const char *name, int64_t deadline, mpp_conn **out);

/* Fills buf with n bytes from the OS's cryptographic generator. */
int mpp_random_bytes(void *buf, size_t n);

/* ---- test hooks (for tests/harness.c and the tests; nothing in the library calls them) ---
 * Exported (MPROC_API) so the suites also run against the shared library
 * (-Dtest_link=shared); no public header declares them. */
/* Makes spawn use another executable path (NULL restores the real one), so tests can
 * check how an exec failure is reported. */
MPROC_API void mpp_test_set_exe_path(const char *path);
/* A helper process the library keeps for this process across test cases (the POSIX fork
 * server), or 0 when there is none (yet, or on this platform). */
MPROC_API int64_t mpp_test_helper_pid(void);
/* The handle the library keeps open for itself across test cases (the fork server's
 * channel, the Windows job object), or MPP_NO_HANDLE while there is none. */
MPROC_API mpp_handle mpp_test_kept_handle(void);

#endif
