#ifndef _WIN32
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#include <tlhelp32.h>
#else
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#endif

mproc_process *harness_start(mproc_start_method method, const char *target, const mproc_pack *args)
{
    mproc_context *ctx;
    if (!mproc_start_method_available(method)) {
        assert_rc(mproc_context_get(&ctx, method), MPROC_ENOTSUP);
        return NULL;
    }
    assert_ok(mproc_context_get(&ctx, method));
    mproc_process *p;
    assert_ok(mproc_process_create(
        &p, &(mproc_process_opts){.target = target, .args = args, .ctx = ctx}));
    assert_ok(mproc_process_start(p));
    return p;
}

int harness_join_code(mproc_process *p)
{
    assert_ok(mproc_process_join(p, 120000));
    int code = 0;
    assert_ok(mproc_process_exitcode(p, &code));
    mproc_process_destroy(p);
    return code;
}

bool harness_is_windows(void)
{
#ifdef _WIN32
    return true;
#else
    return false;
#endif
}

/* ---- threads ------------------------------------------------------------------------------ */

struct harness_thread {
    void (*fn)(void *);
    void *arg;
#ifdef _WIN32
    HANDLE handle;
#else
    pthread_t id;
#endif
};

#ifdef _WIN32
static DWORD WINAPI thread_main(LPVOID p)
{
    harness_thread *t = p;
    t->fn(t->arg);
    return 0;
}
#else
static void *thread_main(void *p)
{
    harness_thread *t = p;
    t->fn(t->arg);
    return NULL;
}
#endif

harness_thread *harness_thread_start(void (*fn)(void *), void *arg)
{
    harness_thread *t = malloc(sizeof *t);
    assert_non_null(t);
    t->fn = fn;
    t->arg = arg;
#ifdef _WIN32
    t->handle = CreateThread(NULL, 0, thread_main, t, 0, NULL);
    if (!t->handle) {
        free(t);
        fail_msg("CreateThread failed (%lu)", (unsigned long)GetLastError());
    }
#else
    int rc = pthread_create(&t->id, NULL, thread_main, t);
    if (rc != 0) {
        free(t);
        fail_msg("pthread_create failed (%d)", rc);
    }
#endif
    return t;
}

void harness_thread_join(harness_thread *t)
{
    enum { JOIN_MS = 120000 };
#ifdef _WIN32
    if (WaitForSingleObject(t->handle, JOIN_MS) != WAIT_OBJECT_0)
        fail_msg("%s", "a helper thread did not end in 2 minutes");
    CloseHandle(t->handle);
#else
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += JOIN_MS / 1000;
    if (pthread_timedjoin_np(t->id, NULL, &until) != 0)
        fail_msg("%s", "a helper thread did not end in 2 minutes");
#endif
    free(t);
}

int harness_thread_id(void)
{
    static int counter;
    static _Thread_local int self;
    if (self == 0)
        self = __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST);
    return self;
}

/* ---- packs and results -------------------------------------------------------------------- */

mproc_pack *new_pack(void)
{
    mproc_pack *p;
    assert_ok(mproc_pack_create(&p));
    return p;
}

mproc_pack *pack_of(int64_t x)
{
    mproc_pack *p = new_pack();
    assert_ok(mproc_pack_i64(p, x));
    return p;
}

mproc_pack *pack_range(int64_t first, size_t n)
{
    mproc_pack *p = new_pack();
    for (size_t i = 0; i < n; i++)
        assert_ok(mproc_pack_i64(p, first + (int64_t)i));
    return p;
}

mproc_pack *pack_two(int64_t a, int64_t b)
{
    mproc_pack *p = new_pack();
    assert_ok(mproc_pack_i64(p, a));
    assert_ok(mproc_pack_i64(p, b));
    return p;
}

int64_t as_i64(const mproc_bytes *b)
{
    int64_t v = 0;
    int rc = MPROC_UNPACK(b, &v);
    if (rc)
        fail_msg("result of %llu bytes is not a pack of one integer: %s",
                 (unsigned long long)b->len, mproc_errname(rc));
    return v;
}

bool read_i64(const mproc_bytes *b, int64_t *v)
{
    return MPROC_UNPACK(b, v) == 0;
}

const char *as_text(const mproc_bytes *b)
{
    const char *s = NULL;
    int rc = MPROC_UNPACK(b, &s);
    if (rc)
        fail_msg("result of %llu bytes is not a pack of one string: %s", (unsigned long long)b->len,
                 mproc_errname(rc));
    return s;
}

