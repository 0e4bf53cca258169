/* mproc — one call builds a pack, one call reads it: Python's Py_BuildValue and
 * PyArg_ParseTuple, with each value's type chosen by the compiler (C11 _Generic), not by a
 * format string:
 *
 *   MPROC_PACK(out, x * x, "done");                 // appends an I64 and a STR
 *   mproc_pool_apply(pool, "f", MPROC_ARGS(3, "x"), MPROC_FOREVER, &r);   // a pack in place
 *   mproc_queue_put_pack(q, MPROC_ARGS(1, 2.5), MPROC_FOREVER);            // a typed message
 *
 *   int64_t x; const char *name; mproc_lock *lock;
 *   if (MPROC_UNPACK(in, &x, &name, &lock)) ...      // every field, in order, type-checked
 *   int64_t y; MPROC_UNPACK(&r, &y);                 // a task's result, read the same way
 *
 * What each C type becomes, and what each destination takes:
 *   integers (bool, char ... long long, unsigned too)  I64   (unsigned above INT64_MAX:
 *                                                            MPROC_ETOOBIG)
 *   float, double                                     F64
 *   char *, const char *, string literals             STR   (NULL: MPROC_EINVAL)
 *   mproc_bytes, MPROC_BYTES(data, len)               BYTES
 *   mproc_pack *, MPROC_ARGS(...)                     PACK  (nested)
 *   a shareable object (lock, queue, value, pipe end, proxy, ... see MPROC_SHAREABLE_TYPES)
 *                                                     HANDLE / PROXY, as mproc_pack_handle
 *   mproc_arg (MPROC_V(x), built by hand)           as its type says
 * Destinations for MPROC_UNPACK: a pointer to any integer type (range-checked), bool *,
 * double *, float *, const char ** (borrowed from the bytes), mproc_bytes * (borrowed),
 * mproc_unpacker * (a nested pack), T ** for a shareable type T (a handle of one's own, to
 * destroy), mproc_arg * (any field), or NULL to skip a field. A value or destination of
 * another type does not compile. At most 24 values per call; a longer pack is built with
 * several MPROC_PACK calls or the mproc_pack_… calls of pack.h. */
#ifndef MPROC_VALUES_H
#define MPROC_VALUES_H

#include "conn.h"
#include "futures.h"
#include "manager.h"
#include "pack.h"
#include "queue.h"
#include "shared.h"
#include "sync.h"
#include "task.h"
#include "error.h"

/* Every type that travels in a pack as an object: the type, how a process opens its own
 * handle from a pack, and how it destroys it. */
#define MPROC_SHAREABLE_TYPES(X)                                                                   \
    X(mproc_lock, mproc_unpack_lock, mproc_lock_destroy)                                           \
    X(mproc_sem, mproc_unpack_sem, mproc_sem_destroy)                                              \
    X(mproc_cond, mproc_unpack_cond, mproc_cond_destroy)                                           \
    X(mproc_event, mproc_unpack_event, mproc_event_destroy)                                        \
    X(mproc_barrier, mproc_unpack_barrier, mproc_barrier_destroy)                                  \
    X(mproc_array, mproc_unpack_array, mproc_array_destroy)                                        \
    X(mproc_shm, mproc_unpack_shm, mproc_shm_destroy)                                              \
    X(mproc_queue, mproc_unpack_queue, mproc_queue_destroy)                                        \
    X(mproc_conn, mproc_unpack_conn, mproc_conn_destroy)                                           \
    X(mproc_cancel, mproc_unpack_cancel, mproc_cancel_destroy)                                     \
    X(mproc_mdict, mproc_unpack_mdict, mproc_proxy_destroy)                                        \
    X(mproc_mlist, mproc_unpack_mlist, mproc_proxy_destroy)                                        \
    X(mproc_mns, mproc_unpack_mns, mproc_proxy_destroy)                                            \
    X(mproc_mqueue, mproc_unpack_mqueue, mproc_proxy_destroy)                                      \
    X(mproc_mlock, mproc_unpack_mlock, mproc_proxy_destroy)                                        \
    X(mproc_msem, mproc_unpack_msem, mproc_proxy_destroy)                                          \
    X(mproc_mevent, mproc_unpack_mevent, mproc_proxy_destroy)                                      \
    X(mproc_mcond, mproc_unpack_mcond, mproc_proxy_destroy)                                        \
    X(mproc_mbarrier, mproc_unpack_mbarrier, mproc_proxy_destroy)                                  \
    X(mproc_mvalue, mproc_unpack_mvalue, mproc_proxy_destroy)                                      \
    X(mproc_marray, mproc_unpack_marray, mproc_proxy_destroy)

