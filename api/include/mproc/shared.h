/* mproc — shared values, arrays and named shared memory: Python's Value, Array, RawValue,
 * RawArray and shared_memory.SharedMemory.
 *
 * Values and arrays hold elements of one of Python's typecodes (the enum's values are the
 * typecode characters, so 'i' works where MPROC_T_INT does). They live in shared memory,
 * reach children through fork or argument packs, and their memory goes with the last
 * handle. With a lock (the default in Python), every get/set takes the lock, which is an
 * RLock (Python's default); read-modify-write cycles need mproc_value_lock around them,
 * or the atomic add helpers. Without one (RawValue/RawArray), accesses are plain.
 *
 *   mproc_value *v;
 *   mproc_value_create(&v, MPROC_T_INT, true);   // Value('i', 0)
 *   mproc_value_add_i64(v, 1, NULL);             // v.value += 1, atomically
 *   mproc_array *a;
 *   mproc_array_create(&a, MPROC_T_DOUBLE, 8, true);
 *   int64_t n;
 *   mproc_array_length(a, &n);                   // len(a): 8
 *   mproc_array_destroy(a); mproc_value_destroy(v); */
#ifndef MPROC_SHARED_H
#define MPROC_SHARED_H

#include "common.h"
#include "pack.h"
#include "sync.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mproc_type {
    MPROC_T_CHAR = 'c',  /* char (as a small unsigned number) */
    MPROC_T_BYTE = 'b',  /* signed char */
    MPROC_T_UBYTE = 'B', /* unsigned char */
    MPROC_T_SHORT = 'h',
    MPROC_T_USHORT = 'H',
    MPROC_T_INT = 'i',
    MPROC_T_UINT = 'I',
    MPROC_T_LONG = 'l', /* C long: 8 bytes on 64-bit POSIX, 4 on Windows, as ctypes */
    MPROC_T_ULONG = 'L',
    MPROC_T_LONGLONG = 'q',
    MPROC_T_ULONGLONG = 'Q',
    MPROC_T_FLOAT = 'f',
    MPROC_T_DOUBLE = 'd'
} mproc_type;

/* Size in bytes of one element of type, 0 for an unknown type. */
MPROC_API size_t mproc_type_size(mproc_type type);

/* Value and Array are one object: a Value is an array of one element. */
typedef struct mproc_array mproc_array;
typedef struct mproc_array mproc_value;

/* Zero-initialised. lock=false gives Python's RawValue / RawArray. length >= 1. */
MPROC_API int mproc_value_create(mproc_value **out, mproc_type type, bool lock);
/* Array(type, len, lock), zeroed (len >= 1, else MPROC_EINVAL). */
MPROC_API int mproc_array_create(mproc_array **out, mproc_type type, int64_t length, bool lock);

/* Element access. Integers read as int64 (a 'Q' above INT64_MAX reads as MPROC_ETOOBIG);
 * floats as double, integers too. Setting an integer type from a double is MPROC_ETYPE
 * (Python's TypeError); a value the type cannot hold is MPROC_ETOOBIG (ctypes would
 * truncate silently). An index past the end is MPROC_EINVAL. */
MPROC_API int mproc_array_get_i64(mproc_array *a, size_t index, int64_t *out);
/* Sets element index (MPROC_ETOOBIG when the value does not fit the type; MPROC_EINVAL out of
 * range). */
MPROC_API int mproc_array_set_i64(mproc_array *a, size_t index, int64_t value);
/* Element index as a double (MPROC_EINVAL out of range). */
MPROC_API int mproc_array_get_f64(mproc_array *a, size_t index, double *out);
/* Sets element index from a double (MPROC_ETYPE on an integer type; MPROC_EINVAL out of
 * range). */
MPROC_API int mproc_array_set_f64(mproc_array *a, size_t index, double value);
/* Atomic read-modify-write under the object's lock (or, raw, a CPU atomic on integers and
 * a plain add on floats): *result (may be NULL) receives the new value. add_i64 on a float
 * element, or add_f64 on an integer one, is MPROC_ETYPE. */
MPROC_API int mproc_array_add_i64(mproc_array *a, size_t index, int64_t delta, int64_t *result);
/* Adds delta to element index of a floating-point array atomically; *result (optional) is the
 * new value. */
MPROC_API int mproc_array_add_f64(mproc_array *a, size_t index, double delta, double *result);
/* Copies count elements from/to raw memory of the element type, under the lock once. */
MPROC_API int mproc_array_read(mproc_array *a, size_t start, void *dst, size_t count);
/* Copies count elements from src into the array from index start, under the lock (MPROC_EINVAL
 * out of range). */
MPROC_API int mproc_array_write(mproc_array *a, size_t start, const void *src, size_t count);
/* *n: the number of elements (1 for a Value). */
MPROC_API int mproc_array_length(mproc_array *a, int64_t *n);
/* The element type the array was created with. */
MPROC_API mproc_type mproc_array_type(mproc_array *a);
/* The elements themselves, for direct use under the lock (NULL for a bad handle). */
MPROC_API void *mproc_array_data(mproc_array *a);
/* get_lock(): the RLock guarding the object (owned by it), NULL for a raw one. */
MPROC_API mproc_lock *mproc_array_lock(mproc_array *a);
/* Frees this process's handle; the memory lives on in processes that hold one. NULL is a
 * no-op. */
