/* mproc — common definitions: version, export macro, timeouts, byte buffers, allocation. */
#ifndef MPROC_COMMON_H
#define MPROC_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "mproc/version.h"

/* MPROC_API marks what the library exports. On ELF the library is built with hidden
 * visibility and exports only these. On Windows the DLL's build defines
 * BUILDING_MPROC_SHARED (dllexport); a user of the static library defines MPROC_STATIC
 * (pkg-config --static, mproc::mproc_static and meson's static dependency do); everyone
 * else imports from the DLL. */
#if defined(_WIN32) || defined(__CYGWIN__)
#if defined(BUILDING_MPROC_SHARED)
#define MPROC_API __declspec(dllexport)
#elif defined(MPROC_STATIC)
#define MPROC_API
#else
#define MPROC_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define MPROC_API __attribute__((visibility("default")))
#else
#define MPROC_API
#endif

#if defined(__GNUC__)
#define MPROC_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define MPROC_PRINTF(fmt_index, first_arg)
#endif

/* The rules every header follows (API 1.0).
 *
 * 1. Constructors are `int mproc_x_create(mproc_x **out, args...)`: the out-pointer first.
 *    Methods are `int mproc_x_verb(mproc_x *obj, args..., T *out...)`: the object first,
 *    then the inputs (a timeout is an input), then the outputs last, e.g.
 *    mproc_queue_get(q, timeout_ms, &msg), mproc_pool_apply(pool, task, args, timeout_ms,
 *    &result). An output array and its length go last as a pair (results, n).
 * 2. Returns are int: 0, or a negative MPROC_E... code (error.h). A predicate (_is_...,
 *    _empty, _full, _readable, _locked, _broken, _ready, ...) returns 1 or 0 (or a negative
 *    code). A few calls return a count of what they did (how many items are ready, how many
 *    waiters were woken, how many workers exist). Exceptions, documented where they are:
 *    accessors that cannot fail return what they access (mproc_process_name,
 *    mproc_process_pid (0 for NULL or before start), mproc_getpid, mproc_current_name,
 *    mproc_shm_data, ...), and the _destroy functions return void (except
 *    mproc_process_destroy and mproc_popen_destroy, which refuse a running child with
 *    MPROC_EBUSY).
 * 3. Numbers an object holds (a value, a length, a queue's qsize, a semaphore's value, a
 *    barrier's parties and n_waiting) are int64_t, passed in as int64_t and given out through
 *    int64_t * out-parameters, on a local object and its manager twin alike. Counts passed
 *    in (notify(n), maxsize, parties, a semaphore's initial value) are int64_t too.
 * 4. Timeouts are int64_t milliseconds: MPROC_FOREVER blocks, 0 polls, > 0 bounds the wait.
 *    A poll (0) of a put on a full queue is MPROC_EFULL, of a get on an empty one
 *    MPROC_EEMPTY; any other timeout that passes is MPROC_ETIMEDOUT.
 * 5. Option structs: a zero field means the default; the default of a timeout field is
 *    MPROC_FOREVER, of a count field what the header says. `opts` may be NULL wherever it
 *    is optional.
 * 6. _close never frees, _destroy always does. _close ends what the object does (a pipe
 *    end's OS handle, a shared memory attachment, a queue handle's puts and gets); the
 *    handle stays valid for its _destroy (calls on it then give MPROC_ECLOSED). _destroy
 *    closes if needed and frees. NULL is a no-op for _destroy.
 * 7. Alias spellings (the RLock calls over the Lock calls, the SimpleQueue calls over the
 *    Queue calls, the Value calls over the Array calls at index 0, the future calls that are
 *    async-result calls) are static inline functions in the headers, not exported twice.
 *
 * Typed values travel as packs (pack.h, values.h): a task's arguments, its result, a typed
 * message; every call that takes a `const mproc_pack *` also takes MPROC_ARGS(...). */

/* Timeouts are int64_t milliseconds: MPROC_FOREVER blocks, 0 polls, >0 bounds the wait. */
#define MPROC_FOREVER ((int64_t)-1)

/* Bytes handed between the library and the caller. What the library hands out is
 * released with mproc_bytes_free(). */
typedef struct mproc_bytes {
    void *data;
    size_t len;
} mproc_bytes;

/* Frees b->data (allocated by the library) and sets *b to {NULL, 0}. NULL is a no-op. */
MPROC_API void mproc_bytes_free(mproc_bytes *b);
/* Frees each of n byte buffers (mproc_bytes_free on each): a pool's results. NULL is a
 * no-op. */
MPROC_API void mproc_bytes_free_array(mproc_bytes *items, size_t n);

/* Copies len bytes of data into a new buffer owned by out. 0 or MPROC_ENOMEM/EINVAL. */
MPROC_API int mproc_bytes_copy(mproc_bytes *out, const void *data, size_t len);

/* The allocator the library uses for everything it hands out. Memory from
 * mproc_malloc must be released with mproc_free (never mix with another allocator). */
MPROC_API void *mproc_malloc(size_t size);
/* Zeroed memory for count elements of size bytes (NULL when out of memory or when the product
 * overflows); release it with mproc_free. */
MPROC_API void *mproc_calloc(size_t count, size_t size);
/* Resizes memory from mproc_malloc/mproc_calloc as realloc() does (NULL on failure, ptr
 * untouched). */
MPROC_API void *mproc_realloc(void *ptr, size_t size);
/* Releases memory from mproc_malloc, mproc_calloc, mproc_realloc or mproc_strdup. NULL is a no-
 * op. */
MPROC_API void mproc_free(void *ptr);
/* A copy of the string s from mproc_malloc (NULL for NULL or when out of memory). */
MPROC_API char *mproc_strdup(const char *s);

/* The library's version as a string: MPROC_VERSION_STRING of the build (mproc/version.h). */
MPROC_API const char *mproc_version(void);

#ifdef __cplusplus
}
#endif
#endif
