/* mproc — logging in the format of multiprocessing.log_to_stderr():
 *     [INFO/Process-1] message
 * Children inherit the parent's level at start. */
#ifndef MPROC_LOG_H
#define MPROC_LOG_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Python's logging levels, same numbers. */
enum {
    MPROC_LOG_NOTSET = 0,
    MPROC_LOG_SUBDEBUG = 5,
    MPROC_LOG_DEBUG = 10,
    MPROC_LOG_INFO = 20,
    MPROC_LOG_SUBWARNING = 25,
    MPROC_LOG_WARNING = 30,
    MPROC_LOG_ERROR = 40,
    MPROC_LOG_CRITICAL = 50,
    MPROC_LOG_OFF = 1000
};

/* Sends records of `level` and above to stderr (MPROC_LOG_OFF stops logging; the default
 * is MPROC_LOG_WARNING, so warnings and errors of the library show). Returns the previous
 * level. */
MPROC_API int mproc_log_to_stderr(int level);
/* The current level. */
MPROC_API int mproc_log_level(void);
/* Logs one record; each record is written with a single write, so lines of several
 * processes never interleave. Returns 0, or MPROC_EINVAL for a NULL fmt. */
MPROC_API int mproc_log(int level, const char *fmt, ...) MPROC_PRINTF(2, 3);

#ifdef __cplusplus
}
#endif
#endif
