/* Value / Array (one object kind). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "modules/modules.h"

/* ---- Value and Array -------------------------------------------------------------------------
 * Segment: the header, then an RLock's state, then the elements (16-byte aligned). */

typedef struct array_state {
    uint32_t magic, kind;
    uint32_t type;
    uint32_t elem_size;
    uint64_t length;
    uint32_t has_lock;
    uint32_t pad;
} array_state;

#define LOCK_OFFSET 64
#define DATA_OFFSET 128

struct mproc_array {
    mproc__shared o;
    struct mproc_lock lock; /* a view of the lock state in our segment */
};

size_t mproc_type_size(mproc_type type)
{
    switch (type) {
    case MPROC_T_CHAR:
    case MPROC_T_BYTE:
    case MPROC_T_UBYTE: return 1;
    case MPROC_T_SHORT:
    case MPROC_T_USHORT: return sizeof(short);
    case MPROC_T_INT:
    case MPROC_T_UINT: return sizeof(int);
    case MPROC_T_LONG:
    case MPROC_T_ULONG: return sizeof(long);
    case MPROC_T_LONGLONG:
    case MPROC_T_ULONGLONG: return sizeof(long long);
    case MPROC_T_FLOAT: return sizeof(float);
    case MPROC_T_DOUBLE: return sizeof(double);
    default: return 0;
    }
}

static array_state *array_st(const mproc_array *a)
{
    return mproc__shared_state(&a->o);
}

static uint8_t *elements(const mproc_array *a)
{
    return (uint8_t *)a->o.base + DATA_OFFSET;
}

/* Sets up the lock view after create/open. */
static void attach_lock(mproc_array *a)
{
    if (array_st(a)->has_lock)
        mproc__lock_view(&a->lock, &a->o, LOCK_OFFSET, 0);
}

int mproc_array_create(mproc_array **out, mproc_type type, int64_t count, bool lock)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    size_t elem = mproc_type_size(type);
    if (elem == 0 || count <= 0)
        return mproc__fail(MPROC_EINVAL);
    if ((uint64_t)count > (SIZE_MAX - DATA_OFFSET) / elem)
        return mproc__fail(MPROC_ETOOBIG);
    size_t length = (size_t)count;
    _Static_assert(sizeof(array_state) <= LOCK_OFFSET, "header fits");
    mproc_array *a = mproc_calloc(1, sizeof *a);
    if (!a)
        return mproc__fail(MPROC_ENOMEM);
    int rc = mproc__shared_create(&a->o, MPROC__KIND_ARRAY, DATA_OFFSET + length * elem, 1);
    if (rc) {
        mproc_free(a);
        return rc;
    }
    array_state *st = array_st(a);
    st->type = (uint32_t)type;
    st->elem_size = (uint32_t)elem;
    st->length = length;
    st->has_lock = lock;
    if (lock)
        mproc__lock_state_init((uint8_t *)a->o.base + LOCK_OFFSET, true);
    attach_lock(a);
    *out = a;
    return 0;
}

int mproc_value_create(mproc_value **out, mproc_type type, bool lock)
{
    return mproc_array_create(out, type, 1, lock);
}

static int check(mproc_array *a)
{
    return mproc__object_check(a, MPROC__KIND_ARRAY) ? mproc__fail(MPROC_EINVAL) : 0;
}

static void lock_if(mproc_array *a)
{
    /* The lock is robust: a dead holder's lock comes back (with EOWNERDEAD, which a
     * single element's value cannot be torn by). */
    if (array_st(a)->has_lock)
        mproc_lock_acquire(&a->lock, MPROC_FOREVER);
}

static void unlock_if(mproc_array *a)
{
    if (array_st(a)->has_lock)
        mproc_lock_release(&a->lock);
}

static bool is_float(uint32_t type)
{
    return type == MPROC_T_FLOAT || type == MPROC_T_DOUBLE;
}

