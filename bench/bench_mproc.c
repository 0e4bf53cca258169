/* The C half of the benchmarks: for each operation, the mproc figure and the raw OS
 * primitive's, as one JSON object per line. bench/run.py adds Python's figures, measured
 * in the same run, and the ratios.
 *
 *   bench_mproc [--reps N] [--sync-reps N] [--seconds S]
 *               [--only start|sync|queue|pipe|pool|threadpool|manager]
 *               [--queue-ring BYTES] [--verbose]
 *       --reps N       process and pool start+join, manager start: median of N repetitions
 *                      (default 50)
 *       --sync-reps N  synchronization, queues, pipes, pool, thread pool and manager rates,
 *                      pool speedup: median of N timed runs (default 5)
 *       --seconds S    synchronization, queues, pipes, pool, thread pool and manager rates:
 *                      length of one timed run (default 0.3)
 *       --queue-ring B queues: the Queue's ring size (default 0: the library's, 16 MiB)
 *       --verbose      all but process start+join: each run's figures on stderr
 *   bench_mproc --raw-exit       (internal) the trivial program for the raw spawn figure
 *   bench_mproc --raw-child ...  (internal, Windows) the child side of a raw figure
 *
 * Process start+join is a time per operation (µs, lower is better). The synchronization,
 * queue and pipe figures are rates (operations, messages, round trips or MB per second,
 * higher is better): each run's count of operations is calibrated so that it lasts about
 * --seconds, then the median of the runs is taken, mproc and raw runs interleaved. The pool
 * has no raw primitive: its rates are tasks per second, its start + close + join a time
 * (ms), and its speedup a ratio (see section 7); nor has the thread pool (section 8), whose
 * rates are tasks per second. The manager (section 9): a dict's set and get operations per
 * second from a child process, one by one and batched, beside a raw request/answer round
 * trip over a socketpair, and a manager's start + shutdown time (ms). */
#ifndef _WIN32
#define _GNU_SOURCE
#endif
#include <math.h>
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
#include <sys/socket.h>
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

/* With calibrate_at_size (the thread pool rows), calibrate's n is then timed once more and
 * scaled from that trial, twice if it was still off by more than 2x: where the first use of
 * a size is much slower than the next (memory the allocator must first get from the system,
 * as for n async handles), the small calibration trials would give runs far shorter than
 * target_us; this trial at full size also warms that memory up. */
static bool calibrate_at_size;

static int64_t calibrate_rate(trial_fn trial)
{
    int64_t n = calibrate(trial);
    for (int i = 0; calibrate_at_size && i < 2; i++) {
        double t = trial(n);
        double scaled = (double)n * target_us / (t > 1 ? t : 1);
        n = scaled < 1 ? 1 : (int64_t)scaled;
        if (t >= target_us / 2 && t <= target_us * 2)
            break;
    }
    return n;
}

/* One JSON line: the median rate of mproc and of raw, runs interleaved. per_n: the units a
 * trial of n does in all (2 operations for 2 processes doing n each; 1.048576 MB for n
 * messages of 1 MiB). python: which of run.py's Python figures goes with it. raw may be
 * NULL (no raw figure: "raw": null); memcpy_ref, when given, is a single-process memcpy
 * reference measured the same way and printed as "memcpy", for information. extra, when
 * given, is more JSON members put in the line ("\"workers\": 2, "). */
static void bench_rate_with(const char *op, const char *unit, const char *python,
                            double per_n, trial_fn with_mproc, trial_fn raw,
                            trial_fn memcpy_ref, const char *extra)
{
    trial_fn fn[3] = {with_mproc, raw, memcpy_ref};
    static const char *const name[3] = {"mproc", "raw", "memcpy"};
    double *rate[3] = {NULL, NULL, NULL};
    int64_t n[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        if (!fn[k])
            continue;
        if (!(rate[k] = calloc((size_t)sync_reps, sizeof(double))))
            exit(1);
        n[k] = calibrate_rate(fn[k]);
    }
    for (int i = 0; i < sync_reps; i++) {
        for (int k = 0; k < 3; k++) {
            if (!fn[k])
                continue;
            rate[k][i] = (double)n[k] * per_n * 1e6 / fn[k](n[k]);
            if (verbose)
                fprintf(stderr, "%s: run %d: %s %.0f %s (n=%lld)\n", op, i + 1, name[k],
                        rate[k][i], unit, (long long)n[k]);
        }
    }
    printf("{\"op\": \"%s\", \"unit\": \"%s\", \"mproc\": %.0f, ", op, unit,
           median(rate[0], sync_reps));
    if (raw)
        printf("\"raw\": %.0f, ", median(rate[1], sync_reps));
    else
        printf("\"raw\": null, ");
    if (memcpy_ref)
        printf("\"memcpy\": %.0f, ", median(rate[2], sync_reps));
    printf("%s\"python_bench\": \"%s\", \"seconds\": %.2f, \"reps\": %d}\n",
           extra ? extra : "", python, target_us / 1e6, sync_reps);
    fflush(stdout);
    for (int k = 0; k < 3; k++)
        free(rate[k]);
}

static void bench_rate(const char *op, const char *unit, const char *python, double per_n,
                       trial_fn with_mproc, trial_fn raw, trial_fn memcpy_ref)
{
    bench_rate_with(op, unit, python, per_n, with_mproc, raw, memcpy_ref, NULL);
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
               raw_lock_trial, NULL);
    bench_rate("locked Value, 2 processes: lock; get; set +1; unlock", "increments/s", "value",
               2, mproc_value_get_set_trial, raw_value_trial, NULL);
    bench_rate("locked Value, 2 processes: lock; (*data)++; unlock", "increments/s", "value", 2,
               mproc_value_data_trial, raw_value_trial, NULL);
    bench_rate("locked Value, 2 processes: mproc_value_add_i64", "increments/s", "value", 2,
               mproc_value_add_trial, raw_value_trial, NULL);
    bench_rate("Event ping-pong, 2 processes", "round trips/s", "event", 1,
               mproc_pingpong_trial, raw_pingpong_trial, NULL);
    bench_rate("Semaphore acquire+release (uncontended)", "pairs/s", "semaphore", 1,
               mproc_sem_trial, raw_sem_trial, NULL);
}

/* ==== 5. Queue: one producer process, one consumer ===========================================
 * The producer (a child) says it is ready, waits for go and puts n messages of `size` bytes,
 * each beginning and ending with its number; the consumer (the parent) starts the clock,
 * says go, gets the n messages, checking each one's length and both numbers, and stops the
 * clock when it has the last. The message bytes are written before the run, so no page is a
 * zero page. */
#define QUEUE_SMALL 64
#define QUEUE_LARGE (1 << 20)
#define QUEUE_TIMEOUT_MS 20000 /* a put or get waiting this long means a message was lost */

static size_t queue_ring; /* --queue-ring: 0, the library's default */

/* Whether message i has size bytes and is numbered i at both ends (else says why). */
static bool message_ok(const void *data, size_t len, int64_t i, size_t size)
{
    int64_t first, last;
    if (len != size || !data) {
        fprintf(stderr, "bench_mproc: message %lld has %zu bytes, not %zu\n", (long long)i,
                len, size);
        return false;
    }
    memcpy(&first, data, sizeof first);
    memcpy(&last, (const uint8_t *)data + size - sizeof last, sizeof last);
    if (first != i || last != i) {
        fprintf(stderr,
                "bench_mproc: message %lld came numbered %lld at its start, %lld at its end\n",
                (long long)i, (long long)first, (long long)last);
        return false;
    }
    return true;
}

static void check_message(const void *data, size_t len, int64_t i, size_t size)
{
    if (!message_ok(data, len, i, size))
        exit(1);
}

/* Numbers a message of size bytes (at least 16) i, at both ends. */
static void number_message(uint8_t *msg, size_t size, int64_t i)
{
    memcpy(msg, &i, sizeof i);
    memcpy(msg + size - sizeof i, &i, sizeof i);
}

/* The copies into fresh buffers go through this, so the compiler cannot drop them (it may
 * drop a malloc + memcpy + free whose bytes it can see are never read). */
static void *(*volatile copy_bytes)(void *, const void *, size_t) = memcpy;

