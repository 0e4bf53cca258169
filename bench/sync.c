/* Synchronization: uncontended Lock, a locked Value incremented by two processes, Event
 * ping-pong between two processes, uncontended Semaphore. Each a rate (timing.h), beside the
 * raw primitive: process-shared pthread objects in shared memory, forked children (Windows:
 * kernel objects, children of this executable). */
#ifndef _WIN32
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "raw.h"
#include "sections.h"
#include "timing.h"

#ifndef _WIN32
#include <pthread.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

/* ==== 1. uncontended Lock acquire+release ==================================================== */

static double mproc_lock_trial(int64_t n)
{
    mproc_lock *l;
    MUST(mproc_lock_create(&l));
    double start = now_us();
    for (int64_t i = 0; i < n; i++) {
        if (mproc_lock_acquire(l, MPROC_FOREVER) != 0 || mproc_lock_release(l) != 0)
            die("mproc_lock_acquire/release", 0);
    }
    double elapsed = now_us() - start;
    mproc_lock_destroy(l);
    return elapsed;
}

/* Raw: a process-shared pthread mutex in shared memory (Windows: a kernel mutex). */
static double raw_lock_trial(int64_t n)
{
#ifdef _WIN32
    HANDLE m = CreateMutexW(NULL, FALSE, NULL);
    if (!m)
        die("CreateMutexW", 0);
    double start = now_us();
    for (int64_t i = 0; i < n; i++) {
        if (WaitForSingleObject(m, INFINITE) != WAIT_OBJECT_0 || !ReleaseMutex(m))
            die("WaitForSingleObject/ReleaseMutex", 0);
    }
    double elapsed = now_us() - start;
    CloseHandle(m);
#else
    pthread_mutex_t *m = shared_alloc(sizeof *m);
    shared_mutex_init(m);
    double start = now_us();
    for (int64_t i = 0; i < n; i++) {
        if (pthread_mutex_lock(m) != 0 || pthread_mutex_unlock(m) != 0)
            die("pthread_mutex_lock/unlock", 0);
    }
    double elapsed = now_us() - start;
    pthread_mutex_destroy(m);
    munmap(m, sizeof *m);
#endif
    return elapsed;
}

/* ==== 2. two processes incrementing a locked Value =============================================
 * Each child says it is ready, waits for go, does n increments and notes when it ended;
 * the time runs from go to the later end. Three ways to increment with mproc: */
enum { VALUE_GET_SET, VALUE_DATA, VALUE_ADD };

MPROC_TASK(bench_value_child, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_value *v;
    mproc_array *ends;
    start_gate gate;
    int64_t index, n, how;
    CHILD_MUST(mproc_unpack_init(&u, in));
    CHILD_MUST(mproc_unpack_value(&u, &v));
    CHILD_MUST(mproc_unpack_array(&u, &ends));
    CHILD_MUST(start_gate_unpack(&u, &gate));
    CHILD_MUST(mproc_unpack_i64(&u, &index));
    CHILD_MUST(mproc_unpack_i64(&u, &n));
    CHILD_MUST(mproc_unpack_i64(&u, &how));
    CHILD_MUST(start_gate_pass(&gate));
    mproc_lock *lock = mproc_value_lock(v);
    int *data = mproc_value_data(v);
    if (!lock || !data)
        return 1;
    if (how == VALUE_GET_SET) {
        /* Python's `with v.get_lock(): v.value += 1`: the get and set take the RLock again. */
        for (int64_t i = 0; i < n; i++) {
            int64_t x;
            CHILD_MUST(mproc_lock_acquire(lock, MPROC_FOREVER));
            CHILD_MUST(mproc_value_get_i64(v, &x));
            CHILD_MUST(mproc_value_set_i64(v, x + 1));
            CHILD_MUST(mproc_lock_release(lock));
        }
    } else if (how == VALUE_DATA) {
        /* The C way: the element itself, under the lock taken once. */
        for (int64_t i = 0; i < n; i++) {
            CHILD_MUST(mproc_lock_acquire(lock, MPROC_FOREVER));
            (*data)++;
            CHILD_MUST(mproc_lock_release(lock));
        }
    } else {
        for (int64_t i = 0; i < n; i++)
            CHILD_MUST(mproc_value_add_i64(v, 1, NULL));
    }
    CHILD_MUST(mproc_array_set_f64(ends, (size_t)index, now_us()));
    start_gate_destroy(&gate);
    mproc_array_destroy(ends);
    mproc_value_destroy(v);
    return 0;
}

/* The Values are C ints ('i', as Python's Value('i')): 2n must fit. */
static void check_value_n(int64_t n)
{
    if (2 * n > INT32_MAX) {
        fprintf(stderr, "bench_mproc: %lld increments overflow an int: use a smaller --seconds\n",
                (long long)(2 * n));
        exit(1);
    }
}

