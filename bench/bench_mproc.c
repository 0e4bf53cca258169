/* The C half of the benchmarks: for each operation, the mproc figure and the raw OS
 * primitive's, as one JSON object per line. bench/run.py adds Python's figures, measured
 * in the same run, and the ratios.
 *
 *   bench_mproc [--reps N] [--sync-reps N] [--seconds S] [--only start|sync] [--verbose]
 *       --reps N       process start+join: median of N repetitions (default 50)
 *       --sync-reps N  synchronization: median of N timed runs (default 5)
 *       --seconds S    synchronization: length of one timed run (default 0.3)
 *       --verbose      synchronization: each run's figures on stderr
 *   bench_mproc --raw-exit       (internal) the trivial program for the raw spawn figure
 *   bench_mproc --raw-child ...  (internal, Windows) the child side of a raw figure
 *
 * Process start+join is a time per operation (µs, lower is better). The synchronization
 * figures are rates (operations per second, higher is better): each run's count of
 * operations is calibrated so that it lasts about --seconds, then the median of the runs
 * is taken, mproc and raw runs interleaved. */
#ifndef _WIN32
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mproc.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
extern char **environ;
#endif

static double now_us(void)
{
#ifdef _WIN32
    LARGE_INTEGER freq, t;
    QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart * 1e6 / (double)freq.QuadPart;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
#endif
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *samples, int n)
{
    qsort(samples, (size_t)n, sizeof *samples, compare_doubles);
    return n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_mproc: %s failed%s%s\n", what, rc ? ": " : "",
            rc ? mproc_strerror(rc) : "");
    exit(1);
}