/* A message of size bytes (at least 16), its bytes written; numbered per put. */
static uint8_t *new_message(size_t size)
{
    uint8_t *msg = malloc(size);
    if (msg)
        memset(msg, 0xa5, size);
    return msg;
}

MPROC_TASK(bench_queue_producer, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_queue *q;
    mproc_sem *ready;
    mproc_event *go;
    int64_t n, size, simple;
    CHILD_MUST(mproc_unpack_init(&u, in));
    CHILD_MUST(mproc_unpack_queue(&u, &q));
    CHILD_MUST(mproc_unpack_sem(&u, &ready));
    CHILD_MUST(mproc_unpack_event(&u, &go));
    CHILD_MUST(mproc_unpack_i64(&u, &n));
    CHILD_MUST(mproc_unpack_i64(&u, &size));
    CHILD_MUST(mproc_unpack_i64(&u, &simple));
    uint8_t *msg = new_message((size_t)size);
    if (!msg)
        return 1;
    CHILD_MUST(mproc_sem_release(ready));
    CHILD_MUST(mproc_event_wait(go, MPROC_FOREVER));
    for (int64_t i = 0; i < n; i++) {
        number_message(msg, (size_t)size, i);
        if (simple)
            CHILD_MUST(mproc_simplequeue_put(q, msg, (size_t)size, QUEUE_TIMEOUT_MS));
        else
            CHILD_MUST(mproc_queue_put(q, msg, (size_t)size, QUEUE_TIMEOUT_MS));
    }
    free(msg);
    mproc_event_destroy(go);
    mproc_sem_destroy(ready);
    if (simple)
        mproc_simplequeue_destroy(q);
    else
        mproc_queue_destroy(q);
    return 0;
}

/* A Queue (maxsize 0, the default 16 MiB ring or --queue-ring) or a SimpleQueue. */
static double mproc_queue_run(int64_t n, size_t size, bool simple)
{
    mproc_queue *q;
    mproc_sem *ready;
    mproc_event *go;
    mproc_pack *args;
    if (simple)
        MUST(mproc_simplequeue_create(&q));
    else if (queue_ring == 0)
        MUST(mproc_queue_create(&q, 0));
    else
        MUST(mproc_queue_create_opts(&q, &(mproc_queue_opts){.ring_bytes = queue_ring}));
    MUST(mproc_sem_create(&ready, 0));
    MUST(mproc_event_create(&go));
    MUST(mproc_pack_create(&args));
    MUST(mproc_pack_handle(args, q));
    MUST(mproc_pack_handle(args, ready));
    MUST(mproc_pack_handle(args, go));
    MUST(mproc_pack_i64(args, n));
    MUST(mproc_pack_i64(args, (int64_t)size));
    MUST(mproc_pack_i64(args, simple));
    mproc_process *child = start_task("bench_queue_producer", args);
    mproc_pack_destroy(args);
    MUST(mproc_sem_acquire(ready, 60000));
    double start = now_us();
    MUST(mproc_event_set(go));
    for (int64_t i = 0; i < n; i++) {
        mproc_bytes b;
        int rc = simple ? mproc_simplequeue_get(q, &b, QUEUE_TIMEOUT_MS)
                        : mproc_queue_get(q, &b, QUEUE_TIMEOUT_MS);
        if (rc != 0) {
            fprintf(stderr,
                    "bench_mproc: getting message %lld of %lld (%zu bytes) from a %s failed: "
                    "%s (qsize %lld)\n",
                    (long long)i, (long long)n, size, simple ? "SimpleQueue" : "Queue",
                    mproc_strerror(rc), (long long)mproc_queue_qsize(q));
            exit(1);
        }
        check_message(b.data, b.len, i, size);
        mproc_bytes_free(&b);
    }
    double elapsed = now_us() - start;
    join_task(child);
    mproc_event_destroy(go);
    mproc_sem_destroy(ready);
    if (simple)
        mproc_simplequeue_destroy(q);
    else
        mproc_queue_destroy(q);
    return elapsed;
}

static double mproc_queue_small_trial(int64_t n)
{
    return mproc_queue_run(n, QUEUE_SMALL, false);
}

static double mproc_queue_large_trial(int64_t n)
{
    return mproc_queue_run(n, QUEUE_LARGE, false);
}

static double mproc_simplequeue_small_trial(int64_t n)
{
    return mproc_queue_run(n, QUEUE_SMALL, true);
}

/* Raw: a bare pipe (Windows: an anonymous pipe from CreatePipe, 64 KiB asked for, as Linux's
 * default), a 4-byte length before each message. The producer writes each message with its
 * header in one write; the consumer reads the header, then the message into its receive
 * buffer, and copies it into a fresh buffer (the copies a queue does: into the channel,
 * out of it into the buffer handed over). The Pipe benchmarks use the same run over a
 * socketpair (POSIX; the stream under mproc's Pipe there), Windows the same anonymous pipe. */
#ifdef _WIN32
typedef HANDLE raw_fd;
#else
typedef int raw_fd;
#endif

static bool write_all(raw_fd fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
#ifdef _WIN32
        DWORD done;
        if (!WriteFile(fd, p, len > (1u << 30) ? (1u << 30) : (DWORD)len, &done, NULL))
            return false;
#else
        ssize_t done = write(fd, p, len);
        if (done < 0)
            return false;
#endif
        p += done;
        len -= (size_t)done;
    }
    return true;
}

static bool read_all(raw_fd fd, void *data, size_t len)
{
    uint8_t *p = data;
    while (len > 0) {
#ifdef _WIN32
        DWORD done;
        if (!ReadFile(fd, p, len > (1u << 30) ? (1u << 30) : (DWORD)len, &done, NULL) ||
            done == 0)
            return false;
#else
        ssize_t done = read(fd, p, len);
        if (done <= 0)
            return false;
#endif
        p += done;
        len -= (size_t)done;
    }
    return true;
}

/* The producer's loop: false when a write failed. */
static bool raw_queue_produce(raw_fd fd, int64_t n, size_t size)
{
    uint8_t *frame = new_message(4 + size);
    uint32_t len = (uint32_t)size;
    if (!frame)
        return false;
    memcpy(frame, &len, 4);
    for (int64_t i = 0; i < n; i++) {
        number_message(frame + 4, size, i);
        if (!write_all(fd, frame, 4 + size)) {
            free(frame);
            return false;
        }
    }
    free(frame);
    return true;
}

static void raw_queue_consume(raw_fd fd, int64_t n, size_t size)
{
    uint8_t *buf = malloc(size);
    if (!buf)
        exit(1);
    for (int64_t i = 0; i < n; i++) {
        uint32_t len;
        if (!read_all(fd, &len, 4) || len > size || !read_all(fd, buf, len))
            die("raw pipe read", 0);
        uint8_t *fresh = malloc(len ? len : 1);
        if (!fresh)
            exit(1);
        copy_bytes(fresh, buf, len);
        check_message(fresh, len, i, size);
        free(fresh);
    }
    free(buf);
}

static double raw_queue_run(int64_t n, size_t size, bool socket)
{
#ifdef _WIN32
    HANDLE rd, wr;
    if (!CreatePipe(&rd, &wr, &inherit, 1u << 16))
        die("CreatePipe", 0);
    SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
    HANDLE ready = CreateEventW(&inherit, TRUE, FALSE, NULL);
    HANDLE go = CreateEventW(&inherit, TRUE, FALSE, NULL);
    if (!ready || !go)
        die("CreateEventW", 0);
    (void)socket;
    wchar_t args[160];
    _snwprintf(args, sizeof args / sizeof args[0], L"queue %llu %llu %llu %lld %llu",
               (unsigned long long)(uintptr_t)wr, (unsigned long long)(uintptr_t)ready,
               (unsigned long long)(uintptr_t)go, (long long)n, (unsigned long long)size);
    HANDLE child = raw_spawn(args);
    CloseHandle(wr);
    if (WaitForSingleObject(ready, 60000) != WAIT_OBJECT_0)
        die("raw child ready", 0);
    double start = now_us();
    SetEvent(go);
    raw_queue_consume(rd, n, size);
    double elapsed = now_us() - start;
    raw_join(child);
    CloseHandle(rd);
    CloseHandle(ready);
    CloseHandle(go);
#else
    int fds[2]; /* fds[0] reads, fds[1] writes */
    if (socket ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0 : pipe(fds) != 0)
        die(socket ? "socketpair" : "pipe", 0);
    int *flags = shared_alloc(2 * sizeof(int)), *ready = &flags[0], *go = &flags[1];
    pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        __atomic_store_n(ready, 1, __ATOMIC_RELEASE);
        while (!__atomic_load_n(go, __ATOMIC_ACQUIRE))
            sched_yield();
        _exit(raw_queue_produce(fds[1], n, size) ? 0 : 1);
    }
    if (child < 0)
        die("fork", 0);
    close(fds[1]);
    while (!__atomic_load_n(ready, __ATOMIC_ACQUIRE))
        sched_yield();
    double start = now_us();
    __atomic_store_n(go, 1, __ATOMIC_RELEASE);
    raw_queue_consume(fds[0], n, size);
    double elapsed = now_us() - start;
    raw_join(child);
    close(fds[0]);
    munmap(flags, 2 * sizeof(int));