static double mproc_value_run(int64_t n, int how)
{
    check_value_n(n);
    mproc_value *v;
    mproc_array *ends;
    start_gate gate;
    MUST(mproc_value_create(&v, MPROC_T_INT, true));
    MUST(mproc_array_create(&ends, MPROC_T_DOUBLE, 2, false));
    start_gate_create(&gate);
    mproc_process *child[2];
    for (int i = 0; i < 2; i++) {
        mproc_pack *args;
        MUST(mproc_pack_create(&args));
        MUST(mproc_pack_handle(args, v));
        MUST(mproc_pack_handle(args, ends));
        start_gate_pack(args, &gate);
        MUST(mproc_pack_i64(args, i));
        MUST(mproc_pack_i64(args, n));
        MUST(mproc_pack_i64(args, how));
        child[i] = start_task("bench_value_child", args);
        mproc_pack_destroy(args);
    }
    double start = start_gate_open(&gate, 2);
    double end[2];
    int64_t total;
    for (int i = 0; i < 2; i++) {
        join_task(child[i]);
        MUST(mproc_array_get_f64(ends, (size_t)i, &end[i]));
    }
    MUST(mproc_value_get_i64(v, &total));
    if (total != 2 * n) {
        fprintf(stderr, "bench_mproc: locked Value ended at %lld, not %lld\n", (long long)total,
                (long long)(2 * n));
        exit(1);
    }
    start_gate_destroy(&gate);
    mproc_array_destroy(ends);
    mproc_value_destroy(v);
    return (end[0] > end[1] ? end[0] : end[1]) - start;
}

static double mproc_value_get_set_trial(int64_t n)
{
    return mproc_value_run(n, VALUE_GET_SET);
}

static double mproc_value_data_trial(int64_t n)
{
    return mproc_value_run(n, VALUE_DATA);
}

static double mproc_value_add_trial(int64_t n)
{
    return mproc_value_run(n, VALUE_ADD);
}

/* Raw: a process-shared pthread mutex and an int in shared memory, two forked children
 * (Windows: a kernel mutex and a file mapping, two children of this executable). */
typedef struct raw_value_shm {
#ifndef _WIN32
    pthread_mutex_t mutex;
#endif
    raw_gate gate;
    volatile int value;
    double end[2];
} raw_value_shm;

/* mutex: the Windows mutex (POSIX: unused, the mutex is in s). */
static void raw_value_child_loop(raw_value_shm *s, int index, int64_t n, void *mutex)
{
    raw_gate_pass(&s->gate);
#ifdef _WIN32
    for (int64_t i = 0; i < n; i++) {
        if (WaitForSingleObject(mutex, INFINITE) != WAIT_OBJECT_0)
            ExitProcess(1);
        s->value = s->value + 1;
        ReleaseMutex(mutex);
    }
#else
    (void)mutex;
    for (int64_t i = 0; i < n; i++) {
        if (pthread_mutex_lock(&s->mutex) != 0)
            _exit(1);
        s->value = s->value + 1;
        pthread_mutex_unlock(&s->mutex);
    }
#endif
    s->end[index] = now_us();
}

static double raw_value_trial(int64_t n)
{
    check_value_n(n);
#ifdef _WIN32
    HANDLE map = CreateFileMappingW(INVALID_HANDLE_VALUE, &raw_inheritable, PAGE_READWRITE, 0,
                                    sizeof(raw_value_shm), NULL);
    HANDLE mutex = CreateMutexW(&raw_inheritable, FALSE, NULL);
    raw_value_shm *s = map ? MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0) : NULL;
    if (!s || !mutex)
        die("CreateFileMappingW/CreateMutexW", 0);
    HANDLE child[2];
    for (int i = 0; i < 2; i++) {
        wchar_t args[128];
        _snwprintf(args, sizeof args / sizeof args[0], L"value %llu %llu %d %lld",
                   (unsigned long long)(uintptr_t)map, (unsigned long long)(uintptr_t)mutex, i,
                   (long long)n);
        child[i] = raw_spawn(args);
    }
#else
    raw_value_shm *s = shared_alloc(sizeof *s);
    shared_mutex_init(&s->mutex);
    pid_t child[2];
    for (int i = 0; i < 2; i++) {
        child[i] = raw_fork();
        if (child[i] == 0) {
            raw_value_child_loop(s, i, n, NULL);
            _exit(0);
        }
    }
#endif
    double start = raw_gate_open(&s->gate, 2);
    for (int i = 0; i < 2; i++)
        raw_join(child[i]);
    double elapsed = (s->end[0] > s->end[1] ? s->end[0] : s->end[1]) - start;
    if (s->value != (int)(2 * n)) {
        fprintf(stderr, "bench_mproc: raw value ended at %d, not %lld\n", s->value,
                (long long)(2 * n));
        exit(1);
    }