/* ---- values ---------------------------------------------------------------------------- */
static inline mproc_arg mproc_arg_i64(int64_t v)
{
    mproc_arg r = {MPROC_FIELD_I64, {.i64 = v}};
    return r;
}
/* An mproc_arg of an unsigned integer (above INT64_MAX: MPROC_ETOOBIG when packed): what MPROC_V
 * and MPROC_ARGS build. */
static inline mproc_arg mproc_arg_u64(unsigned long long v)
{
    mproc_arg r = {v > (unsigned long long)INT64_MAX ? 0 : MPROC_FIELD_I64, {.i64 = (int64_t)v}};
    return r;
}
/* An mproc_arg of a double: what MPROC_V and MPROC_ARGS build. */
static inline mproc_arg mproc_arg_f64(double v)
{
    mproc_arg r = {MPROC_FIELD_F64, {.f64 = v}};
    return r;
}
/* An mproc_arg of a UTF-8 C string: what MPROC_V and MPROC_ARGS build. */
static inline mproc_arg mproc_arg_str(const char *s)
{
    mproc_arg r = {MPROC_FIELD_STR, {.str = s}};
    return r;
}
/* An mproc_arg of len raw bytes: what MPROC_V and MPROC_ARGS build. */
static inline mproc_arg mproc_arg_bytes(const void *data, size_t len)
{
    mproc_arg r = {MPROC_FIELD_BYTES, {.bytes = {data, len}}};
    return r;
}
/* An mproc_arg of the bytes of an mproc_bytes: what MPROC_V and MPROC_ARGS build. */
static inline mproc_arg mproc_arg_of_bytes(mproc_bytes b)
{
    return mproc_arg_bytes(b.data, b.len);
}
/* An mproc_arg of a nested pack: what MPROC_V and MPROC_ARGS build. */
static inline mproc_arg mproc_arg_pack(const mproc_pack *p)
{
    mproc_arg r = {MPROC_FIELD_PACK, {.pack = p}};
    return r;
}
/* An mproc_arg of a shareable object or proxy (as mproc_pack_handle): what MPROC_V and
 * MPROC_ARGS build. */
static inline mproc_arg mproc_arg_object(const void *object)
{
    mproc_arg r = {MPROC_FIELD_HANDLE, {.object = object}};
    return r;
}
/* An mproc_arg of the value itself (for MPROC_V of an mproc_arg): what MPROC_V and MPROC_ARGS
 * build. */
static inline mproc_arg mproc_arg_same(mproc_arg v)
{
    return v;
}

#define MPROC_BYTES(data, len) mproc_arg_bytes((data), (len))

#define MPROC__V_OBJECT(T, unpack, destroy) T * : mproc_arg_object, const T * : mproc_arg_object,
/* The value x stands for. */
#define MPROC_V(x)                                                                                 \
    _Generic((x),                                                                            \
        MPROC_SHAREABLE_TYPES(MPROC__V_OBJECT)                                               \
        _Bool: mproc_arg_i64, char: mproc_arg_i64, signed char: mproc_arg_i64,         \
        unsigned char: mproc_arg_i64, short: mproc_arg_i64,                              \
        unsigned short: mproc_arg_i64, int: mproc_arg_i64, unsigned: mproc_arg_i64,    \
        long: mproc_arg_i64, unsigned long: mproc_arg_u64, long long: mproc_arg_i64,   \
        unsigned long long: mproc_arg_u64, float: mproc_arg_f64,                         \
        double: mproc_arg_f64, char *: mproc_arg_str, const char *: mproc_arg_str,     \
        mproc_bytes: mproc_arg_of_bytes, mproc_pack *: mproc_arg_pack,                   \
        const mproc_pack *: mproc_arg_pack, mproc_arg: mproc_arg_same)(x)

/* ---- destinations ---------------------------------------------------------------------- */
#define MPROC__SLOT_INT(name, T, sig)                                                              \
    static inline mproc_slot mproc__slot_##name(T *p)                                              \
    {                                                                                              \
        mproc_slot s = {MPROC_SLOT_INT, p, sizeof(T), sig, 0, 0};                                  \
        return s;                                                                                  \
    }