int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void assert_text(const mproc_bytes *b, const char *want)
{
    size_t n = strlen(want);
    if (!b->data)
        fail_msg("no text, wanted \"%s\"", want);
    if (b->len < n || strncmp(b->data, want, n) != 0 || ((const char *)b->data)[n] != '\0')
        fail_msg("text \"%.*s\" (%llu bytes), wanted \"%s\"", (int)b->len, (const char *)b->data,
                 (unsigned long long)b->len, want);
}

void assert_text_has(const mproc_bytes *b, const char *want)
{
    if (!b->data || !memchr(b->data, '\0', b->len + 1) || !strstr(b->data, want))
        fail_msg("text \"%.*s\" (%llu bytes), wanted one with \"%s\"", (int)b->len,
                 b->data ? (const char *)b->data : "", (unsigned long long)b->len, want);
}

void assert_some_text(const mproc_bytes *b)
{
    if (!b->data || b->len == 0 || ((const char *)b->data)[0] == '\0')
        fail_msg("%s", "no error text");
    assert_non_null(memchr(b->data, '\0', b->len + 1));
}

void assert_empty(const mproc_bytes *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i].data || b[i].len)
            fail_msg("entry %llu is not empty", (unsigned long long)i);
}

uint8_t pattern_at(size_t i, uint32_t seed)
{
    return (uint8_t)(seed * 31 + i * 7 + (i >> 16));
}

void fill(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = pattern_at(i, seed);
}

bool filled(const uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != pattern_at(i, seed))
            return false;
    return true;
}

void open_args(mproc_unpacker *u, const mproc_bytes *in)
{
    mproc_unpack_init(u, in);
    if (mproc_unpack_peek(u) == MPROC_FIELD_PACK && mproc_unpack_remaining(u) == 1) {
        mproc_unpacker inner;
        if (mproc_unpack_pack(u, &inner) == 0)
            *u = inner;
    }
}

int put_i64(mproc_pack *out, int64_t v)
{
    return MPROC_PACK(out, v) ? mproc_task_fail(out, "out of memory") : 0;
}

int put_text(mproc_pack *out, const char *s)
{
    return MPROC_PACK(out, s) ? mproc_task_fail(out, "out of memory") : 0;
}

#define OUT_I64_(name, T, call)                                                                    \
    int64_t name(T *obj)                                                                           \
    {                                                                                              \
        int64_t v = -1;                                                                            \
        int rc = call(obj, &v);                                                                    \
        if (rc)                                                                                    \
            fail_msg("%s: %s", #call, mproc_errname(rc));                                          \
        return v;                                                                                  \
    }
OUT_I64_(qsize_of, mproc_queue, mproc_queue_qsize)
OUT_I64_(sem_value_of, mproc_sem, mproc_sem_value)
OUT_I64_(parties_of, mproc_barrier, mproc_barrier_parties)
OUT_I64_(n_waiting_of, mproc_barrier, mproc_barrier_n_waiting)
OUT_I64_(length_of, mproc_array, mproc_array_length)

/* ---- time ---------------------------------------------------------------------------------- */

int64_t harness_now_ms(void)
{
#ifdef _WIN32
    return (int64_t)GetTickCount64();
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
}

void harness_sleep_ms(int64_t ms)
{
#ifdef _WIN32
    Sleep((DWORD)ms);
#else
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
#endif
}

bool harness_pid_alive(int64_t pid)
{
#ifdef _WIN32
    HANDLE h = OpenProcess(SYNCHRONIZE, FALSE, (DWORD)pid);
    if (!h)
        return false;
    bool alive = WaitForSingleObject(h, 0) == WAIT_TIMEOUT;
    CloseHandle(h);
    return alive;
#else
    if (kill((pid_t)pid, 0) != 0)
        return false;
    /* A zombie still answers kill(0); it has ended all the same. */
    char path[64], state = 0;
    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
            state = 0;
        fclose(f);
    }
    return state != 'Z' && state != 'X';
#endif
}

bool harness_wait_pid_gone(int64_t pid, int64_t timeout_ms)
{
    int64_t end = harness_now_ms() + timeout_ms;
    while (harness_pid_alive(pid)) {
        if (harness_now_ms() > end)
            return false;
        harness_sleep_ms(10);
    }
    return true;
}

void harness_kill_pid(int64_t pid)
{
#ifdef _WIN32
    HANDLE h = OpenProcess(PROCESS_TERMINATE, FALSE, (DWORD)pid);
    if (h) {
        TerminateProcess(h, 137);
        CloseHandle(h);
    }
#else
    kill((pid_t)pid, SIGKILL);
#endif
}