/* A call to the library that must succeed (the parent's side). */
#define MUST(call)                                                                           \
    do {                                                                                     \
        int must_rc_ = (call);                                                               \
        if (must_rc_ != 0)                                                                   \
            die(#call, must_rc_);                                                            \
    } while (0)

/* The same in a child task: its exit code tells the parent. */
#define CHILD_MUST(call)                                                                     \
    do {                                                                                     \
        int must_rc_ = (call);                                                               \
        if (must_rc_ != 0) {                                                                 \
            fprintf(stderr, "bench_mproc child: %s failed: %s\n", #call,                     \
                    mproc_strerror(must_rc_));                                               \
            return 1;                                                                        \
        }                                                                                    \
    } while (0)

#ifndef _WIN32
static char self_path[4096];
#endif

/* ==== process start+join ================================================================== */

MPROC_TASK(nothing, in, out)
{
    (void)in;
    (void)out;
    return 0;
}

/* One start+join with mproc; returns microseconds, or -1 on failure. */
static double mproc_start_join_us(mproc_context *ctx)
{
    mproc_process *p;
    double start = now_us();
    if (mproc_process_create(&p, &(mproc_process_opts){.target = "nothing", .ctx = ctx}) != 0)
        return -1;
    int rc = mproc_process_start(p);
    if (rc == 0)
        rc = mproc_process_join(p, 30000);
    double elapsed = now_us() - start;
    int code = 1;
    if (rc == 0)
        rc = mproc_process_exitcode(p, &code);
    mproc_process_destroy(p);
    return rc == 0 && code == 0 ? elapsed : -1;
}

/* The raw primitive under each method: fork+waitpid of a child that exits at once, or
 * starting this same executable (which exits before doing anything) and waiting for it. */
static double raw_start_join_us(mproc_start_method method)
{
    double start = now_us();
#ifdef _WIN32
    (void)method;
    wchar_t exe[MAX_PATH], cmd[MAX_PATH + 32];
    GetModuleFileNameW(NULL, exe, MAX_PATH);
    _snwprintf(cmd, sizeof cmd / sizeof cmd[0], L"\"%ls\" --raw-exit", exe);
    STARTUPINFOW si = {0};
    si.cb = sizeof si;
    PROCESS_INFORMATION pi;
    if (!CreateProcessW(exe, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
        return -1;
    WaitForSingleObject(pi.hProcess, 30000);
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
#else
    pid_t pid;
    if (method == MPROC_SPAWN) {
        char *argv[] = {self_path, "--raw-exit", NULL};
        if (posix_spawn(&pid, self_path, NULL, NULL, argv, environ) != 0)
            return -1;
    } else {
        pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid < 0)
            return -1;
    }
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
#endif
    return now_us() - start;
}

static void bench_start_join(mproc_start_method method, int reps)
{
    mproc_context *ctx;
    if (!mproc_start_method_available(method) || mproc_context_get(&ctx, method) != 0)
        return;
    double *with_mproc = calloc((size_t)reps, sizeof(double));
    double *raw = calloc((size_t)reps, sizeof(double));
    if (!with_mproc || !raw)
        exit(1);
    mproc_start_join_us(ctx); /* warm-up: the forkserver starts here, pages fault in */
    raw_start_join_us(method);
    for (int i = 0; i < reps; i++) { /* interleaved, so both see the same machine load */
        with_mproc[i] = mproc_start_join_us(ctx);
        raw[i] = raw_start_join_us(method);
        if (with_mproc[i] < 0 || raw[i] < 0) {
            fprintf(stderr, "start+join with %s failed\n", mproc_start_method_name(method));
            exit(1);
        }
    }
    printf("{\"op\": \"process start+join (%s)\", \"unit\": \"us\", \"mproc\": %.1f, "
           "\"raw\": %.1f, \"method\": \"%s\"}\n",
           mproc_start_method_name(method), median(with_mproc, reps), median(raw, reps),
           mproc_start_method_name(method));
    fflush(stdout);
    free(with_mproc);
    free(raw);
}

/* ==== synchronization: the harness ==========================================================
 * A trial does n operations (or n per child) and returns the microseconds they took,
 * measured around the operations only (process start and exit are outside). */
typedef double (*trial_fn)(int64_t n);

static double target_us = 300000;
static int sync_reps = 5;
static bool verbose; /* --verbose: each run's figures on stderr */

/* The n for which a trial lasts about target_us: tenfold steps until one lasts a tenth of
 * it, then scaled (these first trials also warm caches and the forkserver up). */
static int64_t calibrate(trial_fn trial)
{
    for (int64_t n = 100;; n *= 10) {
        double t = trial(n);
        if (t >= target_us / 10 || n >= (INT64_C(1) << 40)) {
            double scaled = (double)n * target_us / (t > 1 ? t : 1);
            return scaled < 1 ? 1 : (int64_t)scaled;
        }
    }
}

/* One JSON line: the median rate of mproc and of raw (operations per second), runs
 * interleaved. ops_per_n: operations a trial of n does in all (2 for 2 processes doing n
 * each). python: which of run.py's Python figures goes with it. */
static void bench_rate(const char *op, const char *unit, const char *python, int ops_per_n,
                       trial_fn with_mproc, trial_fn raw)
{
    double *m = calloc((size_t)sync_reps, sizeof(double));
    double *r = calloc((size_t)sync_reps, sizeof(double));
    if (!m || !r)
        exit(1);
    int64_t nm = calibrate(with_mproc), nr = calibrate(raw);
    for (int i = 0; i < sync_reps; i++) {
        m[i] = (double)(nm * ops_per_n) * 1e6 / with_mproc(nm);
        r[i] = (double)(nr * ops_per_n) * 1e6 / raw(nr);
        if (verbose)
            fprintf(stderr, "%s: run %d: mproc %.0f (n=%lld), raw %.0f (n=%lld) %s\n", op, i + 1,
                    m[i], (long long)nm, r[i], (long long)nr, unit);
    }
    printf("{\"op\": \"%s\", \"unit\": \"%s\", \"mproc\": %.0f, \"raw\": %.0f, "
           "\"python_bench\": \"%s\", \"seconds\": %.2f, \"reps\": %d}\n",
           op, unit, median(m, sync_reps), median(r, sync_reps), python, target_us / 1e6,
           sync_reps);
    fflush(stdout);
    free(m);
    free(r);
}

/* Starts task in a child process with args (the default start method). */
static mproc_process *start_task(const char *task, const mproc_pack *args)
{
    mproc_process *p;
    MUST(mproc_process_create(&p, &(mproc_process_opts){.target = task, .args = args}));
    MUST(mproc_process_start(p));
    return p;
}

static void join_task(mproc_process *p)
{
    int code = -1;
    MUST(mproc_process_join(p, 120000));
    MUST(mproc_process_exitcode(p, &code));
    if (code != 0) {
        fprintf(stderr, "bench_mproc: child %s ended with %d\n", mproc_process_name(p), code);
        exit(1);
    }
    mproc_process_destroy(p);
}

#ifdef _WIN32
/* Raw children on Windows: this executable again, given inheritable handles by number. */
static SECURITY_ATTRIBUTES inherit = {sizeof(SECURITY_ATTRIBUTES), NULL, TRUE};

static HANDLE raw_spawn(const wchar_t *args)
{
    wchar_t exe[MAX_PATH], cmd[MAX_PATH + 256];
    GetModuleFileNameW(NULL, exe, MAX_PATH);
    _snwprintf(cmd, sizeof cmd / sizeof cmd[0], L"\"%ls\" --raw-child %ls", exe, args);
    STARTUPINFOW si = {0};
    si.cb = sizeof si;
    PROCESS_INFORMATION pi;
    if (!CreateProcessW(exe, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi))
        die("CreateProcessW", 0);
    CloseHandle(pi.hThread);
    return pi.hProcess;
}

static void raw_join(HANDLE process)
{
    DWORD code = 1;
    if (WaitForSingleObject(process, 120000) != WAIT_OBJECT_0 ||
        !GetExitCodeProcess(process, &code) || code != 0)
        die("raw child", 0);
    CloseHandle(process);
}

static HANDLE handle_arg(const char *s)
{
    return (HANDLE)(uintptr_t)strtoull(s, NULL, 10);
}
#else
static void *shared_alloc(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap", 0);
    return p;
}

static void raw_join(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("raw child", 0);
}

static void shared_mutex_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (pthread_mutex_init(m, &a) != 0)
        die("pthread_mutex_init", 0);
    pthread_mutexattr_destroy(&a);
}
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
    mproc_sem *ready;
    mproc_event *go;
    int64_t index, n, how;
    CHILD_MUST(mproc_unpack_init(&u, in));
    CHILD_MUST(mproc_unpack_value(&u, &v));
    CHILD_MUST(mproc_unpack_array(&u, &ends));
    CHILD_MUST(mproc_unpack_sem(&u, &ready));
    CHILD_MUST(mproc_unpack_event(&u, &go));
    CHILD_MUST(mproc_unpack_i64(&u, &index));
    CHILD_MUST(mproc_unpack_i64(&u, &n));
    CHILD_MUST(mproc_unpack_i64(&u, &how));
    CHILD_MUST(mproc_sem_release(ready));
    CHILD_MUST(mproc_event_wait(go, MPROC_FOREVER));
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
    mproc_event_destroy(go);
    mproc_sem_destroy(ready);
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
    mproc_sem *ready;
    mproc_event *go;
    MUST(mproc_value_create(&v, MPROC_T_INT, true));
    MUST(mproc_array_create(&ends, MPROC_T_DOUBLE, 2, false));
    MUST(mproc_sem_create(&ready, 0));
    MUST(mproc_event_create(&go));
    mproc_process *child[2];
    for (int i = 0; i < 2; i++) {
        mproc_pack *args;
        MUST(mproc_pack_create(&args));
        MUST(mproc_pack_handle(args, v));
        MUST(mproc_pack_handle(args, ends));
        MUST(mproc_pack_handle(args, ready));
        MUST(mproc_pack_handle(args, go));
        MUST(mproc_pack_i64(args, i));
        MUST(mproc_pack_i64(args, n));
        MUST(mproc_pack_i64(args, how));
        child[i] = start_task("bench_value_child", args);
        mproc_pack_destroy(args);
    }
    for (int i = 0; i < 2; i++)
        MUST(mproc_sem_acquire(ready, 60000));
    double start = now_us();
    MUST(mproc_event_set(go));
    double end[2];
    int64_t total;
    for (int i = 0; i < 2; i++) {
        join_task(child[i]);
        MUST(mproc_array_get_f64(ends, (size_t)i, &end[i]));
    }
    MUST(mproc_value_get_i64(v, &total));
    if (total != 2 * n) {
        fprintf(stderr, "bench_mproc: locked Value ended at %lld, not %lld\n",
                (long long)total, (long long)(2 * n));
        exit(1);
    }
    mproc_event_destroy(go);
    mproc_sem_destroy(ready);
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
#ifdef _WIN32
    volatile LONG ready, go;
#else
    pthread_mutex_t mutex;
    int ready, go;
#endif
    volatile int value;
    double end[2];
} raw_value_shm;

