/* Seed 002, 同步机制 (synchronization): a Condition, used as in threading. Two consumers
 * wait on it for an item; the parent makes two, one at a time, and notifies one consumer
 * for each. A consumer never takes an item before it was made. */
#include "example.h"

/* The predicate of cond.wait_for(lambda: items.value > 0). */
static int has_item(void *items)
{
    int64_t n = 0;
    mproc_value_get_i64(items, &n);
    return n > 0;
}

MPROC_TASK_ARGS(consumer, out, mproc_cond *, cond, mproc_value *, items)
{
    mproc_cond_acquire(cond, MPROC_FOREVER); /* with cond: */
    printf("%s: waiting for an item\n", mproc_current_name());
    mproc_cond_wait_for(cond, has_item, items, MPROC_FOREVER);
    mproc_value_add_i64(items, -1, NULL); /* items.value -= 1 */
    printf("%s: took an item\n", mproc_current_name());
    mproc_cond_release(cond);
    mproc_value_destroy(items);
    mproc_cond_destroy(cond);
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_cond *cond; /* Condition(): with a new RLock */
    mproc_value *items;
    if (mproc_cond_create(&cond, NULL) != 0 || mproc_value_create(&items, 'i', true) != 0)
        return 1;

    mproc_process *p[2];
    for (int i = 0; i < 2; i++)
        if (mproc_process_start_new(&p[i], &(mproc_process_opts){.target = "consumer",
                                                                 .args = MPROC_ARGS(cond, items)}))
            return 1;

    for (int i = 1; i <= 2; i++) {
        sleep_ms(150);
        mproc_cond_acquire(cond, MPROC_FOREVER);
        mproc_value_add_i64(items, 1, NULL);
        printf("producer: item %d is ready\n", i);
        mproc_cond_notify(cond, 1);
        mproc_cond_release(cond);
    }
    for (int i = 0; i < 2; i++) {
        mproc_process_join(p[i], MPROC_FOREVER);
        mproc_process_destroy(p[i]);
    }
    int64_t left = -1;
    mproc_value_get_i64(items, &left);
    printf("items left: %lld\n", (long long)left);
    mproc_value_destroy(items);
    mproc_cond_destroy(cond);
    return 0;
}