#endif
    return elapsed;
}

static double raw_queue_small_trial(int64_t n)
{
    return raw_queue_run(n, QUEUE_SMALL, false);
}

static double raw_queue_large_trial(int64_t n)
{
    return raw_queue_run(n, QUEUE_LARGE, false);
}

/* For information: one process copying 1 MiB messages into fresh buffers, no channel. */
static double memcpy_large_trial(int64_t n)
{
    uint8_t *src = new_message(QUEUE_LARGE);
    if (!src)
        exit(1);
    double start = now_us();
    for (int64_t i = 0; i < n; i++) {
        number_message(src, QUEUE_LARGE, i);
        uint8_t *fresh = malloc(QUEUE_LARGE);
        if (!fresh)
            exit(1);
        copy_bytes(fresh, src, QUEUE_LARGE);
        check_message(fresh, QUEUE_LARGE, i, QUEUE_LARGE);
        free(fresh);
    }
    double elapsed = now_us() - start;
    free(src);
    return elapsed;
}

static void bench_queue(void)
{
    bench_rate("Queue 64-byte messages, producer -> consumer process", "messages/s", "queue64",
               1, mproc_queue_small_trial, raw_queue_small_trial, NULL);
    bench_rate("Queue 1 MiB messages, producer -> consumer process", "MB/s", "queue1m",
               QUEUE_LARGE / 1e6, mproc_queue_large_trial, raw_queue_large_trial,
               memcpy_large_trial);
    bench_rate("SimpleQueue 64-byte messages, producer -> consumer process", "messages/s",
               "simplequeue64", 1, mproc_simplequeue_small_trial, NULL, NULL);
}

/* ==== 6. Pipe: one way, and ping-pong ========================================================
 * One way: mproc_pipe(duplex=false); the writer (a child, given the sending end) says it is
 * ready, waits for go, sends n messages of `size` bytes, each numbered at both ends, and
 * closes its end; the reader (the parent) starts the clock, says go, receives the n messages,
 * checking each one's length and both numbers, and stops the clock when it has the last;
 * then it must see the end (MPROC_ECLOSED). Ping-pong: a duplex pipe; the parent sends a
 * 64-byte message numbered i, the child receives and checks it and sends it back, and the
 * parent receives and checks it: PINGPONG_WARMUP round trips untimed (the child starting up),
 * then n timed. The child then must see the end. */
#define PIPE_SMALL 64
#define PIPE_LARGE (1 << 20)
#define PIPE_TIMEOUT_MS 20000 /* a send or recv waiting this long means a message was lost */

/* Receives message i of n on c and checks it; exits saying what failed. */
static void pipe_recv_checked(mproc_conn *c, int64_t i, int64_t n, size_t size)
{
    mproc_bytes b;
    int rc = mproc_conn_recv(c, &b, PIPE_TIMEOUT_MS);
    if (rc != 0) {
        fprintf(stderr,
                "bench_mproc: receiving message %lld of %lld (%zu bytes) from a Pipe failed: "
                "%s\n",
                (long long)i, (long long)n, size, mproc_strerror(rc));
        exit(1);
    }
    check_message(b.data, b.len, i, size);
    mproc_bytes_free(&b);
}

/* After the last message, a recv must give MPROC_ECLOSED (the other end closed). */
static int pipe_recv_end(mproc_conn *c)
{
    mproc_bytes b;
    int rc = mproc_conn_recv(c, &b, PIPE_TIMEOUT_MS);
    if (rc == 0) {
        fprintf(stderr, "bench_mproc: a Pipe gave a message of %zu bytes after the last\n",
                b.len);
        mproc_bytes_free(&b);
        return -1;
    }
    if (rc != MPROC_ECLOSED) {
        fprintf(stderr, "bench_mproc: after the last message a Pipe gave %s, not its end\n",
                mproc_strerror(rc));
        return rc;
    }
    return 0;
}

MPROC_TASK(bench_pipe_writer, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_conn *w;
    mproc_sem *ready;
    mproc_event *go;
    int64_t n, size;
    CHILD_MUST(mproc_unpack_init(&u, in));
    CHILD_MUST(mproc_unpack_conn(&u, &w));
    CHILD_MUST(mproc_unpack_sem(&u, &ready));
    CHILD_MUST(mproc_unpack_event(&u, &go));
    CHILD_MUST(mproc_unpack_i64(&u, &n));
    CHILD_MUST(mproc_unpack_i64(&u, &size));
    uint8_t *msg = new_message((size_t)size);
    if (!msg)
        return 1;
    CHILD_MUST(mproc_sem_release(ready));
    CHILD_MUST(mproc_event_wait(go, MPROC_FOREVER));
    for (int64_t i = 0; i < n; i++) {
        number_message(msg, (size_t)size, i);
        CHILD_MUST(mproc_conn_send(w, msg, (size_t)size, PIPE_TIMEOUT_MS));
    }
    free(msg);
    mproc_conn_close(w);
    mproc_event_destroy(go);
    mproc_sem_destroy(ready);
    return 0;
}

static double mproc_pipe_oneway_run(int64_t n, size_t size)
{
    mproc_conn *r, *w;
    mproc_sem *ready;
    mproc_event *go;
    mproc_pack *args;
    MUST(mproc_pipe(&r, &w, false)); /* r reads, w writes */
    MUST(mproc_sem_create(&ready, 0));
    MUST(mproc_event_create(&go));
    MUST(mproc_pack_create(&args));
    MUST(mproc_pack_handle(args, w));
    MUST(mproc_pack_handle(args, ready));
    MUST(mproc_pack_handle(args, go));
    MUST(mproc_pack_i64(args, n));
    MUST(mproc_pack_i64(args, (int64_t)size));
    mproc_process *child = start_task("bench_pipe_writer", args);
    mproc_conn_close(w); /* the child's end: only the child's copy is left */
    mproc_pack_destroy(args);
    MUST(mproc_sem_acquire(ready, 60000));
    double start = now_us();
    MUST(mproc_event_set(go));
    for (int64_t i = 0; i < n; i++)
        pipe_recv_checked(r, i, n, size);
    double elapsed = now_us() - start;
    MUST(pipe_recv_end(r));
    join_task(child);
    mproc_conn_close(r);
    mproc_event_destroy(go);
    mproc_sem_destroy(ready);
    return elapsed;
}

static double mproc_pipe_small_trial(int64_t n)
{
    return mproc_pipe_oneway_run(n, PIPE_SMALL);
}

static double mproc_pipe_large_trial(int64_t n)
{
    return mproc_pipe_oneway_run(n, PIPE_LARGE);
}

static double raw_pipe_small_trial(int64_t n)
{
    return raw_queue_run(n, PIPE_SMALL, true);
}

static double raw_pipe_large_trial(int64_t n)
{
    return raw_queue_run(n, PIPE_LARGE, true);
}

MPROC_TASK(bench_pipe_echo, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_conn *c;
    int64_t n;
    CHILD_MUST(mproc_unpack_init(&u, in));
    CHILD_MUST(mproc_unpack_conn(&u, &c));
    CHILD_MUST(mproc_unpack_i64(&u, &n));
    for (int64_t i = 0; i < n; i++) {
        mproc_bytes b;
        CHILD_MUST(mproc_conn_recv(c, &b, PIPE_TIMEOUT_MS));
        if (!message_ok(b.data, b.len, i, PIPE_SMALL))
            return 1;
        CHILD_MUST(mproc_conn_send(c, b.data, b.len, PIPE_TIMEOUT_MS));
        mproc_bytes_free(&b);
    }
    CHILD_MUST(pipe_recv_end(c));
    mproc_conn_close(c);
    return 0;
}

