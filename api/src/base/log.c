/* Logging: "[LEVEL/ProcessName] message", one write per record. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mproc/process.h" /* mproc_current_name, defined in identity.c */
#include "base/base.h"

/* Python's multiprocessing logger has no handler by default, so logging's "last resort"
 * prints WARNING and above; the same default here. */
static int log_level = MPROC_LOG_WARNING;

int mproc_log_to_stderr(int level)
{
    int previous = log_level;
    log_level = level;
    return previous;
}

int mproc_log_level(void)
{
    return log_level;
}

static const char *level_name(int level, char *scratch, size_t size)
{
    switch (level) {
    case MPROC_LOG_SUBDEBUG: return "SUBDEBUG";
    case MPROC_LOG_DEBUG: return "DEBUG";
    case MPROC_LOG_INFO: return "INFO";
    case MPROC_LOG_SUBWARNING: return "SUBWARNING";
    case MPROC_LOG_WARNING: return "WARNING";
    case MPROC_LOG_ERROR: return "ERROR";
    case MPROC_LOG_CRITICAL: return "CRITICAL";
    default: snprintf(scratch, size, "Level %d", level); return scratch;
    }
}

int mproc_log(int level, const char *fmt, ...)
{
    if (!fmt)
        return mproc__fail(MPROC_EINVAL);
    if (level < log_level || log_level >= MPROC_LOG_OFF)
        return 0;
    char line[1024], scratch[32];
    int head = snprintf(line, sizeof line, "[%s/%s] ", level_name(level, scratch, sizeof scratch),
                        mproc_current_name());
    if (head < 0 || (size_t)head >= sizeof line)
        head = 0;
    va_list ap;
    va_start(ap, fmt);
    int body = vsnprintf(line + head, sizeof line - (size_t)head - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)head;
    if (body > 0)
        len += (size_t)body < sizeof line - (size_t)head - 1 ? (size_t)body
                                                             : sizeof line - (size_t)head - 2;
    line[len++] = '\n';
    mpp_write_stderr(line, len);
    return 0;
}
