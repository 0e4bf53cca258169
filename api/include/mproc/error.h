/* mproc — error codes. Functions return 0 (or a non-negative count) on success and a
 * negative MPROC_E… code on failure. The numbers are fixed and equal on every platform;
 * new codes are only ever appended. */
#ifndef MPROC_ERROR_H
#define MPROC_ERROR_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X-macro so the enum and the message table cannot drift apart. */
#define MPROC_ERROR_TABLE(X)                                                                       \
    X(EINVAL, -1, "invalid argument")                                                              \
    X(ENOMEM, -2, "out of memory")                                                                 \
    X(ETIMEDOUT, -3, "timed out")                                                                  \
    X(ECLOSED, -4, "object is closed or its peer is gone")                                         \
    X(ETYPE, -5, "wrong type in argument pack")                                                    \
    X(ENOTASK, -6, "unknown task name")                                                            \
    X(ESTATE, -7, "operation not valid in the object's current state")                             \
    X(EBUSY, -8, "process is still running")                                                       \
    X(EOS, -9, "operating system error (see mproc_last_os_error)")                                 \
    X(ESPAWN, -10, "could not start the child process")                                            \
    X(ENOTSUP, -11, "not supported on this platform")                                              \
    X(ETASK, -12, "task failed")                                                                   \
    X(EWORKER, -13, "worker process died")                                                         \
    X(EOWNERDEAD, -14, "previous owner died holding the lock")                                     \
    X(ETOOBIG, -15, "message or value too large")                                                  \
    X(EFULL, -16, "full")                                                                          \
    X(EEMPTY, -17, "empty")                                                                        \
    X(EBROKEN, -18, "barrier is broken")                                                           \
    X(EAUTH, -19, "authentication failed")                                                         \
    X(ENOENT, -20, "no such object")                                                               \
    X(EEXIST, -21, "object already exists")                                                        \
    X(EPERM, -22, "permission denied")                                                             \
    X(EDAEMON, -23, "daemonic processes are not allowed to have children")                         \
    X(ENOTINIT, -24, "mproc_init() was not called first in main()")                                \
    X(EPROTO, -25, "protocol error between processes")                                             \
    X(ENONZERO, -26, "program exited with a non-zero status")                                      \
    X(ECANCELLED, -27, "cancelled")

enum {
    MPROC_OK = 0,
#define MPROC_ERROR_ENUM_(name, value, text) MPROC_##name = (value),
    MPROC_ERROR_TABLE(MPROC_ERROR_ENUM_)
#undef MPROC_ERROR_ENUM_
};

/* A static, never-NULL message for any code ("unknown error" for unknown codes). */
MPROC_API const char *mproc_strerror(int code);

/* Short symbolic name of a code, e.g. "MPROC_ETIMEDOUT" ("MPROC_E?" if unknown). */
MPROC_API const char *mproc_errname(int code);

/* The OS error (errno on POSIX, GetLastError() on Windows) behind the last failure
 * of a mproc call on this thread; 0 if that failure was not an OS error. */
MPROC_API int mproc_last_os_error(void);

#ifdef __cplusplus
}
#endif
#endif