static double mproc_pipe_pingpong_trial(int64_t n)
{
    mproc_conn *a, *b;
    mproc_pack *args;
    MUST(mproc_pipe(&a, &b, true));
    MUST(mproc_pack_create(&args));
    MUST(mproc_pack_handle(args, b));
    MUST(mproc_pack_i64(args, PINGPONG_WARMUP + n));
    mproc_process *child = start_task("bench_pipe_echo", args);
    mproc_conn_close(b);
    mproc_pack_destroy(args);
    uint8_t *msg = new_message(PIPE_SMALL);
    if (!msg)
        exit(1);
    double start = 0;
    for (int64_t i = 0; i < PINGPONG_WARMUP + n; i++) {
        if (i == PINGPONG_WARMUP)
            start = now_us();
        number_message(msg, PIPE_SMALL, i);
        int rc = mproc_conn_send(a, msg, PIPE_SMALL, PIPE_TIMEOUT_MS);
        if (rc != 0)
            die("mproc_conn_send (ping)", rc);
        pipe_recv_checked(a, i, PINGPONG_WARMUP + n, PIPE_SMALL);
    }
    double elapsed = now_us() - start;
    free(msg);
    mproc_conn_close(a); /* the child's last recv sees the end */
    join_task(child);
    return elapsed;
}

/* Raw ping-pong: a bare socketpair, blocking, 64 bytes each way and no header (Windows: a
 * duplex named pipe, synchronous); the child is forked (Windows: this executable again). */
static bool raw_echo_loop(raw_fd fd, int64_t n)
{
    uint8_t buf[PIPE_SMALL];
    for (int64_t i = 0; i < n; i++)
        if (!read_all(fd, buf, sizeof buf) || !message_ok(buf, sizeof buf, i, sizeof buf) ||
            !write_all(fd, buf, sizeof buf))
            return false;
    return true;
}

#ifdef _WIN32
/* A duplex named pipe (synchronous, byte mode) between this process and a child (this
 * executable again: `--raw-child KIND PIPE-END TOTAL`); *mine receives this process's end. */
static HANDLE raw_duplex_spawn(const wchar_t *kind, int64_t total, HANDLE *mine)
{
    static LONG serial;
    wchar_t name[96];
    _snwprintf(name, sizeof name / sizeof name[0], L"\\\\.\\pipe\\bench_mproc_%lu_%ld",
               (unsigned long)GetCurrentProcessId(), (long)InterlockedIncrement(&serial));
    HANDLE fd = CreateNamedPipeW(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE,
                                 PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT |
                                     PIPE_REJECT_REMOTE_CLIENTS,
                                 1, 1u << 16, 1u << 16, 0, NULL);
    if (fd == INVALID_HANDLE_VALUE)
        die("CreateNamedPipeW", 0);
    HANDLE other = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, &inherit, OPEN_EXISTING,
                               0, NULL);
    if (other == INVALID_HANDLE_VALUE)
        die("CreateFileW (pipe client)", 0);
    if (!ConnectNamedPipe(fd, NULL) && GetLastError() != ERROR_PIPE_CONNECTED)
        die("ConnectNamedPipe", 0);
    wchar_t args[96];
    _snwprintf(args, sizeof args / sizeof args[0], L"%ls %llu %lld", kind,
               (unsigned long long)(uintptr_t)other, (long long)total);
    HANDLE child = raw_spawn(args);
    CloseHandle(other);
    *mine = fd;
    return child;
}
#endif

static double raw_pipe_pingpong_trial(int64_t n)
{
    int64_t total = PINGPONG_WARMUP + n;
#ifdef _WIN32
    HANDLE fd;
    HANDLE child = raw_duplex_spawn(L"echo", total, &fd);
#else
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
        die("socketpair", 0);
    pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        _exit(raw_echo_loop(fds[1], total) ? 0 : 1);
    }
    if (child < 0)
        die("fork", 0);
    close(fds[1]);
    int fd = fds[0];
#endif
    uint8_t *msg = new_message(PIPE_SMALL), buf[PIPE_SMALL];
    if (!msg)
        exit(1);
    double start = 0;
    for (int64_t i = 0; i < total; i++) {
        if (i == PINGPONG_WARMUP)
            start = now_us();
        number_message(msg, PIPE_SMALL, i);
        if (!write_all(fd, msg, PIPE_SMALL) || !read_all(fd, buf, sizeof buf))
            die("raw ping-pong write/read", 0);
        check_message(buf, sizeof buf, i, PIPE_SMALL);
    }
    double elapsed = now_us() - start;
    free(msg);
#ifdef _WIN32
    CloseHandle(fd);
#else
    close(fd);
#endif
    raw_join(child);
    return elapsed;
}

static void bench_pipe(void)
{
    bench_rate("Pipe 64-byte messages, one way, writer -> reader process", "messages/s",
               "pipe64", 1, mproc_pipe_small_trial, raw_pipe_small_trial, NULL);
    bench_rate("Pipe 1 MiB messages, one way, writer -> reader process", "MB/s", "pipe1m",
               PIPE_LARGE / 1e6, mproc_pipe_large_trial, raw_pipe_large_trial, NULL);
    bench_rate("Pipe ping-pong, 64-byte messages, duplex, 2 processes", "round trips/s",
               "pipepingpong", 1, mproc_pipe_pingpong_trial, raw_pipe_pingpong_trial, NULL);
}

/* ==== 7. Pool ================================================================================
 * Rows 1-4 go through one pool of N workers (N = usable CPUs, the default start method),
 * started before and closed after them; a trial does n tiny tasks, x*x of an int64 (the
 * task bench_square), and the clock runs around the pool calls only: the items' pack is
 * made before, and map's results are checked after. Every result is checked. Row 5 times a
 * whole Pool(N) start + close + join (printed first, measured while this process is still
 * small); row 6 is the speedup of N workers over one on a CPU-bound task. */
#define POOL_TIMEOUT_MS 60000 /* a pool call waiting this long means a task was lost */
#define POOL_TASK_US 20000    /* row 6: the CPU-bound task's length */

static mproc_pool *tiny_pool; /* rows 1-4 */
static int pool_workers;      /* N */

MPROC_TASK(bench_square, in, out)
{
    mproc_unpacker u;
    int64_t x;
    if (mproc_unpack_init(&u, in) != 0 || mproc_unpack_i64(&u, &x) != 0)
        return mproc_task_fail(out, "bench_square: no int64 argument");
    int64_t *r = mproc_malloc(sizeof *r);
    if (!r)
        return 1;
    *r = x * x;
    out->data = r;
    out->len = sizeof *r;
    return 0;
}

/* Exits saying what failed; the pool's error text, when there is one, is in *result. */
static void pool_failed(const char *what, int rc, const mproc_bytes *result)
{
    const char *text = (rc == MPROC_ETASK || rc == MPROC_EWORKER || rc == MPROC_ECLOSED) &&
                               result && result->data && result->len
                           ? result->data
                           : NULL;
    fprintf(stderr, "bench_mproc: %s failed: %s%s%s%s\n", what, mproc_strerror(rc),
            text ? " (" : "", text ? text : "", text ? ")" : "");
    exit(1);
}

/* The int64 a task returned (8 bytes), or exits saying what came instead. */
static int64_t pool_result_i64(const mproc_bytes *r, const char *what, int64_t i)
{
    int64_t v;
    if (!r->data || r->len != sizeof v) {
        fprintf(stderr, "bench_mproc: %s: result %lld has %zu bytes, not 8\n", what,
                (long long)i, r->len);
        exit(1);
    }
    memcpy(&v, r->data, sizeof v);
    return v;
}

static void check_square(const mproc_bytes *r, int64_t x, const char *what)
{
    int64_t v = pool_result_i64(r, what, x);
    if (v != x * x) {
        fprintf(stderr, "bench_mproc: %s: the result for %lld is %lld, not %lld\n", what,
                (long long)x, (long long)v, (long long)(x * x));
        exit(1);
    }
}