#ifdef _WIN32
    UnmapViewOfFile(s);
    CloseHandle(map);
    CloseHandle(mutex);
#else
    pthread_mutex_destroy(&s->mutex);
    munmap(s, sizeof *s);
#endif
    return elapsed;
}

#ifdef _WIN32
int raw_value_child(char **args)
{
    HANDLE map = handle_arg(args[0]), mutex = handle_arg(args[1]);
    raw_value_shm *s = MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    if (!s)
        return 1;
    raw_value_child_loop(s, atoi(args[2]), strtoll(args[3], NULL, 10), mutex);
    return 0;
}
#endif

/* ==== 3. Event ping-pong between two processes ===============================================
 * The parent sets ping, waits for pong and clears it; the child waits for ping, clears it
 * and sets pong. A few round trips first (untimed), then n timed ones. */

MPROC_TASK(bench_pingpong_child, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_event *ping, *pong;
    int64_t n;
    CHILD_MUST(mproc_unpack_init(&u, in));
    CHILD_MUST(mproc_unpack_event(&u, &ping));
    CHILD_MUST(mproc_unpack_event(&u, &pong));
    CHILD_MUST(mproc_unpack_i64(&u, &n));
    for (int64_t i = 0; i < n; i++) {
        CHILD_MUST(mproc_event_wait(ping, MPROC_FOREVER));
        CHILD_MUST(mproc_event_clear(ping));
        CHILD_MUST(mproc_event_set(pong));
    }
    mproc_event_destroy(ping);
    mproc_event_destroy(pong);
    return 0;
}

static double mproc_pingpong_trial(int64_t n)
{
    mproc_event *ping, *pong;
    mproc_pack *args;
    MUST(mproc_event_create(&ping));
    MUST(mproc_event_create(&pong));
    MUST(mproc_pack_create(&args));
    MUST(mproc_pack_handle(args, ping));
    MUST(mproc_pack_handle(args, pong));
    MUST(mproc_pack_i64(args, PINGPONG_WARMUP + n));
    mproc_process *child = start_task("bench_pingpong_child", args);
    mproc_pack_destroy(args);
    double start = 0;
    for (int64_t i = 0; i < PINGPONG_WARMUP + n; i++) {
        if (i == PINGPONG_WARMUP)
            start = now_us();
        if (mproc_event_set(ping) != 0 || mproc_event_wait(pong, 60000) != 0 ||
            mproc_event_clear(pong) != 0)
            die("mproc_event_set/wait/clear", 0);
    }
    double elapsed = now_us() - start;
    join_task(child);
    mproc_event_destroy(ping);
    mproc_event_destroy(pong);
    return elapsed;
}

/* Raw: Events made of a process-shared pthread mutex + condition variable + flag in shared
 * memory, one forked child (Windows: manual-reset kernel events, which are exactly that). */
#ifdef _WIN32
static void raw_pingpong_child_loop(HANDLE ping, HANDLE pong, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        if (WaitForSingleObject(ping, INFINITE) != WAIT_OBJECT_0)
            ExitProcess(1);
        ResetEvent(ping);
        SetEvent(pong);
    }
}

int raw_pingpong_child(char **args)
{
    raw_pingpong_child_loop(handle_arg(args[0]), handle_arg(args[1]), strtoll(args[2], NULL, 10));
    return 0;
}

static double raw_pingpong_trial(int64_t n)
{
    HANDLE ping = CreateEventW(&raw_inheritable, TRUE, FALSE, NULL);
    HANDLE pong = CreateEventW(&raw_inheritable, TRUE, FALSE, NULL);
    if (!ping || !pong)
        die("CreateEventW", 0);
    wchar_t args[128];
    _snwprintf(args, sizeof args / sizeof args[0], L"pingpong %llu %llu %lld",
               (unsigned long long)(uintptr_t)ping, (unsigned long long)(uintptr_t)pong,
               (long long)(PINGPONG_WARMUP + n));
    HANDLE child = raw_spawn(args);
    double start = 0;
    for (int64_t i = 0; i < PINGPONG_WARMUP + n; i++) {
        if (i == PINGPONG_WARMUP)
            start = now_us();
        SetEvent(ping);
        if (WaitForSingleObject(pong, 60000) != WAIT_OBJECT_0)
            die("WaitForSingleObject", 0);
        ResetEvent(pong);
    }
    double elapsed = now_us() - start;
    raw_join(child);
    CloseHandle(ping);
    CloseHandle(pong);
    return elapsed;
}
#else
typedef struct raw_event {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int flag;
} raw_event;