void harness_temp_path(char *buf, size_t size, const char *tag)
{
    static int serial;
#ifdef _WIN32
    char dir[MAX_PATH];
    GetTempPathA(sizeof dir, dir);
    snprintf(buf, size, "%smproc-test-%lu-%s-%d", dir, (unsigned long)GetCurrentProcessId(), tag,
             ++serial);
#else
    const char *dir = getenv("TMPDIR");
    snprintf(buf, size, "%s/mproc-test-%ld-%s-%d", dir && *dir ? dir : "/tmp", (long)getpid(), tag,
             ++serial);
#endif
    remove(buf);
}

void harness_write_i64(const char *path, int64_t value)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "%lld\n", (long long)value);
    fclose(f);
    rename(tmp, path); /* readers see the whole value or nothing */
}

bool harness_read_i64(const char *path, int64_t *value, int64_t timeout_ms)
{
    int64_t end = harness_now_ms() + timeout_ms;
    for (;;) {
        FILE *f = fopen(path, "r");
        if (f) {
            long long v;
            int ok = fscanf(f, "%lld", &v) == 1;
            fclose(f);
            if (ok) {
                *value = v;
                return true;
            }
        }
        if (harness_now_ms() > end)
            return false;
        harness_sleep_ms(10);
    }
}

/* ---- leak snapshot ---------------------------------------------------------------------- */

typedef struct snapshot {
    int handles;    /* open fds / handles */
    int children;   /* live or zombie child processes, the fork server excepted */
    int shm_names;  /* POSIX: /dev/shm names of this test process's blocks */
    char fds[4096]; /* POSIX: which fds were open */
} snapshot;

/* Named blocks made by this process (generated "psm_<pid>_…" or the tests' "test-<pid>-…"
 * names); other tests running in parallel have their own pids. */
static int count_shm_names(void)
{
#if defined(__linux__)
    DIR *d = opendir("/dev/shm");
    if (!d)
        return 0;
    char by_us[2][64];
    snprintf(by_us[0], sizeof by_us[0], "_%ld_", (long)getpid());
    snprintf(by_us[1], sizeof by_us[1], "-%ld-", (long)getpid());
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strncmp(e->d_name, "mproc.", 6) == 0 &&
             (strstr(e->d_name, by_us[0]) || strstr(e->d_name, by_us[1]));
    closedir(d);
    return n;
#else
    return 0;
#endif
}

static snapshot before;

static int count_children(void)
{
#ifdef _WIN32
    DWORD self = GetCurrentProcessId();
    FILETIME self_born, unused[3];
    GetProcessTimes(GetCurrentProcess(), &self_born, &unused[0], &unused[1], &unused[2]);
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    if (snap == INVALID_HANDLE_VALUE)
        return 0;
    PROCESSENTRY32W e = {.dwSize = sizeof e};
    int n = 0;
    for (BOOL ok = Process32FirstW(snap, &e); ok; ok = Process32NextW(snap, &e)) {
        if (e.th32ParentProcessID != self || e.th32ProcessID == self)
            continue;
        /* Windows keeps the parent's id in the entry after the parent is gone, and ids are
         * reused: a process left by an earlier test whose id we now have is not ours. Ours
         * were born after us; one already gone between the snapshot and here is not left. */
        HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, e.th32ProcessID);
        if (!h)
            continue;
        FILETIME born;
        DWORD code = 0;
        if (GetProcessTimes(h, &born, &unused[0], &unused[1], &unused[2]) &&
            CompareFileTime(&born, &self_born) >= 0 && GetExitCodeProcess(h, &code) &&
            code == STILL_ACTIVE)
            n++;
        CloseHandle(h);
    }
    CloseHandle(snap);
    return n;
#else
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    int n = 0;
    long self = (long)getpid();
    int64_t server = mpp_test_helper_pid();
    for (struct dirent *e; (e = readdir(d));) {
        long pid = strtol(e->d_name, NULL, 10);
        if (pid <= 0 || pid == server)
            continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        long ppid = 0;
        /* The fork server's own children count as ours. */
        if (fscanf(f, "%*d (%*[^)]) %*c %ld", &ppid) == 1 &&
            (ppid == self || (server > 0 && ppid == server)))
            n++;
        fclose(f);
    }
    closedir(d);
    return n;
#endif
}