/* range(n) as the fields of one pack. */
static mproc_pack *range_pack(int64_t n)
{
    mproc_pack *items;
    MUST(mproc_pack_create(&items));
    for (int64_t i = 0; i < n; i++)
        MUST(mproc_pack_i64(items, i));
    return items;
}

/* Rows 1 and 2: map(square, range(n), chunksize). */
static double pool_map_run(int64_t n, size_t chunksize)
{
    mproc_pack *items = range_pack(n);
    mproc_bytes *results = calloc((size_t)n, sizeof *results);
    if (!results)
        exit(1);
    double start = now_us();
    int rc = mproc_pool_map(tiny_pool, "bench_square", items, results, (size_t)n, chunksize,
                            POOL_TIMEOUT_MS);
    double elapsed = now_us() - start;
    if (rc != 0)
        pool_failed("mproc_pool_map", rc, results);
    for (int64_t i = 0; i < n; i++)
        check_square(&results[i], i, "mproc_pool_map");
    mproc_bytes_free_array(results, (size_t)n);
    free(results);
    mproc_pack_destroy(items);
    return elapsed;
}

static double pool_map_chunk1_trial(int64_t n)
{
    return pool_map_run(n, 1);
}

static double pool_map_auto_trial(int64_t n)
{
    return pool_map_run(n, 0);
}

/* Row 3: imap_unordered(square, range(n), 1), every result taken and checked as it comes:
 * it must be the square of a number below n not seen before (n results: all of them). */
static double pool_imap_unordered_trial(int64_t n)
{
    mproc_pack *items = range_pack(n);
    uint8_t *seen = calloc((size_t)n, 1);
    if (!seen)
        exit(1);
    mproc_iter *it;
    double start = now_us();
    int rc = mproc_pool_imap_unordered(tiny_pool, "bench_square", items, 1, &it);
    if (rc != 0)
        pool_failed("mproc_pool_imap_unordered", rc, NULL);
    for (int64_t i = 0; i < n; i++) {
        mproc_bytes r = {0};
        rc = mproc_iter_next(it, &r, POOL_TIMEOUT_MS);
        if (rc != 1) {
            fprintf(stderr, "bench_mproc: imap_unordered: result %lld of %lld: ", (long long)i,
                    (long long)n);
            pool_failed("mproc_iter_next", rc == 0 ? MPROC_ECLOSED : rc, &r);
        }
        int64_t v = pool_result_i64(&r, "imap_unordered", i);
        int64_t x = v >= 0 ? (int64_t)sqrt((double)v) : -1; /* exact below 2^52 */
        if (x < 0 || x >= n || x * x != v || seen[x]) {
            fprintf(stderr,
                    "bench_mproc: imap_unordered: result %lld is %lld: not the square of a "
                    "new number below %lld\n",
                    (long long)i, (long long)v, (long long)n);
            exit(1);
        }
        seen[x] = 1;
        mproc_bytes_free(&r);
    }
    double elapsed = now_us() - start;
    mproc_bytes r = {0};
    if ((rc = mproc_iter_next(it, &r, POOL_TIMEOUT_MS)) != 0) {
        fprintf(stderr, "bench_mproc: imap_unordered gave %s after the last result\n",
                rc == 1 ? "a result" : mproc_strerror(rc));
        exit(1);
    }
    mproc_iter_destroy(it);
    free(seen);
    mproc_pack_destroy(items);
    return elapsed;
}

/* Row 4: n apply_async(square, (i,)), then the get of each, in order. */
static double pool_apply_async_trial(int64_t n)
{
    mproc_async **calls = malloc((size_t)n * sizeof *calls);
    mproc_pack *args;
    if (!calls)
        exit(1);
    MUST(mproc_pack_create(&args));
    double start = now_us();
    for (int64_t i = 0; i < n; i++) {
        int rc = mproc_pack_reset(args);
        if (rc == 0)
            rc = mproc_pack_i64(args, i);
        if (rc == 0)
            rc = mproc_pool_apply_async(tiny_pool, "bench_square", args, NULL, &calls[i]);
        if (rc != 0)
            pool_failed("mproc_pool_apply_async", rc, NULL);
    }
    for (int64_t i = 0; i < n; i++) {
        mproc_bytes r = {0};
        int rc = mproc_async_get(calls[i], &r, POOL_TIMEOUT_MS);
        if (rc != 0)
            pool_failed("mproc_async_get", rc, &r);
        check_square(&r, i, "apply_async");
        mproc_bytes_free(&r);
        mproc_async_destroy(calls[i]);
    }
    double elapsed = now_us() - start;
    mproc_pack_destroy(args);
    free(calls);
    return elapsed;
}

/* Row 5: one Pool(workers) start + close + join under ctx; milliseconds. */
static double pool_start_ms(mproc_context *ctx, int workers)
{
    mproc_pool *p;
    double start = now_us();
    int rc = mproc_pool_create(&p, &(mproc_pool_opts){.processes = workers, .ctx = ctx});
    if (rc != 0)
        pool_failed("mproc_pool_create", rc, NULL);
    if ((rc = mproc_pool_close(p)) != 0)
        pool_failed("mproc_pool_close", rc, NULL);
    if ((rc = mproc_pool_join(p, POOL_TIMEOUT_MS)) != 0)
        pool_failed("mproc_pool_join", rc, NULL);
    double elapsed = now_us() - start;
    mproc_pool_destroy(p);
    return elapsed / 1e3;
}

static void bench_pool_start(mproc_start_method method, int reps)
{
    mproc_context *ctx;
    if (!mproc_start_method_available(method) || mproc_context_get(&ctx, method) != 0)
        return;
    double *ms = calloc((size_t)reps, sizeof(double));
    if (!ms)
        exit(1);
    pool_start_ms(ctx, pool_workers); /* warm-up: the forkserver starts here */
    for (int i = 0; i < reps; i++) {
        ms[i] = pool_start_ms(ctx, pool_workers);
        if (verbose)
            fprintf(stderr, "pool start+close+join (%s): run %d: %.2f ms\n",
                    mproc_start_method_name(method), i + 1, ms[i]);
    }
    const char *name = mproc_start_method_name(method);
    printf("{\"op\": \"Pool(%d) start + close + join (%s%s)\", \"unit\": \"ms\", "
           "\"mproc\": %.2f, \"raw\": null, \"method\": \"%s\", \"workers\": %d, "
           "\"python_bench\": \"poolstart\", \"reps\": %d}\n",
           pool_workers, name, method == mproc_get_start_method() ? ", mproc's default" : "",
           median(ms, reps), name, pool_workers, reps);
    fflush(stdout);
    free(ms);
}

/* Row 6: integer work (xorshift64) that no compiler shortens; the same in the parent and in
 * the workers, so the parent knows each task's result. */
