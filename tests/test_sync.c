/* Locks, semaphores, conditions, events, barriers, values, arrays and named shared memory:
 * their semantics in one process, between processes under every start method (the objects
 * travel in argument packs), robustness when a holder or a creator is killed, and bad
 * input. The harness checks after every case that no fd/handle, child or shm name leaked. */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif
#include "harness.h"

#include <stdio.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <sys/stat.h>
#include <unistd.h>
#endif

/* ---- helpers -------------------------------------------------------------------------------- */

/* ---- tasks ---------------------------------------------------------------------------------- */

enum { INCREMENTS = 2000 };

/* (lock, raw int value): INCREMENTS non-atomic increments, each under the lock. */
MPROC_TASK(count_under_lock, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_lock *lock;
    mproc_value *v;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_lock(&u, &lock) || mproc_unpack_value(&u, &v))
        return 10;
    volatile int *counter = mproc_value_data(v);
    for (int i = 0; i < INCREMENTS; i++) {
        if (mproc_lock_acquire(lock, 30000) != 0)
            return 11;
        int seen = *counter;
        *counter = seen + 1;
        mproc_lock_release(lock);
    }
    mproc_lock_destroy(lock);
    mproc_value_destroy(v);
    return 0;
}

/* (lock, event): takes the lock, says so, and waits to be killed. */
MPROC_TASK(hold_until_killed, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_lock *lock;
    mproc_event *held;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_lock(&u, &lock) || mproc_unpack_event(&u, &held))
        return 10;
    if (mproc_lock_acquire(lock, 10000) != 0)
        return 11;
    mproc_event_set(held);
    harness_sleep_ms(60000);
    return 12;
}

/* (sem, inside value, max value): enters, notes how many are inside, leaves. */
MPROC_TASK(enter_semaphore, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_sem *sem;
    mproc_value *inside, *most;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_sem(&u, &sem) || mproc_unpack_value(&u, &inside) ||
        mproc_unpack_value(&u, &most))
        return 10;
    for (int round = 0; round < 3; round++) {
        if (mproc_sem_acquire(sem, 30000) != 0)
            return 11;
        int64_t now;
        mproc_value_add_i64(inside, 1, &now);
        mproc_lock *l = mproc_value_lock(most);
        mproc_lock_acquire(l, MPROC_FOREVER);
        int64_t m;
        mproc_value_get_i64(most, &m);
        if (now > m)
            mproc_value_set_i64(most, now);
        mproc_lock_release(l);
        harness_sleep_ms(20);
        mproc_value_add_i64(inside, -1, NULL);
        mproc_sem_release(sem);
    }
    mproc_sem_destroy(sem);
    mproc_value_destroy(inside);
    mproc_value_destroy(most);
    return 0;
}

/* (ping, pong, rounds): answers each ping with a pong. */
MPROC_TASK(pong_events, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_event *ping, *pong;
    int64_t rounds;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_event(&u, &ping) || mproc_unpack_event(&u, &pong) ||
        mproc_unpack_i64(&u, &rounds))
        return 10;
    for (int64_t i = 0; i < rounds; i++) {
        if (mproc_event_wait(ping, 30000) != 0)
            return 11;
        mproc_event_clear(ping);
        mproc_event_set(pong);
    }
    mproc_event_destroy(ping);
    mproc_event_destroy(pong);
    return 0;
}

/* (cond, value): waits under the condition until the value is positive, then sets it to 2. */
typedef struct {
    mproc_value *v;
} positive_arg;

static int value_positive(void *arg)
{
    int64_t x = 0;
    mproc_value_get_i64(((positive_arg *)arg)->v, &x);
    return x > 0;
}

MPROC_TASK(wait_for_positive, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_cond *c;
    mproc_value *v;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_cond(&u, &c) || mproc_unpack_value(&u, &v))
        return 10;
    if (mproc_cond_acquire(c, 30000) != 0)
        return 11;
    positive_arg arg = {v};
    int rc = mproc_cond_wait_for(c, value_positive, &arg, 30000);
    mproc_value_set_i64(v, 2);
    mproc_cond_notify_all(c);
    mproc_cond_release(c);
    mproc_cond_destroy(c);
    mproc_value_destroy(v);
    return rc == 0 ? 0 : 12;
}

/* (barrier, array of 3*cycles, cycles, slot): waits `cycles` times, recording its index. */
MPROC_TASK(barrier_rounds, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_barrier *b;
    mproc_array *seen;
    int64_t cycles, slot;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_barrier(&u, &b) || mproc_unpack_array(&u, &seen) ||
        mproc_unpack_i64(&u, &cycles) || mproc_unpack_i64(&u, &slot))
        return 10;
    for (int64_t c = 0; c < cycles; c++) {
        int index = mproc_barrier_wait(b, 30000);
        if (index < 0)
            return 11;
        mproc_array_set_i64(seen, (size_t)(c * 3 + slot), index);
    }
    mproc_barrier_destroy(b);
    mproc_array_destroy(seen);
    return 0;
}

static mproc_value *action_count; /* the barrier action's counter (one process) */
MPROC_TASK(count_action, in, out)
{
    (void)in;
    (void)out;
    return mproc_value_add_i64(action_count, 1, NULL);
}
MPROC_TASK(failing_action, in, out)
{
    (void)in;
    (void)out;
    return 3;
}

/* (shm): writes a greeting into it. */
MPROC_TASK(write_shm, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_shm *s;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_shm(&u, &s))
        return 10;
    strcpy(mproc_shm_data(s), "written by the child");
    mproc_shm_destroy(s);
    return 0;
}

/* (name, event): creates a named block, fills it, says so, and waits to be killed. */
MPROC_TASK(create_shm_until_killed, in, out)
{
    (void)out;
    mproc_unpacker u;
    const char *name;
    mproc_event *ready;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_str(&u, &name) || mproc_unpack_event(&u, &ready))
        return 10;
    mproc_shm *s;
    if (mproc_shm_create(&s, name, 4096))
        return 11;
    strcpy(mproc_shm_data(s), "left by a killed creator");
    mproc_event_set(ready);
    harness_sleep_ms(60000);
    return 12;
}

