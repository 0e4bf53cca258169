/* mproc — common definitions: export macro, timeouts, byte buffers, allocation. */
#ifndef MPROC_COMMON_H
#define MPROC_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* On ELF the library is built with hidden visibility and exports only these.
 * On Windows, mingw exports every global of a DLL that has no dllexport at all,
 * and functions need no dllimport, so the same headers serve static and shared. */
#if defined(_WIN32) || defined(__CYGWIN__)
#define MPROC_API
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

#define MPROC_VERSION_MAJOR 0
#define MPROC_VERSION_MINOR 1
#define MPROC_VERSION_PATCH 0
#define MPROC_VERSION_STRING "0.1.0"

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

/* Copies len bytes of data into a new buffer owned by out. 0 or MPROC_ENOMEM/EINVAL. */
MPROC_API int mproc_bytes_copy(mproc_bytes *out, const void *data, size_t len);

/* The allocator the library uses for everything it hands out. Memory from
 * mproc_malloc must be released with mproc_free (never mix with another allocator). */
MPROC_API void *mproc_malloc(size_t size);
MPROC_API void *mproc_calloc(size_t count, size_t size);
MPROC_API void *mproc_realloc(void *ptr, size_t size);
MPROC_API void mproc_free(void *ptr);
MPROC_API char *mproc_strdup(const char *s);

/* Library version as a string, e.g. "0.1.0". */
MPROC_API const char *mproc_version(void);

#ifdef __cplusplus
}
#endif
#endif