/* mutex: the Windows mutex (POSIX: unused, the mutex is in s). */
static void raw_value_child_loop(raw_value_shm *s, int index, int64_t n, void *mutex)
{
#ifdef _WIN32
    InterlockedIncrement(&s->ready);
    while (!s->go)
        SwitchToThread();
    for (int64_t i = 0; i < n; i++) {
        if (WaitForSingleObject(mutex, INFINITE) != WAIT_OBJECT_0)
            ExitProcess(1);
        s->value = s->value + 1;
        ReleaseMutex(mutex);
    }
#else
    (void)mutex;
    __atomic_add_fetch(&s->ready, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&s->go, __ATOMIC_ACQUIRE))
        sched_yield();
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
    HANDLE map = CreateFileMappingW(INVALID_HANDLE_VALUE, &inherit, PAGE_READWRITE, 0,
                                    sizeof(raw_value_shm), NULL);
    HANDLE mutex = CreateMutexW(&inherit, FALSE, NULL);
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
    while (s->ready < 2)
        SwitchToThread();
    double start = now_us();
    InterlockedExchange(&s->go, 1);
    for (int i = 0; i < 2; i++)
        raw_join(child[i]);
#else
    raw_value_shm *s = shared_alloc(sizeof *s);
    shared_mutex_init(&s->mutex);
    pid_t child[2];
    for (int i = 0; i < 2; i++) {
        child[i] = fork();
        if (child[i] == 0) {
            raw_value_child_loop(s, i, n, NULL);
            _exit(0);
        }
        if (child[i] < 0)
            die("fork", 0);
    }
    while (__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE) < 2)
        sched_yield();
    double start = now_us();
    __atomic_store_n(&s->go, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 2; i++)
        raw_join(child[i]);