/* ---- Lock and RLock ------------------------------------------------------------------------- */

static void lock_basics(void **state)
{
    (void)state;
    mproc_lock *l;
    assert_ok(mproc_lock_create(&l));
    assert_int_equal(mproc_lock_locked(l), 0);
    assert_ok(mproc_lock_acquire(l, 0));
    assert_int_equal(mproc_lock_locked(l), 1);
    assert_rc(mproc_lock_acquire(l, 0), MPROC_ETIMEDOUT);
    assert_rc(mproc_lock_acquire(l, 30), MPROC_ETIMEDOUT);
    assert_ok(mproc_lock_release(l));
    assert_rc(mproc_lock_release(l), MPROC_ESTATE);
    assert_ok(mproc_lock_acquire(l, MPROC_FOREVER));
    assert_ok(mproc_lock_release(l));
    mproc_lock_destroy(l);
}

static mproc_lock *shared_rlock;
static int other_thread_rc[2];
static void try_rlock_from_other_thread(void *arg)
{
    (void)arg;
    other_thread_rc[0] = mproc_rlock_release(shared_rlock);
    other_thread_rc[1] = mproc_rlock_acquire(shared_rlock, 30);
}

static void rlock_recursion(void **state)
{
    (void)state;
    assert_ok(mproc_rlock_create(&shared_rlock));
    assert_ok(mproc_rlock_acquire(shared_rlock, 0));
    assert_ok(mproc_rlock_acquire(shared_rlock, 0));
    harness_thread_join(harness_thread_start(try_rlock_from_other_thread, NULL));
    assert_int_equal(other_thread_rc[0], MPROC_ESTATE);
    assert_int_equal(other_thread_rc[1], MPROC_ETIMEDOUT);
    assert_ok(mproc_rlock_release(shared_rlock));
    assert_int_equal(mproc_lock_locked(shared_rlock), 1);
    assert_ok(mproc_rlock_release(shared_rlock));
    assert_int_equal(mproc_lock_locked(shared_rlock), 0);
    assert_rc(mproc_rlock_release(shared_rlock), MPROC_ESTATE);
    mproc_rlock_destroy(shared_rlock);
}

/* Three children race through INCREMENTS read-then-write increments each: only mutual
 * exclusion across processes gives the exact total. */
static void lock_excludes_processes(mproc_start_method method)
{
    mproc_lock *lock;
    mproc_value *v;
    assert_ok(mproc_lock_create(&lock));
    assert_ok(mproc_value_create(&v, MPROC_T_INT, false));
    mproc_pack *args;
    assert_ok(mproc_pack_create(&args));
    assert_ok(mproc_pack_handle(args, lock));
    assert_ok(mproc_pack_handle(args, v));
    mproc_process *kids[3];
    for (int i = 0; i < 3; i++) {
        kids[i] = harness_start(method, "count_under_lock", args);
        if (!kids[i])
            break;
    }
    /* The pack and the parent's handles may go before the children are done. */
    mproc_pack_destroy(args);
    mproc_lock_destroy(lock);
    if (kids[0]) {
        for (int i = 0; i < 3; i++)
            assert_int_equal(harness_join_code(kids[i]), 0);
        int64_t total = 0;
        assert_ok(mproc_value_get_i64(v, &total));
        assert_int_equal(total, 3 * INCREMENTS);
    }
    mproc_value_destroy(v);
}

/* A child dies holding the lock: the next acquirer gets it, told so, and it stays usable. */
static void lock_holder_killed(mproc_start_method method, bool recursive)
{
    mproc_lock *lock;
    mproc_event *held;
    assert_ok(recursive ? mproc_rlock_create(&lock) : mproc_lock_create(&lock));
    assert_ok(mproc_event_create(&held));
    mproc_pack *args;
    assert_ok(mproc_pack_create(&args));
    assert_ok(mproc_pack_handle(args, lock));
    assert_ok(mproc_pack_handle(args, held));
    mproc_process *p = harness_start(method, "hold_until_killed", args);
    mproc_pack_destroy(args);
    if (p) {
        assert_ok(mproc_event_wait(held, 30000));
        assert_rc(mproc_lock_acquire(lock, 0), MPROC_ETIMEDOUT);
        assert_ok(mproc_process_kill(p));
        /* Not joined yet: the dead child may linger unreaped; it holds nothing all the same. */
        assert_rc(mproc_lock_acquire(lock, 10000), MPROC_EOWNERDEAD);
        assert_ok(mproc_lock_release(lock));
        assert_ok(mproc_lock_acquire(lock, 0));
        assert_ok(mproc_lock_release(lock));
        assert_int_equal(harness_join_code(p), -9);
    }
    mproc_event_destroy(held);
    mproc_lock_destroy(lock);
}

static void lock_holder_killed_plain(mproc_start_method m)
{
    lock_holder_killed(m, false);
}
static void rlock_holder_killed(mproc_start_method m)
{
    lock_holder_killed(m, true);
}

/* ---- Semaphore -------------------------------------------------------------------------------- */

static void semaphore_counts(void **state)
{
    (void)state;
    mproc_sem *s, *b;
    assert_ok(mproc_sem_create(&s, 2));
    assert_ok(mproc_sem_acquire(s, 0));
    assert_ok(mproc_sem_acquire(s, 0));
    assert_int_equal(sem_value_of(s), 0);
    assert_rc(mproc_sem_acquire(s, 0), MPROC_ETIMEDOUT);
    assert_rc(mproc_sem_acquire(s, 30), MPROC_ETIMEDOUT);
    assert_ok(mproc_sem_release(s));
    assert_ok(mproc_sem_release(s));
    assert_ok(mproc_sem_release(s)); /* unbounded: may go past its start */
    assert_int_equal(sem_value_of(s), 3);
    mproc_sem_destroy(s);

    assert_ok(mproc_sem_create_bounded(&b, 1));
    assert_rc(mproc_sem_release(b), MPROC_ESTATE);
    assert_ok(mproc_sem_acquire(b, 0));
    assert_ok(mproc_sem_release(b));
    assert_rc(mproc_sem_release(b), MPROC_ESTATE);
    assert_int_equal(sem_value_of(b), 1);
    mproc_sem_destroy(b);
}