static void take_snapshot(snapshot *s)
{
    memset(s, 0, sizeof *s);
#ifdef _WIN32
    /* Handle values are multiples of 4; probing them works on Windows and Wine alike. */
    for (uintptr_t v = 4; v < 65536; v += 4) {
        DWORD flags;
        if (GetHandleInformation((HANDLE)v, &flags))
            s->handles++;
    }
#else
    mpp_handle kept = mpp_test_kept_handle();
    for (int fd = 0; fd < (int)sizeof s->fds; fd++) {
        if (fd == kept)
            continue;
        struct stat st;
        if (fstat(fd, &st) == 0) {
            s->fds[fd] = 1;
            s->handles++;
        }
    }
#endif
    s->children = count_children();
    s->shm_names = count_shm_names();
}

static int setup_snapshot(void **state)
{
    (void)state;
    /* mingw's emulated thread-locals create a handle on first use; take it now, in the
     * library and (when it is a DLL, with its own copy of the emulation) in this program. */
    (void)mproc_last_os_error();
    (void)harness_thread_id();
    take_snapshot(&before);
#ifdef _WIN32
    /* The kept handle is created once, on the first start. */
    before.handles += mpp_test_kept_handle() != MPP_NO_HANDLE ? 0 : 1;
#endif
    return 0;
}

static int check_snapshot(void **state)
{
    (void)state;
    snapshot after;
    /* Children just killed or joined may take a moment to leave the process table (seconds,
     * for Wine under load). Only the children are counted while waiting: the full snapshot
     * probes 16 K handle values, each a wineserver call under Wine, which 300 times over took
     * minutes under load. */
    for (int64_t end = harness_now_ms() + 10000; count_children() != 0 && harness_now_ms() < end;)
        harness_sleep_ms(10);
    take_snapshot(&after);
    int bad = 0;
    if (after.shm_names > before.shm_names) {
        fprintf(stderr, "LEAK: %d shared memory name(s) left in /dev/shm\n",
                after.shm_names - before.shm_names);
        bad = 1;
    }
    if (after.children != 0) {
        fprintf(stderr, "LEAK: %d child process(es) left\n", after.children);
        bad = 1;
    }
#ifdef _WIN32
    if (after.handles > before.handles) {
        fprintf(stderr, "LEAK: %d handle(s) before, %d after\n", before.handles, after.handles);
        if (getenv("HARNESS_LIST_HANDLES"))
            for (uintptr_t v = 4; v < 65536; v += 4) {
                DWORD flags;
                if (GetHandleInformation((HANDLE)v, &flags))
                    fprintf(stderr, "  handle %#lx\n", (unsigned long)v);
            }
        bad = 1;
    }
#else
    for (int fd = 0; fd < (int)sizeof after.fds; fd++)
        if (after.fds[fd] && !before.fds[fd]) {
            fprintf(stderr, "LEAK: fd %d left open\n", fd);
            bad = 1;
        }
#endif
    return bad ? -1 : 0;
}

int harness_main(int argc, char **argv, const struct CMUnitTest *tests, size_t count)
{
    if (mproc_init(&argc, &argv) != 0) {
        fprintf(stderr, "mproc_init failed\n");
        return 1;
    }
    if (argc >= 2 && strcmp(argv[1], "--check") == 0) {
        /* Meson and the compiler read the same case list; a line one of them reads
         * otherwise (two entries on a line, a comment only one sees) shows here. */
        int wrong = 0;
        for (size_t i = 0; i < count; i++) {
            int runs = 0;
            for (int a = 2; a < argc; a++)
                runs += strcmp(argv[a], tests[i].name) == 0;
            if (runs != 1) {
                fprintf(stderr, "case %s: meson has it %d times\n", tests[i].name, runs);
                wrong++;
            }
        }
        for (int a = 2; a < argc; a++) {
            bool known = false;
            for (size_t i = 0; i < count; i++)
                known |= strcmp(argv[a], tests[i].name) == 0;
            if (!known) {
                fprintf(stderr, "meson has a case %s, this program has not\n", argv[a]);
                wrong++;
            }
        }
        printf("%d passed, %d failed\n", wrong ? 0 : 1, wrong ? 1 : 0);
        return wrong ? 1 : 0;
    }
    /* CMocka's public runner counts its array with sizeof, so each case goes through an
     * array of one; every case gets the leak snapshot around it. */
    size_t ran = 0;
    int failed = 0;
    for (size_t i = 0; i < count; i++) {
        if (argc >= 2 && strcmp(argv[1], tests[i].name) != 0)
            continue;
        struct CMUnitTest one[1] = {tests[i]};
        one[0].setup_func = setup_snapshot;
        one[0].teardown_func = check_snapshot;
        failed += cmocka_run_group_tests_name(tests[i].name, one, NULL, NULL);
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "no test case named %s\n", argc >= 2 ? argv[1] : "(any)");
        return 1;
    }
    return failed ? 1 : 0;
}