MPROC_API void mproc_array_destroy(mproc_array *a);
/* Re-opens a Value or Array sent in a pack: a new handle of this process, to destroy.
 * MPROC_ETYPE when the next field is another kind, MPROC_EINVAL at the end of the pack or for
 * NULL. */
MPROC_API int mproc_unpack_array(mproc_unpacker *u, mproc_array **out);

/* The Value spellings: the Array calls at index 0. */
static inline int mproc_value_get_i64(mproc_value *v, int64_t *out)
{
    return mproc_array_get_i64(v, 0, out);
}
/* Value: value = x; mproc_array_set_i64 at index 0. */
static inline int mproc_value_set_i64(mproc_value *v, int64_t value)
{
    return mproc_array_set_i64(v, 0, value);
}
/* Value: value, as a double; mproc_array_get_f64 at index 0. */
static inline int mproc_value_get_f64(mproc_value *v, double *out)
{
    return mproc_array_get_f64(v, 0, out);
}
/* Value: value = x, from a double; mproc_array_set_f64 at index 0. */
static inline int mproc_value_set_f64(mproc_value *v, double value)
{
    return mproc_array_set_f64(v, 0, value);
}
/* Value: value += delta, atomically; mproc_array_add_i64 at index 0. */
static inline int mproc_value_add_i64(mproc_value *v, int64_t delta, int64_t *result)
{
    return mproc_array_add_i64(v, 0, delta, result);
}
/* Value: value += delta, atomically; mproc_array_add_f64 at index 0. */
static inline int mproc_value_add_f64(mproc_value *v, double delta, double *result)
{
    return mproc_array_add_f64(v, 0, delta, result);
}
/* Value: the raw memory of the value (mproc_array_data). */
static inline void *mproc_value_data(mproc_value *v)
{
    return mproc_array_data(v);
}
/* Value: get_lock(): the RLock guarding the value (NULL for a raw one) (mproc_array_lock). */
static inline mproc_lock *mproc_value_lock(mproc_value *v)
{
    return mproc_array_lock(v);
}
/* Value: frees this handle; NULL is a no-op (mproc_array_destroy). */
static inline void mproc_value_destroy(mproc_value *v)
{
    mproc_array_destroy(v);
}
/* Re-opens a Value sent in a pack (mproc_unpack_array). */
static inline int mproc_unpack_value(mproc_unpacker *u, mproc_value **out)
{
    return mproc_unpack_array(u, out);
}

/* ---- named shared memory ------------------------------------------------------------------
 * A block of bytes with a name any process can attach to. The name stays until
 * mproc_shm_unlink or until the last attached process closes it (killed ones included):
 * no stale names are left in /dev/shm. (Where the names cannot be listed, on macOS and the
 * BSDs, a name whose every user was killed stays until unlinked.) Attaching never takes
 * ownership: closing an attachment never removes the block from under the others.
 *
 *   mproc_shm *s;
 *   mproc_shm_create(&s, NULL, 4096);        // a fresh name: mproc_shm_name(s)
 *   memcpy(mproc_shm_data(s), "hi", 3);
 *   mproc_shm_unlink(s);                     // the name goes; attachments keep the memory
 *   mproc_shm_destroy(s);                    // detaches and frees the handle */
typedef struct mproc_shm mproc_shm;

/* name: NULL for a fresh unique one; 1..200 characters without '/' or '\\'. size > 0.
 * MPROC_EEXIST if the name is taken. The block starts zeroed. */
MPROC_API int mproc_shm_create(mproc_shm **out, const char *name, size_t size);
/* MPROC_ENOENT if there is no such block (or it was unlinked). */
MPROC_API int mproc_shm_open(mproc_shm **out, const char *name);
/* The block's bytes (NULL for a bad handle or after close). */
MPROC_API void *mproc_shm_data(mproc_shm *s);
/* Its size in bytes (0 for a bad handle or after close). */
MPROC_API size_t mproc_shm_size(mproc_shm *s);
/* Its name (NULL for a bad handle; kept after close). */
MPROC_API const char *mproc_shm_name(mproc_shm *s);
/* Removes the name now; attached processes keep the memory. MPROC_ECLOSED after close
 * (unlink first, as the block's head is read through the attachment). */
MPROC_API int mproc_shm_unlink(mproc_shm *s);
/* Detaches this process's attachment (data becomes NULL, size 0); the handle stays valid
 * for mproc_shm_destroy, and calls on it give MPROC_ECLOSED. Closing again is 0. */
MPROC_API int mproc_shm_close(mproc_shm *s);
/* Detaches if still attached, and frees the handle. NULL is a no-op. */
MPROC_API void mproc_shm_destroy(mproc_shm *s);
/* Re-opens shared memory sent in a pack: a new attached handle of this process, to destroy.
 * MPROC_ETYPE when the next field is another kind, MPROC_EINVAL at the end of the pack or for
 * NULL. */
MPROC_API int mproc_unpack_shm(mproc_unpacker *u, mproc_shm **out);

#ifdef __cplusplus
}
#endif
#endif