/* Six children through Semaphore(3): never more than three inside at once. */
static void semaphore_admits_three(mproc_start_method method)
{
    mproc_sem *sem;
    mproc_value *inside, *most;
    assert_ok(mproc_sem_create(&sem, 3));
    assert_ok(mproc_value_create(&inside, MPROC_T_LONGLONG, false));
    assert_ok(mproc_value_create(&most, MPROC_T_INT, true));
    mproc_pack *args;
    assert_ok(mproc_pack_create(&args));
    assert_ok(mproc_pack_handle(args, sem));
    assert_ok(mproc_pack_handle(args, inside));
    assert_ok(mproc_pack_handle(args, most));
    mproc_process *kids[6] = {0};
    for (int i = 0; i < 6; i++)
        if (!(kids[i] = harness_start(method, "enter_semaphore", args)))
            break;
    mproc_pack_destroy(args);
    if (kids[0]) {
        for (int i = 0; i < 6; i++)
            assert_int_equal(harness_join_code(kids[i]), 0);
        int64_t m = 0, now = -1;
        assert_ok(mproc_value_get_i64(most, &m));
        assert_ok(mproc_value_get_i64(inside, &now));
        assert_true(m >= 1 && m <= 3);
        assert_int_equal(now, 0);
        assert_int_equal(sem_value_of(sem), 3);
    }
    mproc_sem_destroy(sem);
    mproc_value_destroy(inside);
    mproc_value_destroy(most);
}

/* ---- Event, Condition, Barrier --------------------------------------------------------------- */

static void event_ping_pong(mproc_start_method method)
{
    mproc_event *ping, *pong;
    assert_ok(mproc_event_create(&ping));
    assert_ok(mproc_event_create(&pong));
    assert_int_equal(mproc_event_is_set(ping), 0);
    assert_rc(mproc_event_wait(ping, 0), MPROC_ETIMEDOUT);
    assert_rc(mproc_event_wait(ping, 20), MPROC_ETIMEDOUT);
    mproc_pack *args;
    assert_ok(mproc_pack_create(&args));
    assert_ok(mproc_pack_handle(args, ping));
    assert_ok(mproc_pack_handle(args, pong));
    assert_ok(mproc_pack_i64(args, 50));
    mproc_process *p = harness_start(method, "pong_events", args);
    mproc_pack_destroy(args);
    if (p) {
        for (int i = 0; i < 50; i++) {
            assert_ok(mproc_event_set(ping));
            assert_ok(mproc_event_wait(pong, 30000));
            assert_ok(mproc_event_clear(pong));
        }
        assert_int_equal(harness_join_code(p), 0);
    }
    mproc_event_destroy(ping);
    mproc_event_destroy(pong);
}

static void condition_in_one_process(void **state)
{
    (void)state;
    mproc_cond *c;
    assert_ok(mproc_cond_create(&c, NULL));
    /* wait and notify need the lock */
    assert_rc(mproc_cond_wait(c, 0), MPROC_ESTATE);
    assert_rc(mproc_cond_notify(c, 1), MPROC_ESTATE);
    assert_ok(mproc_cond_acquire(c, 0));
    assert_ok(mproc_cond_acquire(c, 0));          /* an RLock by default */
    assert_int_equal(mproc_cond_notify(c, 1), 0); /* nobody waits */
    assert_rc(mproc_cond_wait(c, 30), MPROC_ETIMEDOUT);
    /* the lock came back, at its depth */
    assert_ok(mproc_cond_release(c));
    assert_ok(mproc_cond_release(c));
    assert_rc(mproc_cond_release(c), MPROC_ESTATE);
    mproc_cond_destroy(c);

    /* With a caller's plain Lock. */
    mproc_lock *l;
    assert_ok(mproc_lock_create(&l));
    assert_ok(mproc_cond_create(&c, l));
    assert_ok(mproc_lock_acquire(l, 0));
    assert_int_equal(mproc_lock_locked(mproc_cond_lock(c)), 1); /* the same lock */
    assert_rc(mproc_cond_wait(c, 10), MPROC_ETIMEDOUT);
    assert_ok(mproc_lock_release(l));
    mproc_cond_destroy(c);
    mproc_lock_destroy(l);
}

/* A notify goes to a waiter that was already asleep, not to one that waits after it. */
static mproc_cond *sleeper_cond;
static int sleeper_ready, sleeper_rc;
static int64_t sleeper_ms;
static void cond_sleeper(void *arg)
{
    (void)arg;
    assert_ok(mproc_cond_acquire(sleeper_cond, 30000));
    __atomic_store_n(&sleeper_ready, 1, __ATOMIC_SEQ_CST);
    int64_t t0 = harness_now_ms();
    sleeper_rc = mproc_cond_wait(sleeper_cond, 10000);
    sleeper_ms = harness_now_ms() - t0;
    assert_ok(mproc_cond_release(sleeper_cond));
}

static void condition_notify_not_taken_by_a_later_waiter(void **state)
{
    (void)state;
    assert_ok(mproc_cond_create(&sleeper_cond, NULL));
    harness_thread *t = harness_thread_start(cond_sleeper, NULL);
    while (!__atomic_load_n(&sleeper_ready, __ATOMIC_SEQ_CST))
        harness_sleep_ms(1);
    /* The sleeper set the flag under the lock and let go of it only in wait: once we hold
     * the lock, it is waiting. */
    assert_ok(mproc_cond_acquire(sleeper_cond, 30000));
    assert_int_equal(mproc_cond_notify(sleeper_cond, 1), 1);
    /* We wait after the notify: the signal is not ours. */
    assert_rc(mproc_cond_wait(sleeper_cond, 200), MPROC_ETIMEDOUT);
    assert_ok(mproc_cond_release(sleeper_cond));
    harness_thread_join(t);
    assert_int_equal(sleeper_rc, 0);
    assert_true(sleeper_ms < 5000);
    mproc_cond_destroy(sleeper_cond);
}

