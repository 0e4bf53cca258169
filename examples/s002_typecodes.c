/* Seed 002, 进程间共享状态 / 共享内存 (shared memory): Value and Array of each typecode of the
 * seed's table, and their lock parameter. A child stores an extreme value in a Value of
 * every type, which the parent reads back. The seed's table is Python 2's ('i' as a C
 * long); these are the C types of today's Python (seed 003's table), with 'q' and 'Q'
 * added and no 'u' (wchar_t), which mproc has no type for. */
#include "example.h"

static const struct {
    mproc_type code;
    const char *ctype;
} table[] = {
    {'B', "unsigned char"},
    {'H', "unsigned short"},
    {'I', "unsigned int"},
    {'L', "unsigned long"},
    {'b', "signed char"},
    {'c', "char"},
    {'d', "double"},
    {'f', "float"},
    {'h', "short"},
    {'i', "int"},
    {'l', "long"},
    {'q', "long long"},
    {'Q', "unsigned long long"},
};
enum { TYPES = sizeof table / sizeof table[0] };

/* What the child stores: the largest value of an unsigned type (as far as an int64 goes),
 * the smallest of a signed one, 'A' in a char, 3.14 in a float or double. */
static int64_t extreme(mproc_type t)
{
    unsigned bits = 8 * (unsigned)mproc_type_size(t);
    if (t == MPROC_T_CHAR)
        return 'A';
    if (t >= 'A' && t <= 'Z') /* upper case: unsigned */
        return bits < 64 ? (int64_t)((UINT64_C(1) << bits) - 1) : INT64_MAX;
    return bits < 64 ? -(INT64_C(1) << (bits - 1)) : INT64_MIN;
}

static bool is_float(mproc_type t)
{
    return t == MPROC_T_FLOAT || t == MPROC_T_DOUBLE;
}

/* The values come as a pack of any length, so it is read with an unpacker. */
MPROC_TASK(store, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_value *v;
    mproc_unpack_init(&u, in);
    while (mproc_unpack_value(&u, &v) == 0) {
        mproc_type t = mproc_array_type(v);
        int rc = is_float(t) ? mproc_value_set_f64(v, 3.14) : mproc_value_set_i64(v, extreme(t));
        if (rc != 0)
            printf("'%c': %s\n", (char)t, mproc_strerror(rc));
        mproc_value_destroy(v);
    }
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_value *values[TYPES];
    mproc_pack *args;
    if (mproc_pack_create(&args) != 0)
        return 1;
    for (int i = 0; i < TYPES; i++)
        if (mproc_value_create(&values[i], table[i].code, true) != 0 ||
            mproc_pack_handle(args, values[i]) != 0)
            return 1;
    int rc = mproc_process_run(&(mproc_process_opts){.target = "store", .args = args},
                               MPROC_FOREVER, NULL);
    mproc_pack_destroy(args);
    if (rc != 0)
        return 1;
    for (int i = 0; i < TYPES; i++) {
        char text[64];
        if (is_float(table[i].code)) {
            double d = 0;
            mproc_value_get_f64(values[i], &d);
            snprintf(text, sizeof text, "%g", d);
        } else {
            int64_t n = 0;
            mproc_value_get_i64(values[i], &n);
            snprintf(text, sizeof text, "%lld", (long long)n);
        }
        printf("'%c' -> %s, %d bytes: %s\n", (char)table[i].code, table[i].ctype,
               (int)mproc_type_size(table[i].code), text);
        mproc_value_destroy(values[i]);
    }

    /* lock=True (the default) wraps the value with an RLock; lock=False gives a raw one. */
    mproc_value *value, *raw;
    mproc_array *array, *raw_array;
    if (mproc_value_create(&value, 'i', true) != 0 || mproc_value_create(&raw, 'i', false) != 0 ||
        mproc_array_create(&array, 'i', 10, true) != 0 ||
        mproc_array_create(&raw_array, 'i', 10, false) != 0)
        return 1;
    mproc_lock *lock = mproc_value_lock(value);
    int first = mproc_rlock_acquire(lock, 0), again = mproc_rlock_acquire(lock, 0);
    printf("Value('i').get_lock(): acquire() -> %s, again -> %s (an RLock)\n",
           first == 0 ? "True" : "False", again == 0 ? "True" : "False");
    mproc_rlock_release(lock);
    mproc_rlock_release(lock);
    printf("Array('i', 10).get_lock(): %s\n", mproc_array_lock(array) ? "an RLock" : "None");
    printf("Value('i', lock=False): %s\n", mproc_value_lock(raw) ? "an RLock" : "no lock");
    printf("Array('i', 10, lock=False): %s\n",
           mproc_array_lock(raw_array) ? "an RLock" : "no lock");
    mproc_value_destroy(value);
    mproc_value_destroy(raw);
    mproc_array_destroy(array);
    mproc_array_destroy(raw_array);
    return 0;
}
