/* mproc — argument packs: Python's args=(…) as self-describing bytes.
 *
 * A pack is a sequence of typed fields. The writer (mproc_pack) appends fields; the
 * reader (mproc_unpacker, a cursor kept on the caller's stack) reads them back in
 * order. Reading a field of another type gives MPROC_ETYPE and leaves the cursor where
 * it was; a truncated or corrupt pack gives MPROC_EINVAL. Neither ever crashes.
 *
 * Layout (little endian): each field is a 1-byte tag followed by
 *   I64: 8 bytes   F64: 8 bytes (IEEE-754)   STR/BYTES/PACK: u64 length + that many bytes
 *   HANDLE: u64 length + a shareable object's kind and OS handles (see below)
 *   PROXY: u64 length + a manager proxy: kind, object id, the server's address and key
 * A STR's bytes end with a NUL that the length counts, so readers get a C string
 * without a copy. */
#ifndef MPROC_PACK_H
#define MPROC_PACK_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mproc_field_type {
    MPROC_FIELD_I64 = 1,
    MPROC_FIELD_F64 = 2,
    MPROC_FIELD_STR = 3,
    MPROC_FIELD_BYTES = 4,
    MPROC_FIELD_PACK = 5,
    MPROC_FIELD_HANDLE = 6,
    MPROC_FIELD_PROXY = 7 /* a manager proxy (mproc/manager.h) */
} mproc_field_type;

typedef struct mproc_pack mproc_pack;

/* A new, empty pack to append fields to (free it with mproc_pack_destroy). MPROC_EINVAL for a
 * NULL out, MPROC_ENOMEM. */
MPROC_API int mproc_pack_create(mproc_pack **out);
/* Frees the pack. NULL is a no-op. */
MPROC_API void mproc_pack_destroy(mproc_pack *p);
/* Forget every field, keep the buffer. */
MPROC_API int mproc_pack_reset(mproc_pack *p);

/* Appends a 64-bit integer. MPROC_EINVAL for a NULL or literal pack, MPROC_ENOMEM. */
MPROC_API int mproc_pack_i64(mproc_pack *p, int64_t v);
/* Appends a double. MPROC_EINVAL for a NULL or literal pack, MPROC_ENOMEM. */
MPROC_API int mproc_pack_f64(mproc_pack *p, double v);
/* A UTF-8 C string (NULL is MPROC_EINVAL). */
MPROC_API int mproc_pack_str(mproc_pack *p, const char *s);
/* len bytes of data (data may be NULL only when len is 0). */
MPROC_API int mproc_pack_bytes(mproc_pack *p, const void *data, size_t len);
/* A nested pack, copied as it is now. */
MPROC_API int mproc_pack_pack(mproc_pack *p, const mproc_pack *inner);

/* A shareable object: Lock/RLock, Semaphore, Condition (with its lock), Event, Barrier,
 * Value, Array, SharedMemory, Queue (all three kinds), a Pipe's end, a manager proxy. The pack holds its own duplicates of the object's OS handles
 * (the object may be destroyed right after), and a Process started with the pack gets
 * copies of them in its child, under every start method. The child re-opens the object
 * with the matching mproc_unpack_lock / _sem / _cond / _event / _barrier / _value /
 * _array / _shm / _queue / _conn (declared with each type), which gives a new handle of its own to destroy. */
MPROC_API int mproc_pack_handle(mproc_pack *p, const void *object);

/* The encoded bytes, borrowed: valid until the pack is changed or destroyed. A pack literal
 * (MPROC_ARGS) has no bytes of its own to lend: MPROC_EINVAL. */
MPROC_API int mproc_pack_view(const mproc_pack *p, mproc_bytes *out);
/* Number of fields appended so far (a count, or MPROC_EINVAL). */
MPROC_API int mproc_pack_count(const mproc_pack *p);

/* Reading. The fields are public only so the cursor can live on the stack; treat
 * them as private. Strings and byte fields point into the packed bytes (no copy):
 * they live as long as those bytes do. */
typedef struct mproc_unpacker {
    const uint8_t *data;
    size_t len;
    size_t pos;
} mproc_unpacker;

/* Starts reading `in` (NULL data with len 0 is an empty pack). */
MPROC_API int mproc_unpack_init(mproc_unpacker *u, const mproc_bytes *in);
/* Type of the next field (a mproc_field_type > 0), 0 at the end, MPROC_EINVAL if corrupt. */
MPROC_API int mproc_unpack_peek(const mproc_unpacker *u);
/* Number of fields left (a count, or MPROC_EINVAL if the rest is corrupt). */
MPROC_API int mproc_unpack_remaining(const mproc_unpacker *u);

/* Reads the next field as an integer into *v. MPROC_ETYPE when it is another type (the cursor
 * stays), MPROC_EINVAL at the end, for NULL or corrupt bytes. */
MPROC_API int mproc_unpack_i64(mproc_unpacker *u, int64_t *v);
/* Reads the next field as a double into *v. MPROC_ETYPE when it is another type (the cursor
 * stays), MPROC_EINVAL at the end, for NULL or corrupt bytes. */