MPROC__SLOT_INT(schar, signed char, true)
MPROC__SLOT_INT(uchar, unsigned char, false)
MPROC__SLOT_INT(short, short, true)
MPROC__SLOT_INT(ushort, unsigned short, false)
MPROC__SLOT_INT(int, int, true)
MPROC__SLOT_INT(uint, unsigned, false)
MPROC__SLOT_INT(long, long, true)
MPROC__SLOT_INT(ulong, unsigned long, false)
MPROC__SLOT_INT(llong, long long, true)
MPROC__SLOT_INT(ullong, unsigned long long, false)

#define MPROC__SLOT_OF(name, T, kind)                                                              \
    static inline mproc_slot mproc__slot_##name(T *p)                                              \
    {                                                                                              \
        mproc_slot s = {kind, p, 0, false, 0, 0};                                                  \
        return s;                                                                                  \
    }
MPROC__SLOT_OF(bool, bool, MPROC_SLOT_BOOL)
MPROC__SLOT_OF(double, double, MPROC_SLOT_DOUBLE)
MPROC__SLOT_OF(float, float, MPROC_SLOT_FLOAT)
MPROC__SLOT_OF(str, const char *, MPROC_SLOT_STR)
MPROC__SLOT_OF(bytes, mproc_bytes, MPROC_SLOT_BYTES)
MPROC__SLOT_OF(pack, mproc_unpacker, MPROC_SLOT_PACK)
MPROC__SLOT_OF(arg, mproc_arg, MPROC_SLOT_ARG)
MPROC__SLOT_OF(skip, void, MPROC_SLOT_SKIP)

#define MPROC__SLOT_OBJECT(T, unpack, destroy)                                                     \
    static inline int mproc__open_##T(mproc_unpacker *u, void *dst)                                \
    {                                                                                              \
        return unpack(u, (T **)dst);                                                               \
    }                                                                                              \
    static inline void mproc__close_##T(void *object)                                              \
    {                                                                                              \
        destroy((T *)object);                                                                      \
    }                                                                                              \
    static inline mproc_slot mproc__slot_##T(T **p)                                                \
    {                                                                                              \
        mproc_slot s = {MPROC_SLOT_OBJECT, p, 0, false, mproc__open_##T, mproc__close_##T};        \
        return s;                                                                                  \
    }
MPROC_SHAREABLE_TYPES(MPROC__SLOT_OBJECT)

#define MPROC__SLOT_CASE(T, unpack, destroy) T ** : mproc__slot_##T,
/* The destination a pointer stands for. */
#define MPROC_SLOT(p)                                                                              \
    _Generic((p),                                                                            \
        MPROC_SHAREABLE_TYPES(MPROC__SLOT_CASE)                                              \
        signed char *: mproc__slot_schar, unsigned char *: mproc__slot_uchar,                \
        short *: mproc__slot_short, unsigned short *: mproc__slot_ushort,                    \
        int *: mproc__slot_int, unsigned *: mproc__slot_uint, long *: mproc__slot_long,      \
        unsigned long *: mproc__slot_ulong, long long *: mproc__slot_llong,                  \
        unsigned long long *: mproc__slot_ullong, bool *: mproc__slot_bool,                  \
        double *: mproc__slot_double, float *: mproc__slot_float,                            \
        const char **: mproc__slot_str, mproc_bytes *: mproc__slot_bytes,                    \
        mproc_unpacker *: mproc__slot_pack, mproc_arg *: mproc__slot_arg,                \
        void *: mproc__slot_skip)(p)

/* ---- the calls ---------------------------------------------------------------------------- */
/* How many arguments (1 to 24). */
#define MPROC__NARGS(...)                                                                          \
    MPROC__NARGS_(__VA_ARGS__, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8,   \
                  7, 6, 5, 4, 3, 2, 1, 0)
#define MPROC__NARGS_(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17,  \
                      a18, a19, a20, a21, a22, a23, a24, n, ...)                                   \
    n