static void condition_between_processes(mproc_start_method method)
{
    mproc_cond *c;
    mproc_value *v;
    assert_ok(mproc_cond_create(&c, NULL));
    assert_ok(mproc_value_create(&v, MPROC_T_INT, true));
    mproc_pack *args;
    assert_ok(mproc_pack_create(&args));
    assert_ok(mproc_pack_handle(args, c));
    assert_ok(mproc_pack_handle(args, v));
    mproc_process *p = harness_start(method, "wait_for_positive", args);
    mproc_pack_destroy(args);
    if (p) {
        harness_sleep_ms(50); /* most likely waiting by now; correct either way */
        assert_ok(mproc_cond_acquire(c, 30000));
        assert_ok(mproc_value_set_i64(v, 1));
        assert_true(mproc_cond_notify(c, 1) >= 0);
        positive_arg arg = {v};
        (void)arg;
        int64_t x = 0;
        int64_t deadline = harness_now_ms() + 30000;
        while (mproc_value_get_i64(v, &x) == 0 && x != 2 && harness_now_ms() < deadline)
            mproc_cond_wait(c, 1000);
        assert_int_equal(x, 2);
        assert_ok(mproc_cond_release(c));
        assert_int_equal(harness_join_code(p), 0);
    }
    mproc_cond_destroy(c);
    mproc_value_destroy(v);
}

static mproc_barrier *shared_barrier;
static int barrier_rc;
static void wait_on_barrier(void *arg)
{
    barrier_rc = mproc_barrier_wait(shared_barrier, (int64_t)(intptr_t)arg);
}

static void barrier_in_one_process(void **state)
{
    (void)state;
    assert_rc(mproc_barrier_create(&shared_barrier, &(mproc_barrier_opts){.parties = 0}),
              MPROC_EINVAL);
    assert_rc(mproc_barrier_create(&shared_barrier,
                                   &(mproc_barrier_opts){.parties = 2, .action = "no_such"}),
              MPROC_ENOTASK);
    assert_ok(mproc_value_create(&action_count, MPROC_T_INT, true));
    assert_ok(mproc_barrier_create(&shared_barrier,
                                   &(mproc_barrier_opts){.parties = 2, .action = "count_action"}));
    assert_int_equal(parties_of(shared_barrier), 2);
    for (int round = 0; round < 3; round++) {
        harness_thread *t = harness_thread_start(wait_on_barrier, (void *)(intptr_t)30000);
        int mine = mproc_barrier_wait(shared_barrier, 30000);
        harness_thread_join(t);
        assert_true(mine == 0 || mine == 1);
        assert_int_equal(mine + barrier_rc, 1); /* the two got 0 and 1 */
    }
    int64_t n = 0;
    assert_ok(mproc_value_get_i64(action_count, &n));
    assert_int_equal(n, 3);

    /* A timeout breaks it for everyone until reset. */
    assert_rc(mproc_barrier_wait(shared_barrier, 20), MPROC_ETIMEDOUT);
    assert_int_equal(mproc_barrier_broken(shared_barrier), 1);
    assert_rc(mproc_barrier_wait(shared_barrier, 0), MPROC_EBROKEN);
    assert_ok(mproc_barrier_reset(shared_barrier));
    assert_int_equal(mproc_barrier_broken(shared_barrier), 0);

    /* abort reaches a waiter; reset reaches a waiter too and leaves it usable */
    harness_thread *t = harness_thread_start(wait_on_barrier, (void *)(intptr_t)30000);
    while (n_waiting_of(shared_barrier) != 1)
        harness_sleep_ms(1);
    assert_ok(mproc_barrier_abort(shared_barrier));
    harness_thread_join(t);
    assert_int_equal(barrier_rc, MPROC_EBROKEN);
    assert_ok(mproc_barrier_reset(shared_barrier));
    t = harness_thread_start(wait_on_barrier, (void *)(intptr_t)30000);
    while (n_waiting_of(shared_barrier) != 1)
        harness_sleep_ms(1);
    assert_ok(mproc_barrier_reset(shared_barrier));
    harness_thread_join(t);
    assert_int_equal(barrier_rc, MPROC_EBROKEN);
    assert_int_equal(mproc_barrier_broken(shared_barrier), 0);
    mproc_barrier_destroy(shared_barrier);
    mproc_value_destroy(action_count);

    /* A failing action breaks the barrier; its runner learns why. */
    assert_ok(mproc_barrier_create(
        &shared_barrier, &(mproc_barrier_opts){.parties = 1, .action = "failing_action"}));
    assert_rc(mproc_barrier_wait(shared_barrier, 1000), MPROC_ETASK);
    assert_rc(mproc_barrier_wait(shared_barrier, 1000), MPROC_EBROKEN);
    mproc_barrier_destroy(shared_barrier);
}

static void barrier_between_processes(mproc_start_method method)
{
    enum { CYCLES = 20 };
    mproc_barrier *b;
    mproc_array *seen;
    assert_ok(mproc_barrier_create(&b, &(mproc_barrier_opts){.parties = 3}));
    assert_ok(mproc_array_create(&seen, MPROC_T_INT, 3 * CYCLES, false));
    mproc_process *kids[2] = {0};
    for (int64_t slot = 1; slot <= 2; slot++) {
        mproc_pack *args;
        assert_ok(mproc_pack_create(&args));
        assert_ok(mproc_pack_handle(args, b));
        assert_ok(mproc_pack_handle(args, seen));
        assert_ok(mproc_pack_i64(args, CYCLES));
        assert_ok(mproc_pack_i64(args, slot));
        kids[slot - 1] = harness_start(method, "barrier_rounds", args);
        mproc_pack_destroy(args);
        if (!kids[slot - 1])
            break;
    }
    if (kids[0]) {
        for (int c = 0; c < CYCLES; c++) {
            int index = mproc_barrier_wait(b, 30000);
            assert_true(index >= 0 && index < 3);
            assert_ok(mproc_array_set_i64(seen, (size_t)c * 3, index));
        }
        for (int i = 0; i < 2; i++)
            assert_int_equal(harness_join_code(kids[i]), 0);
        for (int c = 0; c < CYCLES; c++) {
            int64_t a, b2, c2;
            mproc_array_get_i64(seen, (size_t)c * 3, &a);
            mproc_array_get_i64(seen, (size_t)c * 3 + 1, &b2);
            mproc_array_get_i64(seen, (size_t)c * 3 + 2, &c2);
            assert_int_equal(a + b2 + c2, 3); /* 0, 1 and 2 in some order */
            assert_true(a != b2 && b2 != c2 && a != c2);
        }
    }
    mproc_barrier_destroy(b);
    mproc_array_destroy(seen);
}

