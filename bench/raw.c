/* The raw OS primitives (see raw.h). */
#ifndef _WIN32
#define _GNU_SOURCE
#endif
#include "raw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "timing.h"

#ifndef _WIN32
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

/* ---- children, shared memory, streams ------------------------------------------------------ */

#ifdef _WIN32
SECURITY_ATTRIBUTES raw_inheritable = {sizeof(SECURITY_ATTRIBUTES), NULL, TRUE};

void raw_init(const char *argv0)
{
    (void)argv0;
}

HANDLE raw_spawn_self(const wchar_t *args, bool inherit_handles)
{
    wchar_t exe[MAX_PATH], cmd[MAX_PATH + 256];
    GetModuleFileNameW(NULL, exe, MAX_PATH);
    _snwprintf(cmd, sizeof cmd / sizeof cmd[0], L"\"%ls\" %ls", exe, args);
    STARTUPINFOW si = {0};
    si.cb = sizeof si;
    PROCESS_INFORMATION pi;
    if (!CreateProcessW(exe, cmd, NULL, NULL, inherit_handles, 0, NULL, NULL, &si, &pi))
        return NULL;
    CloseHandle(pi.hThread);
    return pi.hProcess;
}

raw_child raw_spawn(const wchar_t *args)
{
    wchar_t child_args[256];
    _snwprintf(child_args, sizeof child_args / sizeof child_args[0], L"--raw-child %ls", args);
    HANDLE process = raw_spawn_self(child_args, true);
    if (!process)
        die("CreateProcessW", 0);
    return process;
}

void raw_join(raw_child process)
{
    DWORD code = 1;
    if (WaitForSingleObject(process, 120000) != WAIT_OBJECT_0 ||
        !GetExitCodeProcess(process, &code) || code != 0)
        die("raw child", 0);
    CloseHandle(process);
}

HANDLE handle_arg(const char *s)
{
    return (HANDLE)(uintptr_t)strtoull(s, NULL, 10);
}

void raw_close(raw_fd fd)
{
    CloseHandle(fd);
}
#else
char self_path[4096];

void raw_init(const char *argv0)
{
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (n <= 0)
        snprintf(self_path, sizeof self_path, "%s", argv0);
}

raw_child raw_fork(void)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork", 0);
    return pid;
}

void *shared_alloc(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap", 0);
    return p;
}

void shared_mutex_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (pthread_mutex_init(m, &a) != 0)
        die("pthread_mutex_init", 0);
    pthread_mutexattr_destroy(&a);
}

void raw_join(raw_child pid)
{
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("raw child", 0);
}

void raw_close(raw_fd fd)
{
    close(fd);
}
#endif

bool write_all(raw_fd fd, const void *data, size_t len)
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