#define MPROC__CAT(a, b) MPROC__CAT_(a, b)
#define MPROC__CAT_(a, b) a##b
/* f(a), f(b), ... for each argument. */
#define MPROC__MAP(f, ...) MPROC__CAT(MPROC__MAP_, MPROC__NARGS(__VA_ARGS__))(f, __VA_ARGS__)
#define MPROC__MAP_1(f, a) f(a)
#define MPROC__MAP_2(f, a, ...) f(a), MPROC__MAP_1(f, __VA_ARGS__)
#define MPROC__MAP_3(f, a, ...) f(a), MPROC__MAP_2(f, __VA_ARGS__)
#define MPROC__MAP_4(f, a, ...) f(a), MPROC__MAP_3(f, __VA_ARGS__)
#define MPROC__MAP_5(f, a, ...) f(a), MPROC__MAP_4(f, __VA_ARGS__)
#define MPROC__MAP_6(f, a, ...) f(a), MPROC__MAP_5(f, __VA_ARGS__)
#define MPROC__MAP_7(f, a, ...) f(a), MPROC__MAP_6(f, __VA_ARGS__)
#define MPROC__MAP_8(f, a, ...) f(a), MPROC__MAP_7(f, __VA_ARGS__)
#define MPROC__MAP_9(f, a, ...) f(a), MPROC__MAP_8(f, __VA_ARGS__)
#define MPROC__MAP_10(f, a, ...) f(a), MPROC__MAP_9(f, __VA_ARGS__)
#define MPROC__MAP_11(f, a, ...) f(a), MPROC__MAP_10(f, __VA_ARGS__)
#define MPROC__MAP_12(f, a, ...) f(a), MPROC__MAP_11(f, __VA_ARGS__)
#define MPROC__MAP_13(f, a, ...) f(a), MPROC__MAP_12(f, __VA_ARGS__)
#define MPROC__MAP_14(f, a, ...) f(a), MPROC__MAP_13(f, __VA_ARGS__)
#define MPROC__MAP_15(f, a, ...) f(a), MPROC__MAP_14(f, __VA_ARGS__)
#define MPROC__MAP_16(f, a, ...) f(a), MPROC__MAP_15(f, __VA_ARGS__)
#define MPROC__MAP_17(f, a, ...) f(a), MPROC__MAP_16(f, __VA_ARGS__)
#define MPROC__MAP_18(f, a, ...) f(a), MPROC__MAP_17(f, __VA_ARGS__)
#define MPROC__MAP_19(f, a, ...) f(a), MPROC__MAP_18(f, __VA_ARGS__)
#define MPROC__MAP_20(f, a, ...) f(a), MPROC__MAP_19(f, __VA_ARGS__)
#define MPROC__MAP_21(f, a, ...) f(a), MPROC__MAP_20(f, __VA_ARGS__)
#define MPROC__MAP_22(f, a, ...) f(a), MPROC__MAP_21(f, __VA_ARGS__)
#define MPROC__MAP_23(f, a, ...) f(a), MPROC__MAP_22(f, __VA_ARGS__)
#define MPROC__MAP_24(f, a, ...) f(a), MPROC__MAP_23(f, __VA_ARGS__)

/* Appends the values to pack p: 0, or a code (nothing appended). */
#define MPROC_PACK(p, ...)                                                                         \
    mproc_pack_args((p), (const mproc_arg[]){MPROC__MAP(MPROC_V, __VA_ARGS__)},                    \
                    MPROC__NARGS(__VA_ARGS__))
/* A pack of the values, in place (see mproc_pack_literal in pack.h). */
#define MPROC_ARGS(...)                                                                            \
    ((const mproc_pack *)(const void *)&(const mproc_pack_literal){                                \
        MPROC_PACK_LITERAL_MAGIC, MPROC__NARGS(__VA_ARGS__),                                       \
        (const mproc_arg[]){MPROC__MAP(MPROC_V, __VA_ARGS__)}})
/* Reads every field of the bytes `in` (a task's arguments, a result, a message) into the
 * destinations: 0, or a code (see mproc_unpack_values). */
#define MPROC_UNPACK(in, ...)                                                                      \
    mproc_unpack_values((in), (const mproc_slot[]){MPROC__MAP(MPROC_SLOT, __VA_ARGS__)},           \
                        MPROC__NARGS(__VA_ARGS__))

/* ---- tasks with typed arguments ----------------------------------------------------------
 * A task whose arguments are read for it, by type:
 *
 *   MPROC_TASK_ARGS(greet, out, const char *, who, int64_t, times)
 *   {
 *       for (int64_t i = 0; i < times; i++)
 *           printf("hello %s\n", who);
 *       return MPROC_PACK(out, times);      // the result (nothing: return 0)
 *   }
 *
 * registers "greet" as MPROC_TASK does, reads its pack with MPROC_UNPACK into the named
 * parameters (up to 8: any destination type MPROC_UNPACK takes, pointed to), and runs the
 * body with them and with `out`, the result pack. Arguments that do not match (another
 * type, another count) fail the task before the body runs: it returns 1 with the text
 * "task 'greet': bad arguments: <the code's text>" (a pool reports it as the failure). */