static uint64_t spin(int64_t iters)
{
    uint64_t x = UINT64_C(0x9e3779b97f4a7c15);
    for (int64_t i = 0; i < iters; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

MPROC_TASK(bench_spin, in, out)
{
    mproc_unpacker u;
    int64_t iters;
    if (mproc_unpack_init(&u, in) != 0 || mproc_unpack_i64(&u, &iters) != 0)
        return mproc_task_fail(out, "bench_spin: no int64 argument");
    uint64_t *r = mproc_malloc(sizeof *r);
    if (!r)
        return 1;
    *r = spin(iters);
    out->data = r;
    out->len = sizeof *r;
    return 0;
}

/* The CPU time of this thread, µs (Windows: the clock, GetThreadTimes being too coarse). */
static double cpu_now_us(void)
{
#ifdef _WIN32
    return now_us();
#else
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
#endif
}

/* The CPU time of spin(iters) in this thread: the least of 3 runs, so other processes on
 * the machine count as little as can be (*result: its result). */
static double spin_us(int64_t iters, uint64_t *result)
{
    double best = 0;
    for (int i = 0; i < 3; i++) {
        double start = cpu_now_us();
        *result = spin(iters);
        double t = cpu_now_us() - start;
        if (i == 0 || t < best)
            best = t;
    }
    return best;
}

/* map(spin, [iters] * tasks, chunksize 1) on p; microseconds. Every result is checked. */
static double pool_spin_run(mproc_pool *p, const mproc_pack *items, int64_t tasks,
                            uint64_t expected)
{
    mproc_bytes *results = calloc((size_t)tasks, sizeof *results);
    if (!results)
        exit(1);
    double start = now_us();
    int rc = mproc_pool_map(p, "bench_spin", items, results, (size_t)tasks, 1,
                            POOL_TIMEOUT_MS);
    double elapsed = now_us() - start;
    if (rc != 0)
        pool_failed("mproc_pool_map (bench_spin)", rc, results);
    for (int64_t i = 0; i < tasks; i++)
        if ((uint64_t)pool_result_i64(&results[i], "bench_spin", i) != expected) {
            fprintf(stderr, "bench_mproc: bench_spin: result %lld is wrong\n", (long long)i);
            exit(1);
        }
    mproc_bytes_free_array(results, (size_t)tasks);
    free(results);
    return elapsed;
}

/* T1 / TN: the same 4N tasks (at least 8) of POOL_TASK_US each, on Pool(1) and on Pool(N),
 * runs interleaved; the medians of sync_reps runs. */
static void bench_pool_speedup(void)
{
    /* Calibrate the task: iterations for POOL_TASK_US of CPU time in this process. */
    int64_t iters = 1 << 16;
    uint64_t expected;
    double t;
    while ((t = spin_us(iters, &expected)) < POOL_TASK_US / 4.0)
        iters *= 2;
    for (int i = 0; i < 2; i++) { /* scaled, then scaled again from that length */
        iters = (int64_t)((double)iters * POOL_TASK_US / t);
        t = spin_us(iters, &expected);
    }
    double task_us = t;
    int64_t tasks = 4 * (int64_t)pool_workers < 8 ? 8 : 4 * (int64_t)pool_workers;
    mproc_pack *items;
    MUST(mproc_pack_create(&items));
    for (int64_t i = 0; i < tasks; i++)
        MUST(mproc_pack_i64(items, iters));
    mproc_pool *one, *all;
    int rc = mproc_pool_create(&one, &(mproc_pool_opts){.processes = 1});
    if (rc == 0)
        rc = mproc_pool_create(&all, &(mproc_pool_opts){.processes = pool_workers});
    if (rc != 0)
        pool_failed("mproc_pool_create", rc, NULL);
    double *t1 = calloc((size_t)sync_reps, sizeof(double));
    double *tn = calloc((size_t)sync_reps, sizeof(double));
    if (!t1 || !tn)
        exit(1);
    pool_spin_run(one, items, tasks, expected); /* warm-up: every worker up */
    pool_spin_run(all, items, tasks, expected);
    for (int i = 0; i < sync_reps; i++) {
        t1[i] = pool_spin_run(one, items, tasks, expected);
        tn[i] = pool_spin_run(all, items, tasks, expected);
        if (verbose)
            fprintf(stderr, "CPU-bound speedup: run %d: Pool(1) %.1f ms, Pool(%d) %.1f ms\n",
                    i + 1, t1[i] / 1e3, pool_workers, tn[i] / 1e3);
    }
    double m1 = median(t1, sync_reps), mn = median(tn, sync_reps);
    printf("{\"op\": \"CPU-bound speedup: %lld tasks of %.0f ms, Pool(1) time / Pool(%d) "
           "time\", \"unit\": \"x\", \"mproc\": %.2f, \"raw\": null, \"workers\": %d, "
           "\"tasks\": %lld, \"task_ms\": %.1f, \"t1_ms\": %.1f, \"tn_ms\": %.1f, "
           "\"python_bench\": \"poolspeedup\", \"reps\": %d}\n",
           (long long)tasks, task_us / 1e3, pool_workers, m1 / mn, pool_workers,
           (long long)tasks, task_us / 1e3, m1 / 1e3, mn / 1e3, sync_reps);
    fflush(stdout);
    free(t1);
    free(tn);
    MUST(mproc_pool_close(one));
    MUST(mproc_pool_close(all));
    MUST(mproc_pool_join(one, POOL_TIMEOUT_MS));
    MUST(mproc_pool_join(all, POOL_TIMEOUT_MS));
    mproc_pool_destroy(one);
    mproc_pool_destroy(all);
    mproc_pack_destroy(items);
}

static void bench_pool(int reps)
{
    pool_workers = mproc_cpu_count_usable();
    if (pool_workers < 1)
        pool_workers = 1;
    /* Row 5 first, while this process is small (a fork copies its page tables): the default
     * start method, then fork where it is not the default. */
    mproc_start_method dflt = mproc_get_start_method();
    bench_pool_start(dflt, reps);
    if (dflt != MPROC_FORK)
        bench_pool_start(MPROC_FORK, reps);
    int rc = mproc_pool_create(&tiny_pool, &(mproc_pool_opts){.processes = pool_workers});
    if (rc != 0)
        pool_failed("mproc_pool_create", rc, NULL);
    pool_map_run(4 * pool_workers, 1); /* every worker up */
    char extra[64];
    snprintf(extra, sizeof extra, "\"workers\": %d, ", pool_workers);
    char op[4][128];
    snprintf(op[0], sizeof op[0], "Pool(%d).map, tiny tasks (x*x), chunksize 1", pool_workers);
    snprintf(op[1], sizeof op[1], "Pool(%d).map, tiny tasks (x*x), automatic chunksize",
             pool_workers);
    snprintf(op[2], sizeof op[2], "Pool(%d).imap_unordered, tiny tasks (x*x), chunksize 1",
             pool_workers);
    snprintf(op[3], sizeof op[3], "Pool(%d).apply_async x n, then get each, tiny tasks (x*x)",
             pool_workers);
    bench_rate_with(op[0], "tasks/s", "poolmap1", 1, pool_map_chunk1_trial, NULL, NULL, extra);
    bench_rate_with(op[1], "tasks/s", "poolmapauto", 1, pool_map_auto_trial, NULL, NULL,
                    extra);
    bench_rate_with(op[2], "tasks/s", "poolimapunordered", 1, pool_imap_unordered_trial, NULL,
                    NULL, extra);
    bench_rate_with(op[3], "tasks/s", "poolapplyasync", 1, pool_apply_async_trial, NULL, NULL,
                    extra);
    MUST(mproc_pool_close(tiny_pool));
    MUST(mproc_pool_join(tiny_pool, POOL_TIMEOUT_MS));
    mproc_pool_destroy(tiny_pool);
    tiny_pool = NULL;
    bench_pool_speedup();
}

/* ==== 8. ThreadPool ==========================================================================
 * The same tiny tasks through mproc's thread pool (mproc_threadpool_create: N worker threads
 * of this process, N = usable CPUs), started before and closed after its rows; run.py puts
 * Python's multiprocessing.dummy.Pool(N) and concurrent.futures.ThreadPoolExecutor(N) beside
 * each row. The trials are rows 1, 2 and 4 of section 7 on this pool: every result is
 * checked. Calibration ends with a trial at full size (calibrate_at_size). */
static void bench_threadpool(void)
{
    pool_workers = mproc_cpu_count_usable();
    if (pool_workers < 1)
        pool_workers = 1;
    int rc = mproc_threadpool_create(&tiny_pool, &(mproc_pool_opts){.processes = pool_workers});
    if (rc != 0)
        pool_failed("mproc_threadpool_create", rc, NULL);
    if (mproc_pool_size(tiny_pool) != pool_workers) {
        fprintf(stderr, "bench_mproc: the thread pool has %d workers, not %d\n",
                mproc_pool_size(tiny_pool), pool_workers);
        exit(1);
    }
    pool_map_run(4 * pool_workers, 1); /* every worker up */
    calibrate_at_size = true;
    char extra[64];
    snprintf(extra, sizeof extra, "\"workers\": %d, ", pool_workers);
    char op[3][128];
    snprintf(op[0], sizeof op[0], "ThreadPool(%d).map, tiny tasks (x*x), chunksize 1",
             pool_workers);
    snprintf(op[1], sizeof op[1], "ThreadPool(%d).map, tiny tasks (x*x), automatic chunksize",
             pool_workers);
    snprintf(op[2], sizeof op[2],
             "ThreadPool(%d).apply_async x n, then get each, tiny tasks (x*x)", pool_workers);
    bench_rate_with(op[0], "tasks/s", "threadmap1", 1, pool_map_chunk1_trial, NULL, NULL,
                    extra);
    bench_rate_with(op[1], "tasks/s", "threadmapauto", 1, pool_map_auto_trial, NULL, NULL,
                    extra);
    bench_rate_with(op[2], "tasks/s", "threadapplyasync", 1, pool_apply_async_trial, NULL,
                    NULL, extra);
    calibrate_at_size = false;
    MUST(mproc_pool_close(tiny_pool));
    MUST(mproc_pool_join(tiny_pool, POOL_TIMEOUT_MS));
    mproc_pool_destroy(tiny_pool);
    tiny_pool = NULL;
}

/* ==== 9. Manager =============================================================================
 * Rows 1 and 2 go through one manager (mproc_manager_start, the default start method) and
 * one dict in it, made before and shut down after them. A trial starts a child process (the
 * default start method) with the dict's proxy and a shared double in its args pack. The
 * child makes PINGPONG_WARMUP set+get pairs untimed (its first call connects to the server
 * and authenticates), then times n x (d[k] = v_i; d[k]) with an 8-byte key and an 8-byte
 * value (v_i: i, 8 bytes little endian), checking each get's value, and writes the
 * microseconds into the shared double, which the parent reads after joining it (and then
 * checks that the dict holds v_(n-1)). One operation is one set or one get: a trial of n
 * does 2n. Row 1 calls one by one; row 2 puts each MANAGER_BATCH pairs between
 * mproc_batch_begin and mproc_batch_end (one round trip each batch) and checks each get's
 * output after the end.
 * Raw for both: a blocking socketpair (Windows: a duplex named pipe, synchronous) between
 * this process and a forked child (Windows: this executable again) that answers each
 * MANAGER_RAW_REQUEST-byte request with a MANAGER_RAW_ANSWER-byte answer, both numbered and
 * checked, no header: n x 2 round trips, one operation per round trip, the floor a round
 * trip to a server can reach.
 * Row 0, printed first in the section (a fork copies the page tables of this process, which
 * grow with the rows before): a whole Manager start + one dict + shutdown + destroy, in ms
 * (median of --reps), under mproc's default start method beside Python under its own
 * default, then fork beside fork (POSIX, where fork is not mproc's default). */
#define MANAGER_TIMEOUT_MS 20000 /* a batch or raw round trip waiting this long: lost */
#define MANAGER_BATCH 100        /* row 2: set+get pairs per batch */
#define MANAGER_RAW_REQUEST 32
#define MANAGER_RAW_ANSWER 16

static const char manager_key[8] = {'b', 'e', 'n', 'c', 'h', 'k', 'e', 'y'};
static mproc_mdict *bench_dict; /* rows 1 and 2 */

/* Whether a get gave the 8 bytes of v (else says what came instead). */
static bool mdict_value_ok(const mproc_bytes *b, int64_t v)
{
    int64_t got;
    if (!b->data || b->len != sizeof got) {
        fprintf(stderr, "bench_mproc: mdict get %lld gave %zu bytes, not 8\n", (long long)v,
                b->len);
        return false;
    }
    memcpy(&got, b->data, sizeof got);
    if (got != v) {
        fprintf(stderr, "bench_mproc: mdict get after set %lld gave %lld\n", (long long)v,
                (long long)got);
        return false;
    }
    return true;
}

/* d[k] = i; d[k] for i in [first, first + n), one call at a time: 0, or a failure's code
 * (MPROC_EINVAL for a wrong value). */
static int mdict_pairs(mproc_mdict *d, int64_t first, int64_t n)
{
    for (int64_t i = first; i < first + n; i++) {
        mproc_bytes b = {0};
        int rc = mproc_mdict_set(d, manager_key, sizeof manager_key, &i, sizeof i);
        if (rc == 0)
            rc = mproc_mdict_get(d, manager_key, sizeof manager_key, &b);
        if (rc != 0) {
            fprintf(stderr, "bench_mproc: mdict set/get %lld failed: %s\n", (long long)i,
                    mproc_strerror(rc));
            return rc;
        }
        bool ok = mdict_value_ok(&b, i);
        mproc_bytes_free(&b);
        if (!ok)
            return MPROC_EINVAL;
    }
    return 0;
}

/* The same in batches of MANAGER_BATCH pairs, every output checked after its batch. */
static int mdict_pairs_batched(mproc_mdict *d, int64_t first, int64_t n)
{
    int64_t vals[MANAGER_BATCH];
    mproc_bytes got[MANAGER_BATCH];
    int codes[2 * MANAGER_BATCH];
    for (int64_t i = first; i < first + n; i += MANAGER_BATCH) {
        int m = first + n - i < MANAGER_BATCH ? (int)(first + n - i) : MANAGER_BATCH;
        int rc = mproc_batch_begin(d);
        if (rc != 0) {
            fprintf(stderr, "bench_mproc: mproc_batch_begin failed: %s\n", mproc_strerror(rc));
            return rc;
        }
        for (int j = 0; j < m && rc == 0; j++) {
            vals[j] = i + j;
            got[j] = (mproc_bytes){0};
            rc = mproc_mdict_set(d, manager_key, sizeof manager_key, &vals[j], sizeof vals[j]);
            if (rc == 0)
                rc = mproc_mdict_get(d, manager_key, sizeof manager_key, &got[j]);
        }
        if (rc != 0) {
            mproc_batch_cancel();
            fprintf(stderr, "bench_mproc: queueing mdict set/get in a batch failed: %s\n",
                    mproc_strerror(rc));
            return rc;
        }
        rc = mproc_batch_end(MANAGER_TIMEOUT_MS, codes, (size_t)(2 * m));
        for (int j = 0; j < 2 * m && rc == 0; j++)
            if (codes[j] != 0)
                rc = codes[j];
        if (rc != 0) {
            fprintf(stderr, "bench_mproc: a batch of %d mdict set+get pairs failed: %s\n", m,
                    mproc_strerror(rc));
            return rc;
        }
        bool ok = true;
        for (int j = 0; j < m; j++) {
            ok = ok && mdict_value_ok(&got[j], vals[j]);
            mproc_bytes_free(&got[j]);
        }
        if (!ok)
            return MPROC_EINVAL;
    }
    return 0;
}

MPROC_TASK(bench_mdict_child, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_mdict *d;
    mproc_array *elapsed;
    int64_t n, batched;
    CHILD_MUST(mproc_unpack_init(&u, in));
    CHILD_MUST(mproc_unpack_mdict(&u, &d));
    CHILD_MUST(mproc_unpack_array(&u, &elapsed));
    CHILD_MUST(mproc_unpack_i64(&u, &n));
    CHILD_MUST(mproc_unpack_i64(&u, &batched));
    CHILD_MUST(mdict_pairs(d, -PINGPONG_WARMUP, PINGPONG_WARMUP)); /* connects */
    double start = now_us();
    CHILD_MUST(batched ? mdict_pairs_batched(d, 0, n) : mdict_pairs(d, 0, n));
    double end = now_us();
    CHILD_MUST(mproc_array_set_f64(elapsed, 0, end - start));
    mproc_array_destroy(elapsed);
    mproc_proxy_destroy(d);
    return 0;
}

static double mproc_mdict_run(int64_t n, bool batched)
{
    mproc_array *elapsed;
    mproc_pack *args;
    MUST(mproc_array_create(&elapsed, MPROC_T_DOUBLE, 1, false));
    MUST(mproc_pack_create(&args));
    MUST(mproc_pack_handle(args, bench_dict));
    MUST(mproc_pack_handle(args, elapsed));
    MUST(mproc_pack_i64(args, n));
    MUST(mproc_pack_i64(args, batched));
    mproc_process *child = start_task("bench_mdict_child", args);
    mproc_pack_destroy(args);
    join_task(child);
    double us;
    MUST(mproc_array_get_f64(elapsed, 0, &us));
    mproc_array_destroy(elapsed);
    mproc_bytes last = {0};
    MUST(mproc_mdict_get(bench_dict, manager_key, sizeof manager_key, &last));
    if (!mdict_value_ok(&last, n - 1))
        exit(1);
    mproc_bytes_free(&last);
    return us;
}

static double mproc_mdict_trial(int64_t n)
{
    return mproc_mdict_run(n, false);
}

static double mproc_mdict_batch_trial(int64_t n)
{
    return mproc_mdict_run(n, true);
}

/* The raw server's loop: total requests, each answered. */
static bool raw_rpc_serve(raw_fd fd, int64_t total)
{
    uint8_t req[MANAGER_RAW_REQUEST], ans[MANAGER_RAW_ANSWER];
    for (int64_t i = 0; i < total; i++) {
        if (!read_all(fd, req, sizeof req) || !message_ok(req, sizeof req, i, sizeof req))
            return false;
        number_message(ans, sizeof ans, i);
        if (!write_all(fd, ans, sizeof ans))
            return false;
    }
    return true;
}

static double raw_rpc_trial(int64_t n)
{
    int64_t total = 2 * (PINGPONG_WARMUP + n); /* a set and a get per pair */
#ifdef _WIN32
    HANDLE fd;
    HANDLE child = raw_duplex_spawn(L"rpc", total, &fd);
#else
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
        die("socketpair", 0);
    /* Blocking, with a bound: a read or write waiting this long fails. */
    struct timeval bound = {MANAGER_TIMEOUT_MS / 1000, 0};
    for (int k = 0; k < 2; k++)
        if (setsockopt(fds[k], SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound) != 0 ||
            setsockopt(fds[k], SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound) != 0)
            die("setsockopt (SO_RCVTIMEO/SO_SNDTIMEO)", 0);
    pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        _exit(raw_rpc_serve(fds[1], total) ? 0 : 1);
    }
    if (child < 0)
        die("fork", 0);
    close(fds[1]);
    int fd = fds[0];
#endif
    uint8_t req[MANAGER_RAW_REQUEST], ans[MANAGER_RAW_ANSWER];
    memset(req, 0xa5, sizeof req);
    double start = 0;
    for (int64_t i = 0; i < total; i++) {
        if (i == 2 * PINGPONG_WARMUP)
            start = now_us();
        number_message(req, sizeof req, i);
        if (!write_all(fd, req, sizeof req) || !read_all(fd, ans, sizeof ans))
            die("raw request/answer write/read", 0);
        check_message(ans, sizeof ans, i, sizeof ans);
    }
    double elapsed = now_us() - start;
#ifdef _WIN32
    CloseHandle(fd);
#else
    close(fd);
#endif
    raw_join(child);
    return elapsed;
}

/* Row 0: one Manager start + dict + shutdown + destroy under ctx; milliseconds. */
static double manager_start_ms(mproc_context *ctx)
{
    mproc_manager *m;
    mproc_mdict *d;
    double start = now_us();
    int rc = mproc_manager_start(
        &m, &(mproc_manager_opts){.ctx = ctx, .timeout_ms = MANAGER_TIMEOUT_MS});
    if (rc != 0)
        die("mproc_manager_start", rc);
    if ((rc = mproc_manager_dict(m, &d)) != 0)
        die("mproc_manager_dict", rc);
    mproc_proxy_destroy(d);
    if ((rc = mproc_manager_shutdown(m, MANAGER_TIMEOUT_MS)) != 0)
        die("mproc_manager_shutdown", rc);
    mproc_manager_destroy(m);
    return (now_us() - start) / 1e3;
}

/* python_method: the method run.py starts Python's Manager with ("default": its own). */
static void bench_manager_start(mproc_start_method method, const char *python_method, int reps)
{
    mproc_context *ctx;
    if (!mproc_start_method_available(method) || mproc_context_get(&ctx, method) != 0)
        return;
    double *ms = calloc((size_t)reps, sizeof(double));
    if (!ms)
        exit(1);
    const char *name = mproc_start_method_name(method);
    manager_start_ms(ctx); /* warm-up: the forkserver starts here */
    for (int i = 0; i < reps; i++) {
        ms[i] = manager_start_ms(ctx);
        if (verbose)
            fprintf(stderr, "Manager start (%s): run %d: %.2f ms\n", name, i + 1, ms[i]);
    }
    bool dflt = method == mproc_get_start_method();
    printf("{\"op\": \"Manager start + dict() + shutdown (mproc: %s%s; Python: %s)\", "
           "\"unit\": \"ms\", \"mproc\": %.2f, \"raw\": null, \"method\": \"%s\", "
           "\"python_method\": \"%s\", \"python_bench\": \"managerstart\", \"reps\": %d}\n",
           name, dflt ? ", its default" : "",
           strcmp(python_method, "default") == 0 ? "its default" : python_method,
           median(ms, reps), name, python_method, reps);
    fflush(stdout);
    free(ms);
}

static void bench_manager(int reps)
{
    mproc_start_method dflt = mproc_get_start_method();
    bench_manager_start(dflt, "default", reps);
    if (dflt != MPROC_FORK)
        bench_manager_start(MPROC_FORK, "fork", reps);
    mproc_manager *m;
    int rc = mproc_manager_start(&m, &(mproc_manager_opts){.timeout_ms = MANAGER_TIMEOUT_MS});
    if (rc != 0)
        die("mproc_manager_start", rc);
    MUST(mproc_manager_dict(m, &bench_dict));
    char extra[64];
    snprintf(extra, sizeof extra, "\"batch\": 1, ");
    bench_rate_with("Manager dict d[k] = v; d[k] (8-byte key and value), one child process, "
                    "one call per round trip",
                    "operations/s", "mdict", 2, mproc_mdict_trial, raw_rpc_trial, NULL, extra);
    snprintf(extra, sizeof extra, "\"batch\": %d, ", MANAGER_BATCH);
    char op[160];
    snprintf(op, sizeof op,
             "Manager dict d[k] = v; d[k] (8-byte key and value), one child process, batches "
             "of %d pairs",
             MANAGER_BATCH);
    bench_rate_with(op, "operations/s", "mdictbatch", 2, mproc_mdict_batch_trial,
                    raw_rpc_trial, NULL, extra);
    mproc_proxy_destroy(bench_dict);
    bench_dict = NULL;
    MUST(mproc_manager_shutdown(m, MANAGER_TIMEOUT_MS));
    mproc_manager_destroy(m);
}

#ifdef _WIN32
/* bench_mproc --raw-child value MAP MUTEX INDEX N | pingpong PING PONG N
 *                         | queue WRITE-END READY GO N SIZE | echo PIPE-END N
 *                         | rpc PIPE-END N */
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
    if (argc == 8 && strcmp(argv[2], "queue") == 0) {
        HANDLE wr = handle_arg(argv[3]), ready = handle_arg(argv[4]), go = handle_arg(argv[5]);
        SetEvent(ready);
        if (WaitForSingleObject(go, INFINITE) != WAIT_OBJECT_0)
            return 1;
        return raw_queue_produce(wr, strtoll(argv[6], NULL, 10),
                                 (size_t)strtoull(argv[7], NULL, 10))
                   ? 0
                   : 1;
    }
    if (argc == 5 && strcmp(argv[2], "echo") == 0)
        return raw_echo_loop(handle_arg(argv[3]), strtoll(argv[4], NULL, 10)) ? 0 : 1;
    if (argc == 5 && strcmp(argv[2], "rpc") == 0)
        return raw_rpc_serve(handle_arg(argv[3]), strtoll(argv[4], NULL, 10)) ? 0 : 1;
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
        else if (strcmp(arg, "--queue-ring") == 0)
            queue_ring = (size_t)strtoull(val, NULL, 10);
        else if (strcmp(arg, "--only") == 0 &&
                 (strcmp(val, "start") == 0 || strcmp(val, "sync") == 0 ||
                  strcmp(val, "queue") == 0 || strcmp(val, "pipe") == 0 ||
                  strcmp(val, "pool") == 0 || strcmp(val, "threadpool") == 0 ||
                  strcmp(val, "manager") == 0))
            only = val;
        else
            reps = 0;
    }
    if (reps < 1 || sync_reps < 1 || !(target_us >= 1000)) {
        fprintf(stderr,
                "usage: %s [--reps N] [--sync-reps N] [--seconds S>=0.001] "
                "[--only start|sync|queue|pipe|pool|threadpool|manager] "
                "[--queue-ring BYTES] [--verbose]\n",
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
    if (!only || strcmp(only, "queue") == 0)
        bench_queue();
    if (!only || strcmp(only, "pipe") == 0)
        bench_pipe();
    if (!only || strcmp(only, "pool") == 0)
        bench_pool(reps);
    if (!only || strcmp(only, "threadpool") == 0)
        bench_threadpool();
    if (!only || strcmp(only, "manager") == 0)
        bench_manager(reps);
    return 0;
}