/* Reads element p of type as int64 or double (whichever the type is). */
static void read_elem(uint32_t type, const void *p, int64_t *i, uint64_t *u, double *d,
                      bool *is_unsigned)
{
    *is_unsigned = false;
    switch (type) {
    case MPROC_T_CHAR:
    case MPROC_T_UBYTE: *i = *(const unsigned char *)p; break;
    case MPROC_T_BYTE: *i = *(const signed char *)p; break;
    case MPROC_T_SHORT: *i = *(const short *)p; break;
    case MPROC_T_USHORT: *i = *(const unsigned short *)p; break;
    case MPROC_T_INT: *i = *(const int *)p; break;
    case MPROC_T_UINT: *i = *(const unsigned int *)p; break;
    case MPROC_T_LONG: *i = *(const long *)p; break;
    case MPROC_T_ULONG:
        *u = *(const unsigned long *)p;
        *is_unsigned = true;
        break;
    case MPROC_T_LONGLONG: *i = *(const long long *)p; break;
    case MPROC_T_ULONGLONG:
        *u = *(const unsigned long long *)p;
        *is_unsigned = true;
        break;
    case MPROC_T_FLOAT: *d = *(const float *)p; break;
    case MPROC_T_DOUBLE: *d = *(const double *)p; break;
    default: break;
    }
    if (*is_unsigned && *u <= INT64_MAX) {
        *i = (int64_t)*u;
        *is_unsigned = false;
    }
}

/* Stores an integer into element p of type; MPROC_ETOOBIG if it does not fit. */
static int write_int(uint32_t type, void *p, int64_t v)
{
#define FITS(T, lo, hi)                                                                            \
    (v >= (int64_t)(lo) && (v < 0 || (uint64_t)v <= (uint64_t)(hi)) ? (*(T *)p = (T)v, 0)          \
                                                                    : MPROC_ETOOBIG)
    switch (type) {
    case MPROC_T_CHAR:
    case MPROC_T_UBYTE: return FITS(unsigned char, 0, 255);
    case MPROC_T_BYTE: return FITS(signed char, -128, 127);
    case MPROC_T_SHORT: return FITS(short, -32768, 32767);
    case MPROC_T_USHORT: return FITS(unsigned short, 0, 65535);
    case MPROC_T_INT: return FITS(int, INT32_MIN, INT32_MAX);
    case MPROC_T_UINT: return FITS(unsigned int, 0, UINT32_MAX);
    case MPROC_T_LONG:
        return sizeof(long) == 8 ? FITS(long, INT64_MIN, INT64_MAX)
                                 : FITS(long, INT32_MIN, INT32_MAX);
    case MPROC_T_ULONG:
        return sizeof(long) == 8 ? FITS(unsigned long, 0, UINT64_MAX)
                                 : FITS(unsigned long, 0, UINT32_MAX);
    case MPROC_T_LONGLONG: *(long long *)p = v; return 0;
    case MPROC_T_ULONGLONG: return FITS(unsigned long long, 0, UINT64_MAX);
    case MPROC_T_FLOAT: *(float *)p = (float)v; return 0;
    case MPROC_T_DOUBLE: *(double *)p = (double)v; return 0;
    default: return MPROC_EINVAL;
    }
#undef FITS
}

static int write_float(uint32_t type, void *p, double v)
{
    if (type == MPROC_T_FLOAT) {
        *(float *)p = (float)v;
        return 0;
    }
    if (type == MPROC_T_DOUBLE) {
        *(double *)p = v;
        return 0;
    }
    return MPROC_ETYPE;
}

int mproc__elem_get_i64(uint32_t type, const void *p, int64_t *out)
{
    if (is_float(type))
        return MPROC_ETYPE;
    int64_t i = 0;
    uint64_t u = 0;
    double d = 0;
    bool big;
    read_elem(type, p, &i, &u, &d, &big);
    if (big)
        return MPROC_ETOOBIG;
    *out = i;
    return 0;
}

int mproc__elem_get_f64(uint32_t type, const void *p, double *out)
{
    int64_t i = 0;
    uint64_t u = 0;
    double d = 0;
    bool big;
    read_elem(type, p, &i, &u, &d, &big);
    *out = is_float(type) ? d : big ? (double)u : (double)i;
    return 0;
}

int mproc__elem_set_i64(uint32_t type, void *p, int64_t v)
{
    return write_int(type, p, v);
}

int mproc__elem_set_f64(uint32_t type, void *p, double v)
{
    return write_float(type, p, v);
}

int mproc__elem_add_i64(uint32_t type, void *p, int64_t delta, int64_t *result)
{
    int64_t i = 0;
    int rc = mproc__elem_get_i64(type, p, &i);
    if (rc)
        return rc;
    if ((delta > 0 && i > INT64_MAX - delta) || (delta < 0 && i < INT64_MIN - delta))
        return MPROC_ETOOBIG;
    rc = write_int(type, p, i + delta);
    if (!rc && result)
        *result = i + delta;
    return rc;
}