/* For MPROC_TASK_ARGS: the same over pairs (type, name), up to 8 pairs. */
#define MPROC__NPAIRS(...)                                                                         \
    MPROC__NPAIRS_(__VA_ARGS__, 8, x, 7, x, 6, x, 5, x, 4, x, 3, x, 2, x, 1, x, 0, 0)
#define MPROC__NPAIRS_(t1, n1, t2, n2, t3, n3, t4, n4, t5, n5, t6, n6, t7, n7, t8, n8, n, ...) n
#define MPROC__PAIRS_DECL(...)                                                                     \
    MPROC__CAT(MPROC__PAIRS_DECL_, MPROC__NPAIRS(__VA_ARGS__))(__VA_ARGS__)
#define MPROC__PAIRS_DECL_1(T, n) T n;
#define MPROC__PAIRS_DECL_2(T, n, ...)                                                             \
    T n;                                                                                           \
    MPROC__PAIRS_DECL_1(__VA_ARGS__)
#define MPROC__PAIRS_DECL_3(T, n, ...)                                                             \
    T n;                                                                                           \
    MPROC__PAIRS_DECL_2(__VA_ARGS__)
#define MPROC__PAIRS_DECL_4(T, n, ...)                                                             \
    T n;                                                                                           \
    MPROC__PAIRS_DECL_3(__VA_ARGS__)
#define MPROC__PAIRS_DECL_5(T, n, ...)                                                             \
    T n;                                                                                           \
    MPROC__PAIRS_DECL_4(__VA_ARGS__)
#define MPROC__PAIRS_DECL_6(T, n, ...)                                                             \
    T n;                                                                                           \
    MPROC__PAIRS_DECL_5(__VA_ARGS__)
#define MPROC__PAIRS_DECL_7(T, n, ...)                                                             \
    T n;                                                                                           \
    MPROC__PAIRS_DECL_6(__VA_ARGS__)
#define MPROC__PAIRS_DECL_8(T, n, ...)                                                             \
    T n;                                                                                           \
    MPROC__PAIRS_DECL_7(__VA_ARGS__)
#define MPROC__PAIRS_ADDR(...)                                                                     \
    MPROC__CAT(MPROC__PAIRS_ADDR_, MPROC__NPAIRS(__VA_ARGS__))(__VA_ARGS__)
#define MPROC__PAIRS_ADDR_1(T, n) &n
#define MPROC__PAIRS_ADDR_2(T, n, ...) &n, MPROC__PAIRS_ADDR_1(__VA_ARGS__)
#define MPROC__PAIRS_ADDR_3(T, n, ...) &n, MPROC__PAIRS_ADDR_2(__VA_ARGS__)
#define MPROC__PAIRS_ADDR_4(T, n, ...) &n, MPROC__PAIRS_ADDR_3(__VA_ARGS__)
#define MPROC__PAIRS_ADDR_5(T, n, ...) &n, MPROC__PAIRS_ADDR_4(__VA_ARGS__)
#define MPROC__PAIRS_ADDR_6(T, n, ...) &n, MPROC__PAIRS_ADDR_5(__VA_ARGS__)
#define MPROC__PAIRS_ADDR_7(T, n, ...) &n, MPROC__PAIRS_ADDR_6(__VA_ARGS__)
#define MPROC__PAIRS_ADDR_8(T, n, ...) &n, MPROC__PAIRS_ADDR_7(__VA_ARGS__)
#define MPROC__PAIRS_PARAM(...)                                                                    \
    MPROC__CAT(MPROC__PAIRS_PARAM_, MPROC__NPAIRS(__VA_ARGS__))(__VA_ARGS__)
