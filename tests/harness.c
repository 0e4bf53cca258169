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
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#endif

/* Internal hooks of the library (linked statically into tests). */
#ifdef _WIN32
void *mproc__job_handle(void);
#else
int64_t mproc__forkserver_pid(void);
int mproc__forkserver_fd(void);
#endif

bool harness_is_windows(void)
{
#ifdef _WIN32
    return true;
#else
    return false;
#endif
}

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
    snprintf(buf, size, "%s/mproc-test-%ld-%s-%d", dir && *dir ? dir : "/tmp", (long)getpid(),
             tag, ++serial);
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
    int handles;         /* open fds / handles */
    int children;        /* live or zombie child processes, the fork server excepted */
    char fds[4096];      /* POSIX: which fds were open */
} snapshot;

static snapshot before;

static int count_children(void)
{
#ifdef _WIN32
    DWORD self = GetCurrentProcessId();
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    if (snap == INVALID_HANDLE_VALUE)
        return 0;
    PROCESSENTRY32W e = {.dwSize = sizeof e};
    int n = 0;
    for (BOOL ok = Process32FirstW(snap, &e); ok; ok = Process32NextW(snap, &e))
        n += e.th32ParentProcessID == self && e.th32ProcessID != self;
    CloseHandle(snap);
    return n;
#else
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    int n = 0;
    pid_t self = getpid();
    int64_t server = mproc__forkserver_pid();
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
        if (fscanf(f, "%*d (%*[^)]) %*c %ld", &ppid) == 1 && ppid == self)
            n++;
        fclose(f);
    }
    closedir(d);
    /* The fork server's own children count as ours. */
    if (server > 0) {
        d = opendir("/proc");
        for (struct dirent *e; d && (e = readdir(d));) {
            long pid = strtol(e->d_name, NULL, 10);
            if (pid <= 0)
                continue;
            char path[300];
            snprintf(path, sizeof path, "/proc/%ld/stat", pid);
            FILE *f = fopen(path, "r");
            if (!f)
                continue;
            long ppid = 0;
            if (fscanf(f, "%*d (%*[^)]) %*c %ld", &ppid) == 1 && ppid == server)
                n++;
            fclose(f);
        }
        if (d)
            closedir(d);
    }
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
    int server_fd = mproc__forkserver_fd();
    for (int fd = 0; fd < (int)sizeof s->fds; fd++) {
        if (fd == server_fd)
            continue;
        struct stat st;
        if (fstat(fd, &st) == 0) {
            s->fds[fd] = 1;
            s->handles++;
        }
    }
#endif
    s->children = count_children();
}

static int setup_snapshot(void **state)
{
    (void)state;
    /* mingw's emulated thread-locals create a handle on first use; take it now. */
    (void)mproc_last_os_error();
    take_snapshot(&before);
#ifdef _WIN32
    before.handles += mproc__job_handle() ? 0 : 1; /* created once, on first start */
#endif
    return 0;
}

static int check_snapshot(void **state)
{
    (void)state;
    snapshot after;
    /* Children just killed or joined may take a moment to leave the process table. */
    for (int i = 0; i < 300; i++) {
        take_snapshot(&after);
        if (after.children == 0)
            break;
        harness_sleep_ms(10);
    }
    int bad = 0;
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
        int missing = 0;
        for (size_t i = 0; i < count; i++) {
            bool listed = false;
            for (int a = 2; a < argc; a++)
                listed |= strcmp(argv[a], tests[i].name) == 0;
            if (!listed) {
                fprintf(stderr, "case %s is not listed in tests/meson.build\n", tests[i].name);
                missing++;
            }
        }
        printf("%d passed, %d failed\n", missing ? 0 : 1, missing ? 1 : 0);
        return missing ? 1 : 0;
    }
    struct CMUnitTest *chosen = calloc(count, sizeof *chosen);
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        if (argc >= 2 && strcmp(argv[1], tests[i].name) != 0)
            continue;
        chosen[n] = tests[i];
        chosen[n].setup_func = setup_snapshot;
        chosen[n].teardown_func = check_snapshot;
        n++;
    }
    if (n == 0) {
        fprintf(stderr, "no test case named %s\n", argc >= 2 ? argv[1] : "(any)");
        free(chosen);
        return 1;
    }
    int failed = _cmocka_run_group_tests(argc >= 2 ? argv[1] : "all", chosen, n, NULL, NULL);
    free(chosen);
    return failed ? 1 : 0;
}