#endif
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

/* ==== 3. Event ping-pong between two processes ===============================================
 * The parent sets ping, waits for pong and clears it; the child waits for ping, clears it
 * and sets pong. A few round trips first (untimed), then n timed ones. */
#define PINGPONG_WARMUP 50

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

static double raw_pingpong_trial(int64_t n)
{
    HANDLE ping = CreateEventW(&inherit, TRUE, FALSE, NULL);
    HANDLE pong = CreateEventW(&inherit, TRUE, FALSE, NULL);
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
    pid_t child = fork();
    if (child == 0) {
        for (int64_t i = 0; i < PINGPONG_WARMUP + n; i++) {
            raw_event_wait(ping);
            raw_event_clear(ping);
            raw_event_set(pong);
        }
        _exit(0);
    }
    if (child < 0)
        die("fork", 0);
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

static void bench_sync(void)
{
    bench_rate("Lock acquire+release (uncontended)", "pairs/s", "lock", 1, mproc_lock_trial,
               raw_lock_trial);
    bench_rate("locked Value, 2 processes: lock; get; set +1; unlock", "increments/s", "value",
               2, mproc_value_get_set_trial, raw_value_trial);
    bench_rate("locked Value, 2 processes: lock; (*data)++; unlock", "increments/s", "value", 2,
               mproc_value_data_trial, raw_value_trial);
    bench_rate("locked Value, 2 processes: mproc_value_add_i64", "increments/s", "value", 2,
               mproc_value_add_trial, raw_value_trial);
    bench_rate("Event ping-pong, 2 processes", "round trips/s", "event", 1,
               mproc_pingpong_trial, raw_pingpong_trial);
    bench_rate("Semaphore acquire+release (uncontended)", "pairs/s", "semaphore", 1,
               mproc_sem_trial, raw_sem_trial);
}

#ifdef _WIN32
/* bench_mproc --raw-child value MAP MUTEX INDEX N | pingpong PING PONG N */
static int raw_child_main(int argc, char **argv)
{
    if (argc == 7 && strcmp(argv[2], "value") == 0) {
        HANDLE map = handle_arg(argv[3]), mutex = handle_arg(argv[4]);
        raw_value_shm *s = MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0);
        if (!s)
            return 1;
        raw_value_child_loop(s, atoi(argv[5]), strtoll(argv[6], NULL, 10), mutex);
        return 0;
    }
    if (argc == 6 && strcmp(argv[2], "pingpong") == 0) {
        raw_pingpong_child_loop(handle_arg(argv[3]), handle_arg(argv[4]),
                                strtoll(argv[5], NULL, 10));
        return 0;
    }
    return 2;
}
#endif

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--raw-exit") == 0)
        return 0;
#ifdef _WIN32
    if (argc > 1 && strcmp(argv[1], "--raw-child") == 0)
        return raw_child_main(argc, argv);
#endif
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    int reps = 50;
    const char *only = NULL;
    for (int i = 1; i < argc;) {
        const char *arg = argv[i++], *val = i < argc ? argv[i] : NULL;
        if (strcmp(arg, "--verbose") == 0) {
            verbose = true;
            continue;
        }
        if (!val) {
            reps = 0;
            break;
        }
        i++;
        if (strcmp(arg, "--reps") == 0)
            reps = atoi(val);
        else if (strcmp(arg, "--sync-reps") == 0)
            sync_reps = atoi(val);
        else if (strcmp(arg, "--seconds") == 0)
            target_us = atof(val) * 1e6;
        else if (strcmp(arg, "--only") == 0 &&
                 (strcmp(val, "start") == 0 || strcmp(val, "sync") == 0))
            only = val;
        else
            reps = 0;
    }
    if (reps < 1 || sync_reps < 1 || !(target_us >= 1000)) {
        fprintf(stderr,
                "usage: %s [--reps N] [--sync-reps N] [--seconds S>=0.001] [--only start|sync] "
                "[--verbose]\n",
                argv[0]);
        return 2;
    }
#ifndef _WIN32
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (n <= 0)
        snprintf(self_path, sizeof self_path, "%s", argv[0]);
#endif
    if (!only || strcmp(only, "start") == 0) {
        bench_start_join(MPROC_FORK, reps);
        bench_start_join(MPROC_SPAWN, reps);
        bench_start_join(MPROC_FORKSERVER, reps);
    }
    if (!only || strcmp(only, "sync") == 0)
        bench_sync();
    return 0;
}