/* ---- Value and Array ------------------------------------------------------------------------- */

static void value_types_and_ranges(void **state)
{
    (void)state;
    const char *codes = "cbBhHiIlLqQfd";
    for (const char *t = codes; *t; t++) {
        mproc_value *v;
        assert_ok(mproc_value_create(&v, (mproc_type)*t, *t != 'q'));
        assert_true(mproc_type_size((mproc_type)*t) > 0);
        assert_ok(mproc_value_set_i64(v, 7));
        double d = 0;
        assert_ok(mproc_value_get_f64(v, &d));
        assert_true(d == 7.0);
        if (*t == 'f' || *t == 'd') {
            int64_t i;
            assert_rc(mproc_value_get_i64(v, &i), MPROC_ETYPE);
            assert_ok(mproc_value_set_f64(v, 2.5));
            assert_ok(mproc_value_add_f64(v, 1.0, &d));
            assert_true(d == 3.5);
        } else {
            int64_t i = 0;
            assert_rc(mproc_value_set_f64(v, 1.5), MPROC_ETYPE);
            assert_ok(mproc_value_add_i64(v, 3, &i));
            assert_int_equal(i, 10);
            assert_rc(mproc_value_set_i64(v, 1LL << 40),
                      (*t == 'q' || *t == 'Q' || ((*t == 'l' || *t == 'L') && sizeof(long) == 8))
                          ? 0
                          : MPROC_ETOOBIG);
        }
        assert_int_equal(mproc_array_type(v), *t);
        assert_true((mproc_value_lock(v) != NULL) == (*t != 'q'));
        mproc_value_destroy(v);
    }
    /* Without a lock, an add is a compare-and-swap on the element's own width (on a
     * big-endian host a swap that took the wrong end of a wider word never succeeded). */
    for (const char *t = "cbBhHiIlLqQ"; *t; t++) {
        mproc_value *v;
        int64_t i = 0;
        assert_ok(mproc_value_create(&v, (mproc_type)*t, false));
        assert_ok(mproc_value_set_i64(v, 5));
        assert_ok(mproc_value_add_i64(v, 3, &i));
        assert_int_equal(i, 8);
        assert_ok(mproc_value_get_i64(v, &i));
        assert_int_equal(i, 8);
        mproc_value_destroy(v);
    }
    /* Signed types take their whole range, negative values included. */
    const struct {
        char type;
        int64_t lo, hi;
    } limits[] = {
        {'b', -128, 127},
        {'h', -32768, 32767},
        {'i', INT32_MIN, INT32_MAX},
        {'l', sizeof(long) == 8 ? INT64_MIN : INT32_MIN, sizeof(long) == 8 ? INT64_MAX : INT32_MAX},
        {'q', INT64_MIN, INT64_MAX}};
    for (size_t k = 0; k < sizeof limits / sizeof limits[0]; k++) {
        mproc_value *v;
        int64_t got = 0;
        assert_ok(mproc_value_create(&v, (mproc_type)limits[k].type, true));
        assert_ok(mproc_value_set_i64(v, limits[k].lo));
        assert_ok(mproc_value_get_i64(v, &got));
        assert_int_equal(got, limits[k].lo);
        assert_ok(mproc_value_set_i64(v, -1));
        assert_ok(mproc_value_add_i64(v, -1, &got));
        assert_int_equal(got, -2);
        assert_ok(mproc_value_set_i64(v, limits[k].hi));
        if (limits[k].type != 'q' && !(limits[k].type == 'l' && sizeof(long) == 8)) {
            assert_rc(mproc_value_set_i64(v, limits[k].lo - 1), MPROC_ETOOBIG);
            assert_rc(mproc_value_set_i64(v, limits[k].hi + 1), MPROC_ETOOBIG);
        }
        mproc_value_destroy(v);
    }
    mproc_value *u8;
    assert_ok(mproc_value_create(&u8, MPROC_T_UBYTE, true));
    assert_rc(mproc_value_set_i64(u8, -1), MPROC_ETOOBIG);
    assert_rc(mproc_value_set_i64(u8, 256), MPROC_ETOOBIG);
    assert_ok(mproc_value_set_i64(u8, 255));
    mproc_value_destroy(u8);
    mproc_value *big;
    assert_ok(mproc_value_create(&big, MPROC_T_ULONGLONG, false));
    *(unsigned long long *)mproc_value_data(big) = 18446744073709551615ull;
    int64_t i;
    assert_rc(mproc_value_get_i64(big, &i), MPROC_ETOOBIG);
    mproc_value_destroy(big);

    mproc_array *a;
    assert_ok(mproc_array_create(&a, MPROC_T_INT, 10, true));
    assert_int_equal(length_of(a), 10);
    int src[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, dst[10] = {0};
    assert_ok(mproc_array_write(a, 0, src, 10));
    assert_ok(mproc_array_read(a, 0, dst, 10));
    assert_memory_equal(src, dst, sizeof src);
    assert_ok(mproc_array_get_i64(a, 9, &i));
    assert_int_equal(i, 9);
    assert_rc(mproc_array_get_i64(a, 10, &i), MPROC_EINVAL);
    assert_rc(mproc_array_write(a, 5, src, 6), MPROC_EINVAL);
    mproc_array_destroy(a);
    assert_rc(mproc_array_create(&a, (mproc_type)'x', 1, true), MPROC_EINVAL);
    assert_rc(mproc_array_create(&a, MPROC_T_INT, 0, true), MPROC_EINVAL);
}

/* ---- named shared memory ----------------------------------------------------------------------- */

/* Whether a name is visible in /dev/shm (POSIX) or can be opened (Windows). */
static bool shm_name_exists(const char *name)
{
#ifdef _WIN32
    mproc_shm *s;
    if (mproc_shm_open(&s, name) != 0)
        return false;
    mproc_shm_destroy(s);
    return true;
#else
    char path[300];
    snprintf(path, sizeof path, "/dev/shm/mproc.%s", name);
    struct stat st;
    return stat(path, &st) == 0;
#endif
}

static void unique_name(char *buf, size_t size, const char *tag)
{
    snprintf(buf, size, "test-%lld-%s", (long long)mproc_getpid(), tag);
}

static void shm_named_semantics(void **state)
{
    (void)state;
    char name[64];
    unique_name(name, sizeof name, "a");
    mproc_shm *s, *t, *u;
    assert_rc(mproc_shm_create(&s, "bad/name", 10), MPROC_EINVAL);
    assert_rc(mproc_shm_create(&s, "", 10), MPROC_EINVAL);
    assert_rc(mproc_shm_create(&s, name, 0), MPROC_EINVAL);
    assert_rc(mproc_shm_open(&s, name), MPROC_ENOENT);
    assert_ok(mproc_shm_create(&s, name, 100));
    assert_int_equal(mproc_shm_size(s), 100);
    assert_string_equal(mproc_shm_name(s), name);
    assert_rc(mproc_shm_create(&t, name, 100), MPROC_EEXIST);
    strcpy(mproc_shm_data(s), "hello");
    assert_ok(mproc_shm_open(&t, name));
    assert_string_equal(mproc_shm_data(t), "hello");
    assert_int_equal(mproc_shm_size(t), 100);
    /* closing an attachment never removes the block from under the others */
    mproc_shm_destroy(t);
    assert_true(shm_name_exists(name));
    assert_ok(mproc_shm_open(&u, name));
    assert_ok(mproc_shm_unlink(u));
    assert_rc(mproc_shm_unlink(u), MPROC_ENOENT);
    assert_rc(mproc_shm_open(&t, name), MPROC_ENOENT);
    assert_string_equal(mproc_shm_data(s), "hello"); /* attached ones keep it */
    mproc_shm_destroy(u);
    mproc_shm_destroy(s);

    /* the last close removes the name */
    assert_ok(mproc_shm_create(&s, name, 10));
    assert_ok(mproc_shm_open(&t, name));
    mproc_shm_destroy(s);
    assert_true(shm_name_exists(name));
    mproc_shm_destroy(t);
    assert_false(shm_name_exists(name));

    /* generated names */
    assert_ok(mproc_shm_create(&s, NULL, 10));
    assert_true(strncmp(mproc_shm_name(s), "psm_", 4) == 0);
    mproc_shm_destroy(s);
}

/* Rule 6: close detaches (data NULL, size 0; calls give MPROC_ECLOSED) and keeps the
 * handle; destroy frees it, detaching if needed. */
static void shm_close_then_destroy(void **state)
{
    (void)state;
    char name[64];
    unique_name(name, sizeof name, "c");
    mproc_shm *s, *t;
    assert_ok(mproc_shm_create(&s, name, 100));
    strcpy(mproc_shm_data(s), "kept");
    assert_ok(mproc_shm_open(&t, name));
    assert_ok(mproc_shm_close(s));
    assert_ok(mproc_shm_close(s)); /* again: nothing more to detach */
    assert_null(mproc_shm_data(s));
    assert_int_equal(mproc_shm_size(s), 0);
    assert_string_equal(mproc_shm_name(s), name); /* the name stays readable */
    assert_rc(mproc_shm_unlink(s), MPROC_ECLOSED);
    mproc_pack *p = new_pack();
    assert_rc(mproc_pack_handle(p, s), MPROC_ECLOSED); /* a closed attachment does not travel */
    assert_int_equal(mproc_pack_count(p), 0);
    mproc_pack_destroy(p);
    /* the other attachment keeps the block and the name */
    assert_string_equal(mproc_shm_data(t), "kept");
    assert_true(shm_name_exists(name));
    mproc_shm_destroy(s);
    /* the last attachment's close removes the name; its destroy then frees the handle */
    assert_ok(mproc_shm_close(t));
    assert_false(shm_name_exists(name));
    mproc_shm_destroy(t);
    /* destroy detaches what is still attached */
    assert_ok(mproc_shm_create(&s, name, 10));
    mproc_shm_destroy(s);
    assert_false(shm_name_exists(name));
    assert_rc(mproc_shm_close(NULL), MPROC_EINVAL);
    mproc_shm_destroy(NULL);
}

/* Rule 3: the numbers an object holds come out through int64_t out-parameters; counts go
 * in as int64_t. */
static void numbers_out_parameters(void **state)
{
    (void)state;
    int64_t n = -1;
    mproc_sem *s;
    assert_rc(mproc_sem_create(&s, -1), MPROC_EINVAL);
    assert_rc(mproc_sem_create(&s, (int64_t)INT32_MAX + 1), MPROC_EINVAL);
    assert_rc(mproc_sem_create_bounded(&s, -1), MPROC_EINVAL);
    assert_ok(mproc_sem_create(&s, INT32_MAX));
    assert_ok(mproc_sem_value(s, &n));
    assert_int_equal(n, INT32_MAX);
    assert_rc(mproc_sem_release(s), MPROC_ESTATE); /* at the top */
    mproc_sem_destroy(s);
    assert_ok(mproc_sem_create_bounded(&s, 4));
    assert_ok(mproc_sem_acquire(s, 0));
    assert_ok(mproc_sem_value(s, &n));
    assert_int_equal(n, 3);
    assert_rc(mproc_sem_value(s, NULL), MPROC_EINVAL);
    assert_rc(mproc_sem_value(NULL, &n), MPROC_EINVAL);
    mproc_sem_destroy(s);

    mproc_barrier *b;
    assert_rc(mproc_barrier_create(&b, &(mproc_barrier_opts){.parties = 0}), MPROC_EINVAL);
    assert_rc(mproc_barrier_create(&b, &(mproc_barrier_opts){.parties = -3}), MPROC_EINVAL);
    assert_rc(mproc_barrier_create(&b, &(mproc_barrier_opts){.parties = (int64_t)INT32_MAX + 1}),
              MPROC_EINVAL);
    assert_ok(mproc_barrier_create(&b, &(mproc_barrier_opts){.parties = 3}));
    assert_ok(mproc_barrier_parties(b, &n));
    assert_int_equal(n, 3);
    assert_ok(mproc_barrier_n_waiting(b, &n));
    assert_int_equal(n, 0);
    assert_rc(mproc_barrier_wait(b, 10), MPROC_ETIMEDOUT);
    assert_ok(mproc_barrier_n_waiting(b, &n)); /* the timeout broke the cycle: none wait */
    assert_int_equal(n, 0);
    assert_rc(mproc_barrier_parties(b, NULL), MPROC_EINVAL);
    assert_rc(mproc_barrier_n_waiting(b, NULL), MPROC_EINVAL);
    assert_rc(mproc_barrier_parties(NULL, &n), MPROC_EINVAL);
    mproc_barrier_destroy(b);

    mproc_cond *c;
    assert_ok(mproc_cond_create(&c, NULL));
    assert_ok(mproc_cond_acquire(c, 0));
    assert_rc(mproc_cond_notify(c, -1), MPROC_EINVAL);
    assert_int_equal(mproc_cond_notify(c, INT64_MAX), 0); /* nobody waits: woke none */
    assert_int_equal(mproc_cond_notify_all(c), 0);
    assert_ok(mproc_cond_release(c));
    mproc_cond_destroy(c);

    mproc_array *a;
    assert_rc(mproc_array_create(&a, MPROC_T_INT, 0, true), MPROC_EINVAL);
    assert_rc(mproc_array_create(&a, MPROC_T_INT, -1, true), MPROC_EINVAL);
    assert_rc(mproc_array_create(&a, MPROC_T_INT, INT64_MAX, true), MPROC_ETOOBIG);
    assert_ok(mproc_array_create(&a, MPROC_T_DOUBLE, 7, false));
    assert_ok(mproc_array_length(a, &n));
    assert_int_equal(n, 7);
    assert_rc(mproc_array_length(a, NULL), MPROC_EINVAL);
    assert_rc(mproc_array_length(NULL, &n), MPROC_EINVAL);
    /* add_f64 on an element, as on a Value */
    double d = 0;
    assert_ok(mproc_array_add_f64(a, 6, 1.25, &d));
    assert_true(d == 1.25);
    assert_ok(mproc_array_add_f64(a, 6, 1.25, NULL));
    assert_ok(mproc_array_get_f64(a, 6, &d));
    assert_true(d == 2.5);
    assert_rc(mproc_array_add_f64(a, 7, 1, &d), MPROC_EINVAL);
    assert_rc(mproc_array_add_i64(a, 0, 1, NULL), MPROC_ETYPE);
    mproc_array_destroy(a);
    mproc_value *v;
    assert_ok(mproc_value_create(&v, MPROC_T_INT, true));
    assert_ok(mproc_array_length(v, &n)); /* a Value is an Array of one */
    assert_int_equal(n, 1);
    assert_rc(mproc_value_add_f64(v, 1.0, &d), MPROC_ETYPE);
    mproc_value_destroy(v);
}

static void shm_to_child(mproc_start_method method)
{
    mproc_shm *s;
    assert_ok(mproc_shm_create(&s, NULL, 64));
    char name[256];
    strcpy(name, mproc_shm_name(s));
    mproc_pack *args;
    assert_ok(mproc_pack_create(&args));
    assert_ok(mproc_pack_handle(args, s));
    mproc_process *p = harness_start(method, "write_shm", args);
    mproc_pack_destroy(args);
    /* The creator may close before the child attaches: the child still gets the block. */
    mproc_shm *early;
    assert_ok(mproc_shm_create(&early, NULL, 64));
    assert_ok(mproc_pack_create(&args));
    assert_ok(mproc_pack_handle(args, early));
    mproc_process *late = NULL;
    if (p) {
        mproc_context *ctx;
        assert_ok(mproc_context_get(&ctx, method));
        assert_ok(mproc_process_create(
            &late, &(mproc_process_opts){.target = "write_shm", .args = args, .ctx = ctx}));
    }
    mproc_shm_destroy(early);
    if (late) {
        assert_ok(mproc_process_start(late));
        assert_int_equal(harness_join_code(late), 0);
    }
    mproc_pack_destroy(args);
    if (p) {
        assert_int_equal(harness_join_code(p), 0);
        assert_string_equal(mproc_shm_data(s), "written by the child");
        assert_true(shm_name_exists(name)); /* the child's close did not remove it */
    }
    mproc_shm_destroy(s);
    assert_false(shm_name_exists(name));
}

/* The creator is killed while the parent is attached: the parent's close is the last. */
static void shm_creator_killed(mproc_start_method method)
{
    char name[64];
    unique_name(name, sizeof name, "k");
    mproc_event *ready;
    assert_ok(mproc_event_create(&ready));
    mproc_pack *args;
    assert_ok(mproc_pack_create(&args));
    assert_ok(mproc_pack_str(args, name));
    assert_ok(mproc_pack_handle(args, ready));
    mproc_process *p = harness_start(method, "create_shm_until_killed", args);
    mproc_pack_destroy(args);
    if (p) {
        assert_ok(mproc_event_wait(ready, 30000));
        mproc_shm *s;
        assert_ok(mproc_shm_open(&s, name));
        assert_ok(mproc_process_kill(p));
        assert_int_equal(harness_join_code(p), -9);
        assert_string_equal(mproc_shm_data(s), "left by a killed creator");
        mproc_shm_destroy(s);
        assert_false(shm_name_exists(name));
    }
    mproc_event_destroy(ready);
}

/* The only user is killed: the name is swept when its death is seen. */
static void shm_sole_user_killed(mproc_start_method method)
{
    char name[64];
    unique_name(name, sizeof name, "s");
    mproc_event *ready;
    assert_ok(mproc_event_create(&ready));
    mproc_pack *args;
    assert_ok(mproc_pack_create(&args));
    assert_ok(mproc_pack_str(args, name));
    assert_ok(mproc_pack_handle(args, ready));
    mproc_process *p = harness_start(method, "create_shm_until_killed", args);
    mproc_pack_destroy(args);
    if (p) {
        assert_ok(mproc_event_wait(ready, 30000));
        assert_true(shm_name_exists(name));
        /* The sweep leaves names younger than 2 s alone (their creator may be about to
         * take its flock). */
        harness_sleep_ms(harness_is_windows() ? 0 : 3000);
        assert_ok(mproc_process_kill(p));
        assert_int_equal(harness_join_code(p), -9);
#if defined(MPROC_PORTABLE_POSIX)
        /* No sweep where the names cannot be listed (macOS): the name stays until unlinked. */
        assert_true(shm_name_exists(name));
        mproc_shm *s;
        assert_ok(mproc_shm_open(&s, name));
        assert_ok(mproc_shm_unlink(s));
        mproc_shm_destroy(s);
#endif
        assert_false(shm_name_exists(name));
    }
    mproc_event_destroy(ready);
}

/* ---- packs and bad input ------------------------------------------------------------------------ */

static void handles_bad_input(void **state)
{
    (void)state;
    mproc_pack *p;
    assert_ok(mproc_pack_create(&p));
    mproc_lock *l;
    mproc_sem *s;
    assert_ok(mproc_lock_create(&l));
    assert_ok(mproc_sem_create(&s, 1));
    char not_an_object[256] = {0};
    assert_rc(mproc_pack_handle(NULL, l), MPROC_EINVAL);
    assert_rc(mproc_pack_handle(p, NULL), MPROC_EINVAL);
    assert_rc(mproc_pack_handle(p, not_an_object), MPROC_EINVAL);
    assert_ok(mproc_pack_i64(p, 5));
    assert_ok(mproc_pack_handle(p, s));
    assert_ok(mproc_pack_handle(p, l));
    mproc_bytes view;
    assert_ok(mproc_pack_view(p, &view));
    mproc_unpacker u;
    assert_ok(mproc_unpack_init(&u, &view));
    mproc_lock *got;
    mproc_sem *sem;
    assert_rc(mproc_unpack_lock(&u, &got), MPROC_ETYPE); /* an i64 */
    assert_ok(mproc_unpack_skip(&u));
    assert_rc(mproc_unpack_lock(&u, &got), MPROC_ETYPE); /* a semaphore */
    assert_ok(mproc_unpack_sem(&u, &sem));
    assert_ok(mproc_unpack_lock(&u, &got));
    /* In this process too, an unpacked object is the same object. */
    assert_ok(mproc_lock_acquire(got, 0));
    assert_int_equal(mproc_lock_locked(l), 1);
    assert_ok(mproc_lock_release(l));
    mproc_lock_destroy(got);
    mproc_sem_destroy(sem);
    assert_int_equal(mproc_unpack_peek(&u), 0);

    /* Nested packs carry their objects too, independent of the inner pack's life. */
    mproc_pack *outer;
    assert_ok(mproc_pack_create(&outer));
    assert_ok(mproc_pack_pack(outer, p));
    mproc_pack_destroy(p);
    mproc_lock_destroy(l);
    mproc_sem_destroy(s);
    assert_ok(mproc_pack_view(outer, &view));
    mproc_unpacker inner;
    assert_ok(mproc_unpack_init(&u, &view));
    assert_ok(mproc_unpack_pack(&u, &inner));
    assert_ok(mproc_unpack_skip(&inner));
    assert_ok(mproc_unpack_sem(&inner, &sem));
    assert_ok(mproc_sem_acquire(sem, 0));
    mproc_sem_destroy(sem);
    mproc_pack_destroy(outer);

    /* NULL and destroyed handles */
    assert_rc(mproc_lock_acquire(NULL, 0), MPROC_EINVAL);
    assert_rc(mproc_lock_release(NULL), MPROC_EINVAL);
    assert_rc(mproc_sem_acquire(NULL, 0), MPROC_EINVAL);
    assert_rc(mproc_event_set(NULL), MPROC_EINVAL);
    assert_rc(mproc_event_wait(NULL, 0), MPROC_EINVAL);
    assert_rc(mproc_cond_wait(NULL, 0), MPROC_EINVAL);
    assert_rc(mproc_barrier_wait(NULL, 0), MPROC_EINVAL);
    assert_rc(mproc_value_get_i64(NULL, &(int64_t){0}), MPROC_EINVAL);
    assert_null(mproc_shm_data(NULL));
    assert_rc(mproc_lock_create(NULL), MPROC_EINVAL);
    assert_rc(mproc_sem_create(NULL, 1), MPROC_EINVAL);
    mproc_lock_destroy(NULL);
    mproc_sem_destroy(NULL);
    mproc_cond_destroy(NULL);
    mproc_event_destroy(NULL);
    mproc_barrier_destroy(NULL);
    mproc_value_destroy(NULL);
    mproc_shm_destroy(NULL);
    /* A Value's lock belongs to the Value: destroying it does nothing. */
    mproc_value *v;
    assert_ok(mproc_value_create(&v, MPROC_T_INT, true));
    mproc_lock_destroy(mproc_value_lock(v));
    assert_ok(mproc_lock_acquire(mproc_value_lock(v), 0));
    assert_ok(mproc_lock_release(mproc_value_lock(v)));
    mproc_value_destroy(v);
}

#define HARNESS_CASES "cases/sync.txt"
#include "harness_main.h"
