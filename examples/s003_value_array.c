/* Seed 003 §1.6 1, 共享内存 (Value and Array): a Value("d", 3.14) and an Array("i", range(10))
 * shared with two children; each sets one element, and the parent sees both. */
#include "example.h"

/* print(label, array[:]) in one write */
static int print_array(const char *label, mproc_array *array)
{
    int a[10];
    int rc = mproc_array_read(array, 0, a, 10);
    if (rc == 0)
        printf("%s [%d, %d, %d, %d, %d, %d, %d, %d, %d, %d]\n", label, a[0], a[1], a[2], a[3], a[4],
               a[5], a[6], a[7], a[8], a[9]);
    return rc;
}

MPROC_TASK_ARGS(proc_test1, out, mproc_value *, value, mproc_array *, array)
{
    double d;
    if (mproc_value_get_f64(value, &d) != 0)
        return 1;
    printf("子进程1 %g\n", d);
    return mproc_array_set_i64(array, 0, 10) != 0 || print_array("子进程1", array) != 0;
}

MPROC_TASK_ARGS(proc_test2, out, mproc_value *, value, mproc_array *, array)
{
    double d;
    if (mproc_value_get_f64(value, &d) != 0)
        return 1;
    printf("子进程2 %g\n", d);
    return mproc_array_set_i64(array, 1, 10) != 0 || print_array("子进程2", array) != 0;
}

/* The seed's try block: an error code instead of an exception. The children's handles are
 * closed as they exit, as in Python. */
static int run(void)
{
    mproc_value *value; /* d 类型，相当于C里面的double */
    mproc_array *array; /* i 类型，相当于C里面的int; range(10) */
    mproc_process *p1, *p2;
    int64_t length;
    double d;
    int rc;
    if ((rc = mproc_value_create(&value, MPROC_T_DOUBLE, true)) != 0 ||
        (rc = mproc_value_set_f64(value, 3.14)) != 0 ||
        (rc = mproc_array_create(&array, MPROC_T_INT, 10, true)) != 0 ||
        (rc = mproc_array_write(array, 0, (int[]){0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 10)) != 0 ||
        (rc = mproc_array_length(array, &length)) != 0)
        return rc;
    /* print(type(value)), print(type(array)) */
    printf("<mproc_value '%c' (Synchronized)>\n", (char)mproc_array_type(value));
    printf("<mproc_array '%c' * %lld (SynchronizedArray)>\n", (char)mproc_array_type(array),
           (long long)length);
    const mproc_pack *args = MPROC_ARGS(value, array);
    if ((rc = mproc_process_start_new(
             &p1, &(mproc_process_opts){.target = "proc_test1", .args = args})) != 0 ||
        (rc = mproc_process_start_new(
             &p2, &(mproc_process_opts){.target = "proc_test2", .args = args})) != 0 ||
        (rc = mproc_process_join(p1, MPROC_FOREVER)) != 0 ||
        (rc = mproc_process_join(p2, MPROC_FOREVER)) != 0 ||
        (rc = mproc_value_get_f64(value, &d)) != 0)
        return rc;
    mproc_process_destroy(p1);
    mproc_process_destroy(p2);
    printf("父进程 %g\n", d); /* 获取值 */
    rc = print_array("父进程", array);
    mproc_value_destroy(value);
    mproc_array_destroy(array);
    return rc;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    int rc = run(); /* except Exception as ex: print(ex); else: print("No Except") */
    printf("%s\n", rc != 0 ? mproc_strerror(rc) : "No Except");
    return 0;
}
