/* mproc — running external programs (Python's subprocess): run, and Popen with pipes,
 * communicate, timeouts and pipelines.
 *
 *   const char *argv[] = {"ls", "-al", NULL};
 *   mproc_run_result r;
 *   int rc = mproc_run(argv, &(mproc_run_opts){.capture = true, .timeout_ms = 5000}, &r);
 *   // rc: 0, MPROC_ETIMEDOUT (r.out/r.err hold what was read; the program was killed),
 *   //     MPROC_ENONZERO (with .check), MPROC_ENOENT (no such program), ...
 *   printf("%d: %.*s", r.returncode, (int)r.out.len, (char *)r.out.data);
 *   mproc_run_result_free(&r);
 *
 * argv[0] without a path separator is searched for in PATH (as execvp / CreateProcessW).
 * A program that does not exist or cannot be executed is reported by the start call
 * (MPROC_ENOENT, MPROC_EPERM), never as exit status 127 later. Return codes follow Python:
 * the exit status, or the negative signal number (terminate -15, kill -9, on Windows too).
 *
 * Strings are UTF-8 on every platform (arguments, environment, cwd). On Windows the
 * command line is quoted for CommandLineToArgvW, and .bat/.cmd programs are refused
 * (MPROC_ENOTSUP): cmd.exe parses their command line with other rules, which no quoting
 * makes safe for arbitrary arguments; run "cmd.exe", "/c", … explicitly if you must. */
#ifndef MPROC_SUBPROCESS_H
#define MPROC_SUBPROCESS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where a standard stream of the program goes. */
typedef enum mproc_stdio {
    MPROC_STDIO_INHERIT = 0, /* this process's own stream (Python's None) */
    MPROC_STDIO_PIPE,        /* a pipe to this process (subprocess.PIPE) */
    MPROC_STDIO_DEVNULL,     /* the null device (subprocess.DEVNULL) */
    MPROC_STDIO_STDOUT,      /* stderr only: into the same place as stdout (subprocess.STDOUT) */
    MPROC_STDIO_FROM         /* stdin only: the stdout pipe of opts.stdin_from (pipelines) */
} mproc_stdio;

typedef enum mproc_env_mode {
    MPROC_ENV_INHERIT = 0, /* this process's environment; opts.env ignored */
    MPROC_ENV_REPLACE,     /* exactly opts.env */
    MPROC_ENV_EXTEND       /* this process's environment, with opts.env set on top */
} mproc_env_mode;

typedef struct mproc_popen mproc_popen;

typedef struct mproc_popen_opts {
    mproc_stdio stdin_mode, stdout_mode, stderr_mode;
    /* With stdin_mode MPROC_STDIO_FROM: a process started with stdout_mode PIPE. Its
     * stdout pipe is handed to the new program and closed here (as Python's
     * p1.stdout.close() after starting p2), so p1 gets SIGPIPE if p2 ends first. */
    mproc_popen *stdin_from;
    const char *cwd; /* NULL: this process's */
    mproc_env_mode env_mode;
    const char *const *env; /* NULL-terminated "NAME=value" strings */
} mproc_popen_opts;

/* Starts argv[0] (a NULL-terminated, non-empty argv). */
MPROC_API int mproc_popen_start(mproc_popen **out, const char *const *argv,
                                const mproc_popen_opts *opts);

/* Standard stream numbers for the pipe calls. */
enum { MPROC_STDIN = 0, MPROC_STDOUT = 1, MPROC_STDERR = 2 };

/* Writes up to len bytes to the program's stdin pipe; *written says how many went (all of
 * them unless the timeout passed: MPROC_ETIMEDOUT). MPROC_ECLOSED when the program closed
 * its end (Python's BrokenPipeError), MPROC_ESTATE when stdin is not a pipe. */
MPROC_API int mproc_popen_write(mproc_popen *p, const void *data, size_t len, int64_t timeout_ms,
                                size_t *written);
/* Reads what is available (at least one byte, waiting up to timeout_ms) from the stdout or
 * stderr pipe into buf (cap bytes); *got says how many came. MPROC_ECLOSED at end of file. */
MPROC_API int mproc_popen_read(mproc_popen *p, int stream, int64_t timeout_ms, void *buf,
                               size_t cap, size_t *got);
/* Closes this side of a pipe (stdin: the program sees end of file). */
MPROC_API int mproc_popen_close_stream(mproc_popen *p, int stream);

/* Python's communicate(input, timeout): writes input (may be NULL/0) then closes stdin,
 * and reads stdout and stderr together until both end, so no amount of output can
 * deadlock; then waits for the program to end. out/err (may be NULL) receive what their
 * pipes gave. On MPROC_ETIMEDOUT they hold what was read so far and the program still
 * runs: kill it, or call communicate again to go on (the bytes are not lost). */
MPROC_API int mproc_popen_communicate(mproc_popen *p, const void *input, size_t input_len,
                                      int64_t timeout_ms, mproc_bytes *out, mproc_bytes *err);

/* 1 and *returncode when the program has ended, 0 while it runs. */
MPROC_API int mproc_popen_poll(mproc_popen *p, int *returncode);
/* Waits up to timeout_ms for it to end: 0 and *returncode, or MPROC_ETIMEDOUT. */
MPROC_API int mproc_popen_wait(mproc_popen *p, int64_t timeout_ms, int *returncode);
/* SIGTERM / TerminateProcess (return code -15 on Windows, as Process). */
MPROC_API int mproc_popen_terminate(mproc_popen *p);
/* SIGKILL / TerminateProcess (-9). */
MPROC_API int mproc_popen_kill(mproc_popen *p);
/* The program's pid (0 for NULL, as mproc_process_pid). */
MPROC_API int64_t mproc_popen_pid(const mproc_popen *p);
/* The return code once ended; MPROC_ESTATE while it runs. */
MPROC_API int mproc_popen_returncode(mproc_popen *p, int *returncode);
/* Frees the object and closes its pipes. MPROC_EBUSY (nothing freed) while the program
 * runs: wait for it or kill it first, so no program is left unreaped. */
MPROC_API int mproc_popen_destroy(mproc_popen *p);

typedef struct mproc_run_opts {
    mproc_popen_opts popen_opts; /* stdio, cwd and environment (not "popen": a macro on Windows) */
    bool capture;                /* stdout and stderr to PIPE (Python's capture_output) */
    const void *input;           /* given on stdin (stdin becomes a pipe) */
    size_t input_len;
    int64_t timeout_ms; /* 0 (the default here): no timeout; MPROC_FOREVER also */
    bool check;         /* a non-zero return code is MPROC_ENONZERO */
} mproc_run_opts;

/* Python's CompletedProcess. */
typedef struct mproc_run_result {
    int returncode;       /* after a timeout: the killed program's (-9) */
    mproc_bytes out, err; /* what the pipes gave (empty unless piped) */
} mproc_run_result;

/* Runs argv to its end. *result is filled (and must be freed with mproc_run_result_free)
 * whenever the program started: on success, on MPROC_ETIMEDOUT (the program killed, and
 * what it wrote so far kept) and on MPROC_ENONZERO (check: the code and the output). */
MPROC_API int mproc_run(const char *const *argv, const mproc_run_opts *opts,
                        mproc_run_result *result);
/* Frees what mproc_run put into *result (its captured output) and zeroes it. NULL is a no-op. */
MPROC_API void mproc_run_result_free(mproc_run_result *result);
/* Python's CompletedProcess.check_returncode(): MPROC_ENONZERO if returncode != 0. */
MPROC_API int mproc_run_check_returncode(const mproc_run_result *result);

#ifdef __cplusplus
}
#endif
#endif