static void *slot(mproc_array *a, size_t index)
{
    array_state *st = array_st(a);
    return index < st->length ? elements(a) + index * st->elem_size : NULL;
}

/* One element access under the array's lock (if it has one). */
typedef enum { GET_I64, GET_F64, SET_I64, SET_F64, ADD_I64 } elem_op;

static int locked_elem(mproc_array *a, size_t index, elem_op op, int64_t *i, double *d)
{
    int rc = check(a);
    if (rc)
        return rc;
    void *p = slot(a, index);
    if (!p || ((op == GET_I64 || op == ADD_I64) && !i) || (op == GET_F64 && !d))
        return mproc__fail(MPROC_EINVAL);
    uint32_t type = array_st(a)->type;
    lock_if(a);
    switch (op) {
    case GET_I64: rc = mproc__elem_get_i64(type, p, i); break;
    case GET_F64: rc = mproc__elem_get_f64(type, p, d); break;
    case SET_I64: rc = write_int(type, p, *i); break;
    case SET_F64: rc = write_float(type, p, *d); break;
    case ADD_I64: rc = mproc__elem_add_i64(type, p, i[0], &i[1]); break;
    }
    unlock_if(a);
    return rc ? mproc__fail(rc) : 0;
}

int mproc_array_get_i64(mproc_array *a, size_t index, int64_t *out)
{
    return locked_elem(a, index, GET_I64, out, NULL);
}

int mproc_array_set_i64(mproc_array *a, size_t index, int64_t value)
{
    return locked_elem(a, index, SET_I64, &value, NULL);
}

int mproc_array_get_f64(mproc_array *a, size_t index, double *out)
{
    return locked_elem(a, index, GET_F64, NULL, out);
}

int mproc_array_set_f64(mproc_array *a, size_t index, double value)
{
    return locked_elem(a, index, SET_F64, NULL, &value);
}

/* A raw integer element: compare-and-swap on the element's own width, with the same range
 * rule as a set. */
static int raw_add(uint32_t type, void *p, int64_t delta, int64_t *result)
{
    size_t size = mproc_type_size((mproc_type)type);
    for (;;) {
        uint8_t old_elem[8], new_elem[8];
        switch (size) {
        case 1: {
            uint8_t v = mproc__load((uint8_t *)p);
            memcpy(old_elem, &v, 1);
            break;
        }
        case 2: {
            uint16_t v = mproc__load((uint16_t *)p);
            memcpy(old_elem, &v, 2);
            break;
        }
        case 4: {
            uint32_t v = mproc__load((uint32_t *)p);
            memcpy(old_elem, &v, 4);
            break;
        }
        default: {
            uint64_t v = mproc__load((uint64_t *)p);
            memcpy(old_elem, &v, 8);
            break;
        }
        }
        int64_t i = 0;
        uint64_t u = 0;
        double d = 0;
        bool big;
        read_elem(type, old_elem, &i, &u, &d, &big);
        if (big || (delta > 0 && i > INT64_MAX - delta) || (delta < 0 && i < INT64_MIN - delta))
            return mproc__fail(MPROC_ETOOBIG);
        memcpy(new_elem, old_elem, size);
        int rc = write_int(type, new_elem, i + delta);
        if (rc)
            return mproc__fail(rc);
        /* Each width's words straight from the element's bytes (going through a uint64_t
         * would take the wrong end of it on a big-endian host, and the swap would never
         * succeed). */
        bool swapped;
        switch (size) {
        case 1: {
            uint8_t e, n;
            memcpy(&e, old_elem, 1);
            memcpy(&n, new_elem, 1);
            swapped = mproc__cas((uint8_t *)p, &e, n);
            break;
        }
        case 2: {
            uint16_t e, n;
            memcpy(&e, old_elem, 2);
            memcpy(&n, new_elem, 2);
            swapped = mproc__cas((uint16_t *)p, &e, n);
            break;
        }
        case 4: {
            uint32_t e, n;
            memcpy(&e, old_elem, 4);
            memcpy(&n, new_elem, 4);
            swapped = mproc__cas((uint32_t *)p, &e, n);
            break;
        }
        default: {
            uint64_t e, n;
            memcpy(&e, old_elem, 8);
            memcpy(&n, new_elem, 8);
            swapped = mproc__cas((uint64_t *)p, &e, n);
            break;
        }
        }
        if (swapped) {
            if (result)
                *result = i + delta;
            return 0;
        }
    }
}