bool read_all(raw_fd fd, void *data, size_t len)
{
    uint8_t *p = data;
    while (len > 0) {
#ifdef _WIN32
        DWORD done;
        if (!ReadFile(fd, p, len > (1u << 30) ? (1u << 30) : (DWORD)len, &done, NULL) || done == 0)
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

void raw_gate_pass(raw_gate *gate)
{
#ifdef _WIN32
    InterlockedIncrement(&gate->ready);
    while (!gate->go)
        SwitchToThread();
#else
    __atomic_add_fetch(&gate->ready, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&gate->go, __ATOMIC_ACQUIRE))
        sched_yield();
#endif
}

double raw_gate_open(raw_gate *gate, int children)
{
#ifdef _WIN32
    while (gate->ready < children)
        SwitchToThread();
    double start = now_us();
    InterlockedExchange(&gate->go, 1);
#else
    while (__atomic_load_n(&gate->ready, __ATOMIC_ACQUIRE) < children)
        sched_yield();
    double start = now_us();
    __atomic_store_n(&gate->go, 1, __ATOMIC_RELEASE);
#endif
    return start;
}

/* ---- a framed stream (queue, pipe) ------------------------------------------------------------
 * Raw for the queues: a bare pipe (Windows: an anonymous pipe from CreatePipe, 64 KiB asked
 * for, as Linux's default), a 4-byte length before each message. The producer writes each
 * message with its header in one write; the consumer reads the header, then the message into
 * its receive buffer, and copies it into a fresh buffer (the copies a queue does: into the
 * channel, out of it into the buffer handed over). The Pipe benchmarks use the same run over
 * a socketpair (POSIX; the stream under mproc's Pipe there), Windows the same anonymous
 * pipe. */

/* The producer's loop: false when a write failed. */
static bool raw_stream_produce(raw_fd fd, int64_t n, size_t size)
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

static void raw_stream_consume(raw_fd fd, int64_t n, size_t size)
{
    uint8_t *buf = malloc(size);
    if (!buf)
        exit(1);
    for (int64_t i = 0; i < n; i++) {
        uint32_t len;
        if (!read_all(fd, &len, 4) || len > size || !read_all(fd, buf, len))
            die("raw pipe read", 0);
        check_fresh_copy(buf, len, i, size);
    }
    free(buf);
}

double raw_stream_run(int64_t n, size_t size, bool socket)
{
#ifdef _WIN32
    HANDLE rd, wr;
    if (!CreatePipe(&rd, &wr, &raw_inheritable, 1u << 16))
        die("CreatePipe", 0);
    SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
    HANDLE ready = CreateEventW(&raw_inheritable, TRUE, FALSE, NULL);
    HANDLE go = CreateEventW(&raw_inheritable, TRUE, FALSE, NULL);
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
    raw_stream_consume(rd, n, size);
    double elapsed = now_us() - start;
    raw_join(child);
    CloseHandle(rd);
    CloseHandle(ready);
    CloseHandle(go);
#else
    int fds[2]; /* fds[0] reads, fds[1] writes */
    if (socket ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0 : pipe(fds) != 0)
        die(socket ? "socketpair" : "pipe", 0);
    raw_gate *gate = shared_alloc(sizeof *gate);
    pid_t child = raw_fork();
    if (child == 0) {
        close(fds[0]);
        raw_gate_pass(gate);
        _exit(raw_stream_produce(fds[1], n, size) ? 0 : 1);
    }
    close(fds[1]);
    double start = raw_gate_open(gate, 1);
    raw_stream_consume(fds[0], n, size);
    double elapsed = now_us() - start;
    raw_join(child);
    close(fds[0]);
    munmap(gate, sizeof *gate);
#endif
    return elapsed;
}

#ifdef _WIN32
int raw_stream_child(char **args)
{
    HANDLE wr = handle_arg(args[0]), ready = handle_arg(args[1]), go = handle_arg(args[2]);
    SetEvent(ready);
    if (WaitForSingleObject(go, INFINITE) != WAIT_OBJECT_0)
        return 1;
    return raw_stream_produce(wr, strtoll(args[3], NULL, 10), (size_t)strtoull(args[4], NULL, 10))
               ? 0
               : 1;
}
#endif

/* ---- a request/answer exchange (pipe ping-pong, manager) --------------------------------------
 * A bare socketpair, blocking, no header (Windows: a duplex named pipe, synchronous); the
 * child is forked (Windows: this executable again). */

#ifdef _WIN32
/* A duplex named pipe (synchronous, byte mode) between this process and a child (this
 * executable again: `--raw-child KIND PIPE-END TOTAL`); *mine receives this process's end. */
static HANDLE raw_duplex_spawn(const char *kind, int64_t total, HANDLE *mine)
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
    HANDLE other = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, &raw_inheritable,
                               OPEN_EXISTING, 0, NULL);
    if (other == INVALID_HANDLE_VALUE)
        die("CreateFileW (pipe client)", 0);
    if (!ConnectNamedPipe(fd, NULL) && GetLastError() != ERROR_PIPE_CONNECTED)
        die("ConnectNamedPipe", 0);
    wchar_t args[96];
    _snwprintf(args, sizeof args / sizeof args[0], L"%hs %llu %lld", kind,
               (unsigned long long)(uintptr_t)other, (long long)total);
    HANDLE child = raw_spawn(args);
    CloseHandle(other);
    *mine = fd;
    return child;
}
#endif

/* The child's side: total requests, each answered; false where one failed. The answer is the
 * request's first `answer` bytes numbered again: for an echo (answer == request) the request
 * itself, sent back. */
static bool raw_answer_loop(raw_fd fd, int64_t total, size_t request, size_t answer)
{
    uint8_t buf[RAW_EXCHANGE_MAX];
    if (request > sizeof buf || answer > request)
        return false;
    for (int64_t i = 0; i < total; i++) {
        if (!read_all(fd, buf, request) || !message_ok(buf, request, i, request))
            return false;
        number_message(buf, answer, i);
        if (!write_all(fd, buf, answer))
            return false;
    }
    return true;
}

double raw_exchange_run(const raw_exchange *x, int64_t total, int64_t untimed)
{
    if (x->request > RAW_EXCHANGE_MAX || x->answer > x->request)
        die("raw_exchange_run (sizes)", 0);
#ifdef _WIN32
    HANDLE fd;
    HANDLE child = raw_duplex_spawn(x->kind, total, &fd);
#else
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
        die("socketpair", 0);
    if (x->bound_ms) {
        struct timeval bound = {x->bound_ms / 1000, 0};
        for (int k = 0; k < 2; k++)
            if (setsockopt(fds[k], SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound) != 0 ||
                setsockopt(fds[k], SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound) != 0)
                die("setsockopt (SO_RCVTIMEO/SO_SNDTIMEO)", 0);
    }
    pid_t child = raw_fork();
    if (child == 0) {
        close(fds[0]);
        _exit(raw_answer_loop(fds[1], total, x->request, x->answer) ? 0 : 1);
    }
    close(fds[1]);
    int fd = fds[0];
#endif
    uint8_t *request = new_message(x->request), answer[RAW_EXCHANGE_MAX];
    if (!request)
        exit(1);
    double start = 0;
    for (int64_t i = 0; i < total; i++) {
        if (i == untimed)
            start = now_us();
        number_message(request, x->request, i);
        if (!write_all(fd, request, x->request) || !read_all(fd, answer, x->answer))
            die(x->what, 0);
        check_message(answer, x->answer, i, x->answer);
    }
    double elapsed = now_us() - start;
    free(request);
    raw_close(fd);
    raw_join(child);
    return elapsed;
}

#ifdef _WIN32
int raw_exchange_child(const raw_exchange *x, char **args)
{
    return raw_answer_loop(handle_arg(args[0]), strtoll(args[1], NULL, 10), x->request, x->answer)
               ? 0
               : 1;
}
#endif
