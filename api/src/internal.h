/* Helpers shared by the portable core and the backends (not a public header). */
#ifndef MPROC_INTERNAL_H
#define MPROC_INTERNAL_H

#include "mproc.h"
#include "platform.h"

/* Records os_error as this thread's last OS error and returns its MPROC_E… code. */
int mproc__fail_os(int os_error);
/* Same with the calling thread's current OS error. */
int mproc__fail_os_now(void);
/* Records "no OS error" and returns code (for failures that are not the OS's). */
int mproc__fail(int code);

/* Deadline helpers: a deadline is an absolute mpp_monotonic_ms() value, -1 = never. */
int64_t mproc__deadline(int64_t timeout_ms);
/* Milliseconds left (0 when passed, MPROC_FOREVER for no deadline). */
int64_t mproc__remaining(int64_t deadline);

/* Growable byte buffer used by packs and payloads. */
typedef struct mproc__buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} mproc__buf;
int mproc__buf_reserve(mproc__buf *b, size_t extra);
int mproc__buf_append(mproc__buf *b, const void *data, size_t len);
void mproc__buf_free(mproc__buf *b);

/* Copies count strings into one mproc_malloc block: a NULL-terminated array followed by
 * the text (free it with one mproc_free). NULL when out of memory. */
char **mproc__string_array(const char *const *items, size_t count);

/* The core's exit-time work for this process's children (terminate daemons, join the
 * rest). Runs once; later calls do nothing. */
void mproc__exit_children(void);

#endif