int mproc_array_add_i64(mproc_array *a, size_t index, int64_t delta, int64_t *result)
{
    int rc = check(a);
    if (rc)
        return rc;
    void *p = slot(a, index);
    if (!p)
        return mproc__fail(MPROC_EINVAL);
    array_state *st = array_st(a);
    if (is_float(st->type))
        return mproc__fail(MPROC_ETYPE);
    if (!st->has_lock)
        return raw_add(st->type, p, delta, result);
    int64_t io[2] = {delta, 0};
    rc = locked_elem(a, index, ADD_I64, io, NULL);
    if (!rc && result)
        *result = io[1];
    return rc;
}

int mproc_array_read(mproc_array *a, size_t start, void *dst, size_t count)
{
    int rc = check(a);
    if (rc)
        return rc;
    array_state *st = array_st(a);
    if ((!dst && count) || start > st->length || count > st->length - start)
        return mproc__fail(MPROC_EINVAL);
    lock_if(a);
    memcpy(dst, elements(a) + start * st->elem_size, count * st->elem_size);
    unlock_if(a);
    return 0;
}

int mproc_array_write(mproc_array *a, size_t start, const void *src, size_t count)
{
    int rc = check(a);
    if (rc)
        return rc;
    array_state *st = array_st(a);
    if ((!src && count) || start > st->length || count > st->length - start)
        return mproc__fail(MPROC_EINVAL);
    lock_if(a);
    memcpy(elements(a) + start * st->elem_size, src, count * st->elem_size);
    unlock_if(a);
    return 0;
}

int mproc_array_length(mproc_array *a, int64_t *n)
{
    int rc = check(a);
    if (rc)
        return rc;
    if (!n)
        return mproc__fail(MPROC_EINVAL);
    *n = (int64_t)array_st(a)->length;
    return 0;
}

mproc_type mproc_array_type(mproc_array *a)
{
    return check(a) ? (mproc_type)0 : (mproc_type)array_st(a)->type;
}

void *mproc_array_data(mproc_array *a)
{
    return check(a) ? NULL : elements(a);
}

mproc_lock *mproc_array_lock(mproc_array *a)
{
    return check(a) || !array_st(a)->has_lock ? NULL : &a->lock;
}

void mproc_array_destroy(mproc_array *a)
{
    if (mproc__object_check(a, MPROC__KIND_ARRAY))
        return;
    a->lock.o.head.magic = 0;
    mproc__shared_close(&a->o);
    mproc_free(a);
}

int mproc_unpack_array(mproc_unpacker *u, mproc_array **out)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    mproc__record recs[MPROC__MAX_RECORDS];
    uint32_t n;
    int rc = mproc__unpack_records(u, MPROC__KIND_ARRAY, recs, &n);
    if (rc)
        return rc;
    if (recs[0].size < DATA_OFFSET)
        return mproc__fail(MPROC_EPROTO);
    mproc_array *a = mproc_calloc(1, sizeof *a);
    if (!a)
        return mproc__fail(MPROC_ENOMEM);
    rc = mproc__shared_open(&a->o, &recs[0], MPROC__KIND_ARRAY);
    if (!rc) {
        array_state *st = array_st(a);
        if (st->elem_size != mproc_type_size((mproc_type)st->type) ||
            st->length > (a->o.size - DATA_OFFSET) / st->elem_size) {
            mproc__shared_close(&a->o);
            rc = mproc__fail(MPROC_EPROTO);
        }
    }
    if (rc) {
        mproc_free(a);
        return rc;
    }
    attach_lock(a);
    *out = a;
    return 0;
}

int mproc_array_add_f64(mproc_array *a, size_t index, double delta, double *result)
{
    int rc = check(a);
    if (rc)
        return rc;
    void *p = slot(a, index);
    if (!p)
        return mproc__fail(MPROC_EINVAL);
    array_state *st = array_st(a);
    if (!is_float(st->type))
        return mproc__fail(MPROC_ETYPE);
    double now;
    lock_if(a);
    if (st->type == MPROC_T_DOUBLE)
        now = *(double *)p += delta;
    else
        now = *(float *)p += (float)delta;
    unlock_if(a);
    if (result)
        *result = now;
    return 0;
}
