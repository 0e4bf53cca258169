/* mproc — processes: multiprocessing.Process, start methods and contexts.
 *
 *   mproc_process *p;
 *   mproc_process_start_new(&p, &(mproc_process_opts){.target = "work",
 *                                                     .args = MPROC_ARGS(100)});
 *   mproc_process_join(p, MPROC_FOREVER);
 *   int code; mproc_process_exitcode(p, &code);
 *   mproc_process_destroy(p);
 *
 *   // or all of it in one call: start, join (killing it if 5 s pass), exit code, destroy
 *   mproc_process_run(&(mproc_process_opts){.target = "work"}, 5000, &code);
 *
 * Start methods:
 *   MPROC_FORK        POSIX fork(); the child runs the task in a copy of the parent. Not
 *                     safe if the parent has other threads (only the calling thread exists
 *                     in the child, locks held by others stay locked); a warning is logged.
 *   MPROC_SPAWN       a fresh run of the program's own executable (posix_spawn on POSIX,
 *                     CreateProcessW on Windows); the task and its pack are sent to it.
 *   MPROC_FORKSERVER  POSIX: a server process, started from the executable on first use,
 *                     forks each child on request; safe with threads. The default on POSIX.
 * Windows has only MPROC_SPAWN (its default); fork and forkserver give MPROC_ENOTSUP.
 *
 * Lifetimes: at normal exit of a process, its daemon children are terminated and its
 * other children joined (as Python). When a process is killed outright, its children die
 * with it (Linux: parent-death signal, or a watcher thread when started from a thread
 * other than the main one; other POSIX: the watcher thread; Windows: a job object). */
#ifndef MPROC_PROCESS_H
#define MPROC_PROCESS_H

#include "common.h"
#include "pack.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mproc_start_method {
    MPROC_METHOD_DEFAULT = 0, /* whatever mproc_set_start_method chose (or the platform's) */
    MPROC_FORK = 1,
    MPROC_SPAWN = 2,
    MPROC_FORKSERVER = 3
} mproc_start_method;

/* A context fixes a start method for the objects created with it
 * (multiprocessing.get_context). Contexts are static: never freed. */
typedef struct mproc_context mproc_context;

/* Sets the default start method. MPROC_ENOTSUP if the platform lacks it. */
MPROC_API int mproc_set_start_method(mproc_start_method method);
/* The default start method now in force (never MPROC_METHOD_DEFAULT). */
MPROC_API mproc_start_method mproc_get_start_method(void);
/* "fork", "spawn", "forkserver" (NULL for an unknown value). */
MPROC_API const char *mproc_start_method_name(mproc_start_method method);
/* 1 if this platform offers the method, else 0. */
MPROC_API int mproc_start_method_available(mproc_start_method method);
/* The context of a method (MPROC_METHOD_DEFAULT: the one that follows the default). */
MPROC_API int mproc_context_get(mproc_context **out, mproc_start_method method);
/* The start method of a context (what mproc_context_get was given, the default resolved). */
MPROC_API mproc_start_method mproc_context_method(const mproc_context *ctx);

typedef struct mproc_process mproc_process;

typedef struct mproc_process_opts {
    const char *target;     /* registered task name (required) */
    const mproc_pack *args; /* its arguments (NULL: none; MPROC_ARGS(...) works); copied at
                               create */
    const char *name;       /* NULL: "Process-N" (or "Process-1:N" in a child) */
    bool daemon;            /* terminated when the parent exits normally */
    mproc_context *ctx;     /* NULL: the default start method */
} mproc_process_opts;

/* Exit code reported while a process has not started or not yet ended. */
#define MPROC_EXIT_RUNNING INT32_MIN

/* Creates a process object (not yet started). An unknown target is MPROC_ENOTASK. */
MPROC_API int mproc_process_create(mproc_process **out, const mproc_process_opts *opts);
/* Starts it. Returns once the child runs the task, or with MPROC_ENOTASK if the child
 * does not know the task, MPROC_ESPAWN if it could not be started, MPROC_ESTATE if it was
 * started before, MPROC_EDAEMON inside a daemon process. */
MPROC_API int mproc_process_start(mproc_process *p);
/* create + start. On a failure of either nothing is left: *out is NULL. */
MPROC_API int mproc_process_start_new(mproc_process **out, const mproc_process_opts *opts);
/* Runs a process to its end: start, join(timeout_ms), exit code, destroy. If the timeout
 * passes, the child is killed (as subprocess.run does) and reaped, *exitcode is its code
 * (-9) and the call returns MPROC_ETIMEDOUT. Otherwise 0 (whatever the exit code), or the
 * start's error. exitcode may be NULL. */
MPROC_API int mproc_process_run(const mproc_process_opts *opts, int64_t timeout_ms, int *exitcode);
/* Waits for the end of the process: 0, or MPROC_ETIMEDOUT. Joining a process that was
 * never started is MPROC_ESTATE; joining oneself cannot happen (handles are per parent). */
MPROC_API int mproc_process_join(mproc_process *p, int64_t timeout_ms);
/* 1 if running, 0 if not started or ended (and reaped), or an error. */
MPROC_API int mproc_process_is_alive(mproc_process *p);
/* SIGTERM / TerminateProcess. 0 also when it had already ended. */
MPROC_API int mproc_process_terminate(mproc_process *p);
/* SIGKILL / TerminateProcess. */
MPROC_API int mproc_process_kill(mproc_process *p);
/* *exitcode: the exit code, -N if killed by signal N (Windows: terminate gives -15 and
 * kill -9, as Python), MPROC_EXIT_RUNNING if not started or still running. */
MPROC_API int mproc_process_exitcode(mproc_process *p, int *exitcode);
/* OS process id (0 for NULL or before start). */
MPROC_API int64_t mproc_process_pid(const mproc_process *p);
/* Its name ("" for NULL). Valid until destroy. */
MPROC_API const char *mproc_process_name(const mproc_process *p);
/* 1 if it is a daemon, else 0 (also for NULL). */
MPROC_API int mproc_process_daemon(const mproc_process *p);
/* Releases the object. MPROC_EBUSY (and nothing released) while the process runs, as
 * Python's close(); terminate/kill and join it first. NULL is a no-op. */
MPROC_API int mproc_process_destroy(mproc_process *p);

/* The running process's own name: "MainProcess" in the parent, the child's name in a
 * child. */
MPROC_API const char *mproc_current_name(void);
/* The name of the parent process in a child started by mproc, NULL in the main process. */
MPROC_API const char *mproc_parent_name(void);
/* os.getpid(): this process's id. */
MPROC_API int64_t mproc_getpid(void);
/* os.getppid(): the parent process's id. */
MPROC_API int64_t mproc_getppid(void);
/* Live children of this process started by mproc: fills up to cap handles (still owned
 * by their creators) and returns how many are alive (may exceed cap). Reaps ended ones. */
MPROC_API int mproc_active_children(mproc_process **out, size_t cap);
/* Logical CPUs in the machine (os.cpu_count()). Always >= 1. */
MPROC_API int mproc_cpu_count(void);
/* CPUs this process may use: affinity mask and (Linux) cgroup CPU quota. Always >= 1. */
MPROC_API int mproc_cpu_count_usable(void);

/* Bound on the joins done for non-daemon children at normal exit (default
 * MPROC_FOREVER, as Python). Children still alive after it are killed. */
MPROC_API int mproc_set_exit_join_timeout(int64_t timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
