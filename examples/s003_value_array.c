/* Seed 003 §1.6 1, 共享内存 (Value and Array): a Value("d", 3.14) and an Array("i", range(10))
 * shared with two children; each sets one element, and the parent sees both. */
#include "example.h"

/* print(label, array[:]) in one write */
static void print_array(const char *label, mproc_array *array)
{
    int a[10];
    char line[256];
    mproc_array_read(array, 0, a, 10);
    int n = snprintf(line, sizeof line, "%s [", label);
    for (int i = 0; i < 10; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, i ? ", %d" : "%d", a[i]);
    printf("%s]\n", line);
}

static int proc_test(const mproc_bytes *in, const char *label, size_t index)
{
    mproc_unpacker u;
    mproc_value *value;
    mproc_array *array;
    double d = 0;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_value(&u, &value) != 0 || mproc_unpack_array(&u, &array) != 0)
        return 1;
    mproc_value_get_f64(value, &d);
    printf("%s %g\n", label, d);
    mproc_array_set_i64(array, index, 10);
    print_array(label, array);
    mproc_value_destroy(value);
    mproc_array_destroy(array);
    return 0;
}

MPROC_TASK(proc_test1, in, out)
{
    (void)out;
    return proc_test(in, "子进程1", 0);
}

MPROC_TASK(proc_test2, in, out)
{
    (void)out;
    return proc_test(in, "子进程2", 1);
}

/* The seed's try block: an error instead of an exception. */
static int run(void)
{
    mproc_value *value;
    mproc_array *array;
    int rc = mproc_value_create(&value, 'd', true); /* d 类型，相当于C里面的double */
    if (rc != 0)
        return rc;
    mproc_value_set_f64(value, 3.14);
    rc = mproc_array_create(&array, 'i', 10, true); /* i 类型，相当于C里面的int */
    if (rc != 0) {
        mproc_value_destroy(value);
        return rc;
    }
    for (int i = 0; i < 10; i++) /* range(10) */
        mproc_array_set_i64(array, (size_t)i, i);
    /* print(type(value)), print(type(array)) */
    printf("<mproc_value '%c' (Synchronized)>\n", (char)mproc_array_type(value));
    int64_t length = 0;
    mproc_array_length(array, &length);
    printf("<mproc_array '%c' * %lld (SynchronizedArray)>\n", (char)mproc_array_type(array),
           (long long)length);

    mproc_pack *args;
    mproc_pack_create(&args);
    mproc_pack_handle(args, value);
    mproc_pack_handle(args, array);
    mproc_process *p1 = start_process(&(mproc_process_opts){.target = "proc_test1", .args = args});
    mproc_process *p2 = start_process(&(mproc_process_opts){.target = "proc_test2", .args = args});
    mproc_pack_destroy(args);
    mproc_process_join(p1, MPROC_FOREVER);
    mproc_process_join(p2, MPROC_FOREVER);
    mproc_process_destroy(p1);
    mproc_process_destroy(p2);

    double d = 0;
    rc = mproc_value_get_f64(value, &d);
    printf("父进程 %g\n", d); /* 获取值 */
    print_array("父进程", array);
    mproc_value_destroy(value);
    mproc_array_destroy(array);
    return rc;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    int rc = run();
    if (rc != 0)
        printf("%s\n", mproc_strerror(rc));
    else
        printf("No Except\n");
    return 0;
}