static void raw_event_init(raw_event *e)
{
    shared_mutex_init(&e->mutex);
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (pthread_cond_init(&e->cond, &a) != 0)
        die("pthread_cond_init", 0);
    pthread_condattr_destroy(&a);
    e->flag = 0;
}

static void raw_event_set(raw_event *e)
{
    pthread_mutex_lock(&e->mutex);
    e->flag = 1;
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->mutex);
}

static void raw_event_wait(raw_event *e)
{
    pthread_mutex_lock(&e->mutex);
    while (!e->flag)
        pthread_cond_wait(&e->cond, &e->mutex);
    pthread_mutex_unlock(&e->mutex);
}

static void raw_event_clear(raw_event *e)
{
    pthread_mutex_lock(&e->mutex);
    e->flag = 0;
    pthread_mutex_unlock(&e->mutex);
}

static double raw_pingpong_trial(int64_t n)
{
    raw_event *ev = shared_alloc(2 * sizeof *ev), *ping = &ev[0], *pong = &ev[1];
    raw_event_init(ping);
    raw_event_init(pong);
    pid_t child = raw_fork();
    if (child == 0) {
        for (int64_t i = 0; i < PINGPONG_WARMUP + n; i++) {
            raw_event_wait(ping);
            raw_event_clear(ping);
            raw_event_set(pong);
        }
        _exit(0);
    }
    double start = 0;
    for (int64_t i = 0; i < PINGPONG_WARMUP + n; i++) {
        if (i == PINGPONG_WARMUP)
            start = now_us();
        raw_event_set(ping);
        raw_event_wait(pong);
        raw_event_clear(pong);
    }
    double elapsed = now_us() - start;
    raw_join(child);
    for (int i = 0; i < 2; i++) {
        pthread_cond_destroy(&ev[i].cond);
        pthread_mutex_destroy(&ev[i].mutex);
    }
    munmap(ev, 2 * sizeof *ev);
    return elapsed;
}
#endif

/* ==== 4. uncontended Semaphore acquire+release =============================================== */

static double mproc_sem_trial(int64_t n)
{
    mproc_sem *s;
    MUST(mproc_sem_create(&s, 1));
    double start = now_us();
    for (int64_t i = 0; i < n; i++) {
        if (mproc_sem_acquire(s, MPROC_FOREVER) != 0 || mproc_sem_release(s) != 0)
            die("mproc_sem_acquire/release", 0);
    }
    double elapsed = now_us() - start;
    mproc_sem_destroy(s);
    return elapsed;
}

/* Raw: sem_init(pshared=1) in shared memory (Windows: a kernel semaphore). */
static double raw_sem_trial(int64_t n)
{
#ifdef _WIN32
    HANDLE s = CreateSemaphoreW(NULL, 1, 1, NULL);
    if (!s)
        die("CreateSemaphoreW", 0);
    double start = now_us();
    for (int64_t i = 0; i < n; i++) {
        if (WaitForSingleObject(s, INFINITE) != WAIT_OBJECT_0 || !ReleaseSemaphore(s, 1, NULL))
            die("WaitForSingleObject/ReleaseSemaphore", 0);
    }
    double elapsed = now_us() - start;
    CloseHandle(s);
#else
    sem_t *s = shared_alloc(sizeof *s);
    if (sem_init(s, 1, 1) != 0)
        die("sem_init", 0);
    double start = now_us();
    for (int64_t i = 0; i < n; i++) {
        if (sem_wait(s) != 0 || sem_post(s) != 0)
            die("sem_wait/sem_post", 0);
    }
    double elapsed = now_us() - start;
    sem_destroy(s);
    munmap(s, sizeof *s);
#endif
    return elapsed;
}

void bench_sync(void)
{
    bench_rate("Lock acquire+release (uncontended)", "pairs/s", "lock", 1, mproc_lock_trial,
               raw_lock_trial, NULL);
    bench_rate("locked Value, 2 processes: lock; get; set +1; unlock", "increments/s", "value", 2,
               mproc_value_get_set_trial, raw_value_trial, NULL);
    bench_rate("locked Value, 2 processes: lock; (*data)++; unlock", "increments/s", "value", 2,
               mproc_value_data_trial, raw_value_trial, NULL);
    bench_rate("locked Value, 2 processes: mproc_value_add_i64", "increments/s", "value", 2,
               mproc_value_add_trial, raw_value_trial, NULL);
    bench_rate("Event ping-pong, 2 processes", "round trips/s", "event", 1, mproc_pingpong_trial,
               raw_pingpong_trial, NULL);
    bench_rate("Semaphore acquire+release (uncontended)", "pairs/s", "semaphore", 1,
               mproc_sem_trial, raw_sem_trial, NULL);
}