MPROC_API int mproc_unpack_f64(mproc_unpacker *u, double *v);
/* Reads the next field as a NUL-terminated UTF-8 string (*s points into the packed bytes).
 * MPROC_ETYPE when it is another type, MPROC_EINVAL at the end, for NULL or corrupt bytes. */
MPROC_API int mproc_unpack_str(mproc_unpacker *u, const char **s);
/* Like mproc_unpack_str, also giving the length without the NUL. */
MPROC_API int mproc_unpack_strn(mproc_unpacker *u, const char **s, size_t *len);
/* Reads the next field as raw bytes (*data points into the packed bytes, *len their count).
 * MPROC_ETYPE when it is another type, MPROC_EINVAL at the end, for NULL or corrupt bytes. */
MPROC_API int mproc_unpack_bytes(mproc_unpacker *u, const void **data, size_t *len);
/* A nested pack: `inner` becomes a cursor over it. */
MPROC_API int mproc_unpack_pack(mproc_unpacker *u, mproc_unpacker *inner);
/* Skips one field of any type. */
MPROC_API int mproc_unpack_skip(mproc_unpacker *u);

/* Python's repr() of the value a pack stands for, as print() shows it: a pack of one field
 * is that field (42, 2.5, 'text', b'\x00'), any other the tuple of its fields ((1, 'a'),
 * (7,) for a nested pack of one, ()); a shareable object or proxy shows as <shared object> or
 * <manager proxy>. text receives NUL-terminated UTF-8 (len without the NUL) to free with
 * mproc_bytes_free. MPROC_EINVAL for NULL or corrupt bytes, MPROC_ENOMEM. */
MPROC_API int mproc_pack_repr(const mproc_bytes *pack, mproc_bytes *text);

/* ---- one call builds, one call reads (mproc/values.h has the macros) -----------------------
 * A value to pack: a field's type and contents. MPROC_V(x) makes one from any C value of a
 * packable type, chosen by the compiler; MPROC_BYTES(data, len) one of raw bytes. */
typedef struct mproc_arg {
    int type; /* a mproc_field_type; 0: an integer a pack cannot hold (MPROC_ETOOBIG) */
    union {
        int64_t i64;
        double f64;
        const char *str;
        struct {
            const void *data;
            size_t len;
        } bytes;
        const mproc_pack *pack;
        const void *object; /* HANDLE and PROXY: anything mproc_pack_handle takes */
    } as;
} mproc_arg;

/* Appends n values to p: all of them, or none (MPROC_EINVAL, MPROC_ETOOBIG, ...). */
MPROC_API int mproc_pack_args(mproc_pack *p, const mproc_arg *args, size_t n);

/* A pack written in place, for one call: MPROC_ARGS(1, "two", 3.0) is a const mproc_pack *
 * that lives until the end of the enclosing block, needs no destroy, and is taken by every
 * call that takes a const mproc_pack * (it is read during the call, never kept), except
 * mproc_pack_view, which lends bytes a literal does not have. */
typedef struct mproc_pack_literal {
    uint32_t magic; /* MPROC_PACK_LITERAL_MAGIC */
    uint32_t count;
    const mproc_arg *args;
} mproc_pack_literal;
#define MPROC_PACK_LITERAL_MAGIC 0x6d704c56u

/* Where a field read by mproc_unpack_values goes. MPROC_UNPACK makes them from pointers. */
typedef enum mproc_slot_kind {
    MPROC_SLOT_SKIP = 0, /* any field, read and dropped (a NULL destination) */
    MPROC_SLOT_INT,      /* an I64 into an integer of `size` bytes, `is_signed` */
    MPROC_SLOT_BOOL,     /* an I64 into a bool: 0 false, anything else true */
    MPROC_SLOT_DOUBLE,   /* an F64 */
    MPROC_SLOT_FLOAT,    /* an F64 into a float */
    MPROC_SLOT_STR,      /* a STR into a const char * (borrowed from the bytes) */
    MPROC_SLOT_BYTES,    /* a BYTES into an mproc_bytes (borrowed: never free it) */
    MPROC_SLOT_PACK,     /* a PACK into an mproc_unpacker over it */
    MPROC_SLOT_ARG,      /* any field but an object into an mproc_arg (borrowed) */
    MPROC_SLOT_OBJECT    /* a shareable object, opened with `open`, a handle of one's own */
} mproc_slot_kind;
typedef struct mproc_slot {
    int kind; /* mproc_slot_kind */
    void *dst;
    uint8_t size;
    bool is_signed;
    int (*open)(mproc_unpacker *u, void *dst); /* objects: the type's mproc_unpack_… */
    void (*close)(void *object);               /* objects: its destroy, to undo a failure */
} mproc_slot;

/* Reads every field of `in` into the n slots, in order. A field of another type is
 * MPROC_ETYPE; more or fewer fields than slots is MPROC_EINVAL; an integer the destination
 * cannot hold is MPROC_ETOOBIG; a corrupt pack MPROC_EINVAL. On failure the objects opened
 * so far are destroyed again (other destinations may have been written). */
MPROC_API int mproc_unpack_values(const mproc_bytes *in, const mproc_slot *slots, size_t n);

#ifdef __cplusplus
}
#endif
#endif