#define MPROC__PAIRS_PARAM_1(T, n) T n
#define MPROC__PAIRS_PARAM_2(T, n, ...) T n, MPROC__PAIRS_PARAM_1(__VA_ARGS__)
#define MPROC__PAIRS_PARAM_3(T, n, ...) T n, MPROC__PAIRS_PARAM_2(__VA_ARGS__)
#define MPROC__PAIRS_PARAM_4(T, n, ...) T n, MPROC__PAIRS_PARAM_3(__VA_ARGS__)
#define MPROC__PAIRS_PARAM_5(T, n, ...) T n, MPROC__PAIRS_PARAM_4(__VA_ARGS__)
#define MPROC__PAIRS_PARAM_6(T, n, ...) T n, MPROC__PAIRS_PARAM_5(__VA_ARGS__)
#define MPROC__PAIRS_PARAM_7(T, n, ...) T n, MPROC__PAIRS_PARAM_6(__VA_ARGS__)
#define MPROC__PAIRS_PARAM_8(T, n, ...) T n, MPROC__PAIRS_PARAM_7(__VA_ARGS__)
#define MPROC__PAIRS_NAME(...)                                                                     \
    MPROC__CAT(MPROC__PAIRS_NAME_, MPROC__NPAIRS(__VA_ARGS__))(__VA_ARGS__)
#define MPROC__PAIRS_NAME_1(T, n) n
#define MPROC__PAIRS_NAME_2(T, n, ...) n, MPROC__PAIRS_NAME_1(__VA_ARGS__)
#define MPROC__PAIRS_NAME_3(T, n, ...) n, MPROC__PAIRS_NAME_2(__VA_ARGS__)
#define MPROC__PAIRS_NAME_4(T, n, ...) n, MPROC__PAIRS_NAME_3(__VA_ARGS__)
#define MPROC__PAIRS_NAME_5(T, n, ...) n, MPROC__PAIRS_NAME_4(__VA_ARGS__)
#define MPROC__PAIRS_NAME_6(T, n, ...) n, MPROC__PAIRS_NAME_5(__VA_ARGS__)
#define MPROC__PAIRS_NAME_7(T, n, ...) n, MPROC__PAIRS_NAME_6(__VA_ARGS__)
#define MPROC__PAIRS_NAME_8(T, n, ...) n, MPROC__PAIRS_NAME_7(__VA_ARGS__)
/* (A body need not write a result.) */
#if defined(__GNUC__)
#define MPROC__MAYBE_UNUSED __attribute__((unused))
#else
#define MPROC__MAYBE_UNUSED
#endif
#define MPROC_TASK_ARGS(name, out, ...)                                                            \
    static int name##_body_(mproc_pack *out MPROC__MAYBE_UNUSED, MPROC__PAIRS_PARAM(__VA_ARGS__)); \
    MPROC_TASK(name, mproc_in_, mproc_out_)                                                        \
    {                                                                                              \
        MPROC__PAIRS_DECL(__VA_ARGS__)                                                             \
        int mproc_rc_ = MPROC_UNPACK(mproc_in_, MPROC__PAIRS_ADDR(__VA_ARGS__));                   \
        if (mproc_rc_ != 0)                                                                        \
            return mproc_task_fail(mproc_out_, "task '%s': bad arguments: %s", #name,              \
                                   mproc_strerror(mproc_rc_));                                     \
        return name##_body_(mproc_out_, MPROC__PAIRS_NAME(__VA_ARGS__));                           \
    }                                                                                              \
    static int name##_body_(mproc_pack *out MPROC__MAYBE_UNUSED, MPROC__PAIRS_PARAM(__VA_ARGS__))

/* A task that takes no arguments (Python's `def work():`), its body given only `out`:
 *
 *   MPROC_TASK_NOARGS(dance, out)
 *   {
 *       puts("dancing");
 *       return 0;
 *   }
 *
 * Arguments given to it fail the task as MPROC_TASK_ARGS's do (Python's TypeError). */
#define MPROC_TASK_NOARGS(name, out)                                                               \
    static int name##_body_(mproc_pack *out MPROC__MAYBE_UNUSED);                                  \
    MPROC_TASK(name, mproc_in_, mproc_out_)                                                        \
    {                                                                                              \
        int mproc_rc_ = mproc_unpack_values(mproc_in_, NULL, 0);                                   \
        if (mproc_rc_ != 0)                                                                        \
            return mproc_task_fail(mproc_out_, "task '%s': bad arguments: %s", #name,              \
                                   mproc_strerror(mproc_rc_));                                     \
        return name##_body_(mproc_out_);                                                           \
    }                                                                                              \
    static int name##_body_(mproc_pack *out MPROC__MAYBE_UNUSED)

#endif
