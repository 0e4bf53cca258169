/* Seed 002, 同步机制 (synchronization): Lock and RLock, used as in threading. A Lock keeps
 * three children's blocks of lines apart and cannot be taken twice, even by its holder; an
 * RLock can, by the process that holds it, and only by that one. */
#include "example.h"

static const char *py_bool(int rc)
{
    return rc == 0 ? "True" : "False";
}

/* with lock: three lines that stay together */
MPROC_TASK_ARGS(with_lock, out, mproc_lock *, lock)
{
    mproc_lock_acquire(lock, MPROC_FOREVER);
    for (int i = 1; i <= 3; i++) {
        printf("%s: line %d of 3\n", mproc_current_name(), i);
        sleep_ms(30);
    }
    mproc_lock_release(lock);
    mproc_lock_destroy(lock);
    return 0;
}

MPROC_TASK_ARGS(try_rlock, out, mproc_lock *, rlock)
{
    int rc = mproc_rlock_acquire(rlock, 100);
    printf("%s: rlock.acquire(timeout=0.1) -> %s\n", mproc_current_name(), py_bool(rc));
    if (rc == 0)
        mproc_rlock_release(rlock);
    mproc_rlock_destroy(rlock);
    return 0;
}

/* Takes the RLock again at every level of the recursion. */
static void nested(mproc_lock *rlock, int depth)
{
    mproc_rlock_acquire(rlock, MPROC_FOREVER);
    printf("%s: depth %d, holding the RLock\n", mproc_current_name(), depth);
    if (depth < 3)
        nested(rlock, depth + 1);
    mproc_rlock_release(rlock);
    printf("%s: depth %d, released\n", mproc_current_name(), depth);
}

MPROC_TASK_ARGS(recursive, out, mproc_lock *, rlock)
{
    nested(rlock, 1);
    mproc_rlock_destroy(rlock);
    return 0;
}

/* Runs target with the lock as its argument to its end. */
static int run_with(const char *target, mproc_lock *lock)
{
    return mproc_process_run(&(mproc_process_opts){.target = target, .args = MPROC_ARGS(lock)},
                             MPROC_FOREVER, NULL);
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_lock *lock, *rlock;
    if (mproc_lock_create(&lock) != 0 || mproc_rlock_create(&rlock) != 0)
        return 1;

    printf("lock.acquire() -> %s\n", py_bool(mproc_lock_acquire(lock, MPROC_FOREVER)));
    printf("lock.acquire(timeout=0.1) -> %s\n", py_bool(mproc_lock_acquire(lock, 100)));
    mproc_lock_release(lock);

    mproc_process *p[3];
    for (int i = 0; i < 3; i++)
        if (mproc_process_start_new(
                &p[i], &(mproc_process_opts){.target = "with_lock", .args = MPROC_ARGS(lock)}))
            return 1;
    for (int i = 0; i < 3; i++) {
        mproc_process_join(p[i], MPROC_FOREVER);
        mproc_process_destroy(p[i]);
    }

    printf("rlock.acquire() -> %s\n", py_bool(mproc_rlock_acquire(rlock, MPROC_FOREVER)));
    printf("rlock.acquire() -> %s\n", py_bool(mproc_rlock_acquire(rlock, MPROC_FOREVER)));
    if (run_with("try_rlock", rlock) != 0) /* held here: the child cannot have it */
        return 1;
    mproc_rlock_release(rlock);
    mproc_rlock_release(rlock);
    printf("rlock released twice\n");
    if (run_with("try_rlock", rlock) != 0 || run_with("recursive", rlock) != 0)
        return 1;

    mproc_lock_destroy(lock);
    mproc_rlock_destroy(rlock);
    return 0;
}