/* Reads a whole scratch file as text, folding CRLF (the Windows CRT's text mode) to LF. */
static char *read_text_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (size_t n; buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0;) {
        len += n;
        if (cap - len < 2) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < len; i++)
        if (!(buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n'))
            buf[j++] = buf[i];
    buf[j] = '\0';
    return buf;
}

/* Output goes to files, not pipes: the program's children share them, and nothing can
 * fill up while we wait. */
bool harness_run_program(const char *exe, int64_t timeout_ms, char **out, char **err, int *exitcode)
{
    char out_path[512], err_path[512];
    harness_temp_path(out_path, sizeof out_path, "stdout");
    harness_temp_path(err_path, sizeof err_path, "stderr");
    *out = *err = NULL;
    bool ended = false;
#ifdef _WIN32
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE files[3];
    files[0] = CreateFileA("NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                           OPEN_EXISTING, 0, NULL);
    files[1] = CreateFileA(out_path, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                           CREATE_ALWAYS, FILE_ATTRIBUTE_TEMPORARY, NULL);
    files[2] = CreateFileA(err_path, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                           CREATE_ALWAYS, FILE_ATTRIBUTE_TEMPORARY, NULL);
    PROCESS_INFORMATION pi = {0};
    SIZE_T attr_size = 0;
    InitializeProcThreadAttributeList(NULL, 1, 0, &attr_size);
    LPPROC_THREAD_ATTRIBUTE_LIST attrs = malloc(attr_size);
    STARTUPINFOEXA si = {0};
    si.StartupInfo.cb = sizeof si;
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = files[0];
    si.StartupInfo.hStdOutput = files[1];
    si.StartupInfo.hStdError = files[2];
    si.lpAttributeList = attrs;
    char cmdline[600];
    snprintf(cmdline, sizeof cmdline, "\"%s\"", exe);
    bool started = files[0] != INVALID_HANDLE_VALUE && files[1] != INVALID_HANDLE_VALUE &&
                   files[2] != INVALID_HANDLE_VALUE && attrs &&
                   InitializeProcThreadAttributeList(attrs, 1, 0, &attr_size) &&
                   UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, files,
                                             sizeof files, NULL, NULL) &&
                   CreateProcessA(NULL, cmdline, NULL, NULL, TRUE, EXTENDED_STARTUPINFO_PRESENT,
                                  NULL, NULL, &si.StartupInfo, &pi);
    if (attrs) {
        DeleteProcThreadAttributeList(attrs);
        free(attrs);
    }
    for (int i = 0; i < 3; i++)
        if (files[i] != INVALID_HANDLE_VALUE)
            CloseHandle(files[i]);
    if (started) {
        DWORD code = 1;
        if (WaitForSingleObject(pi.hProcess, (DWORD)timeout_ms) == WAIT_OBJECT_0) {
            ended = true;
            GetExitCodeProcess(pi.hProcess, &code);
            *exitcode = (int)code;
        } else {
            TerminateProcess(pi.hProcess, 137);
            WaitForSingleObject(pi.hProcess, 5000);
        }
        CloseHandle(pi.hThread);
        CloseHandle(pi.hProcess);
    }
#else
    int out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int err_fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    pid_t pid = -1;
    if (out_fd >= 0 && err_fd >= 0) {
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
        posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
        char *argv[] = {(char *)exe, NULL};
        if (posix_spawn(&pid, exe, &actions, NULL, argv, environ) != 0)
            pid = -1;
        posix_spawn_file_actions_destroy(&actions);
    }
    if (out_fd >= 0)
        close(out_fd);
    if (err_fd >= 0)
        close(err_fd);
    if (pid > 0) {
        int64_t end = harness_now_ms() + timeout_ms;
        int status = 0;
        pid_t got;
        while ((got = waitpid(pid, &status, WNOHANG)) == 0 && harness_now_ms() < end)
            harness_sleep_ms(5);
        if (got == pid) {
            ended = true;
            *exitcode = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        } else {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
    }
#endif
    *out = read_text_file(out_path);
    *err = read_text_file(err_path);
    remove(out_path);
    remove(err_path);
    if (!ended || !*out || !*err) {
        free(*out);
        free(*err);
        *out = *err = NULL;
        return false;
    }
    return true;
}
