/* Windows: external programs with CreateProcessW and anonymous pipes.
 *
 * Anonymous pipes are synchronous, which is what a program expects of its standard
 * handles (and what a pipeline hands from one program to the next). So this side never
 * blocks on them itself: each pipe end that is read or written gets one thread, started
 * on first use, that does the blocking ReadFile/WriteFile into a 64 KiB buffer and
 * signals an event when it has data (or is idle again, for writes). Waiting for several
 * pipes is then a wait for several events. Python's communicate() uses threads too. */
#include "win32.h"

#include <string.h>

#include "base/cmdline.h"

#define STREAM_BUFFER (64 * 1024)

struct mpp_stream {
    HANDLE pipe;
    bool for_write;
    HANDLE thread; /* NULL until first use */
    CRITICAL_SECTION lock;
    HANDLE ready; /* manual-reset: data or end (read), idle (write) */
    HANDLE wake;  /* auto-reset: buffer drained / data to write / closing */
    char *buf;
    size_t len, pos; /* read: unread bytes are buf[pos..len); write: buf[0..len) pending */
    bool ended;      /* read: end of file; write: the reader is gone */
    bool closing;
};

struct mpp_program {
    HANDLE process;
    bool reaped;
    int code;
};

static DWORD WINAPI reader_main(void *arg)
{
    mpp_stream *s = arg;
    for (;;) {
        DWORD n = 0;
        BOOL ok = ReadFile(s->pipe, s->buf, STREAM_BUFFER, &n, NULL);
        EnterCriticalSection(&s->lock);
        bool stop = s->closing;
        if (!stop) {
            if (ok && n > 0) {
                s->len = n;
                s->pos = 0;
            } else if (!ok) {
                s->ended = true; /* broken pipe: the writer is gone (or an error) */
                stop = true;
            }
            if (n > 0 || s->ended)
                SetEvent(s->ready);
        }
        LeaveCriticalSection(&s->lock);
        if (stop)
            return 0;
        if (n > 0)
            WaitForSingleObject(s->wake, INFINITE); /* until drained or closing */
        EnterCriticalSection(&s->lock);
        stop = s->closing;
        LeaveCriticalSection(&s->lock);
        if (stop)
            return 0;
    }
}

static DWORD WINAPI writer_main(void *arg)
{
    mpp_stream *s = arg;
    for (;;) {
        WaitForSingleObject(s->wake, INFINITE);
        EnterCriticalSection(&s->lock);
        size_t len = s->len;
        bool stop = s->closing;
        LeaveCriticalSection(&s->lock);
        if (stop)
            return 0;
        bool broken = false;
        for (size_t off = 0; off < len;) {
            DWORD n = 0;
            if (!WriteFile(s->pipe, s->buf + off, (DWORD)(len - off), &n, NULL)) {
                broken = true;
                break;
            }
            off += n;
        }
        EnterCriticalSection(&s->lock);
        s->len = 0;
        s->ended = broken;
        SetEvent(s->ready);
        LeaveCriticalSection(&s->lock);
        if (broken)
            return 0;
    }
}

static mpp_stream *stream_new(HANDLE pipe, bool for_write)
{
    mpp_stream *s = mproc_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->pipe = pipe;
    s->for_write = for_write;
    s->buf = mproc_malloc(STREAM_BUFFER);
    s->ready = CreateEventW(NULL, TRUE, for_write, NULL);
    s->wake = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (!s->buf || !s->ready || !s->wake) {
        if (s->ready)
            CloseHandle(s->ready);
        if (s->wake)
            CloseHandle(s->wake);
        mproc_free(s->buf);
        mproc_free(s);
        return NULL;
    }
    InitializeCriticalSection(&s->lock);
    return s;
}

static int stream_start(mpp_stream *s)
{
    if (s->thread)
        return 0;
    s->thread = CreateThread(NULL, 64 * 1024, s->for_write ? writer_main : reader_main, s,
                             STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    return s->thread ? 0 : mproc__fail_os_now();
}

int mpp_stream_read(mpp_stream *s, void *buf, size_t cap, size_t *got)
{
    *got = 0;
    int rc = stream_start(s);
    if (rc)
        return rc;
    EnterCriticalSection(&s->lock);
    if (s->pos < s->len) {
        size_t n = s->len - s->pos < cap ? s->len - s->pos : cap;
        memcpy(buf, s->buf + s->pos, n);
        s->pos += n;
        *got = n;
        if (s->pos == s->len) {
            s->pos = s->len = 0;
            ResetEvent(s->ready);
            SetEvent(s->wake);
        }
    } else if (s->ended) {
        rc = MPROC_ECLOSED;
    }
    LeaveCriticalSection(&s->lock);
    return rc;
}

int mpp_stream_write(mpp_stream *s, const void *buf, size_t len, size_t *done)
{
    *done = 0;
    int rc = stream_start(s);
    if (rc)
        return rc;
    EnterCriticalSection(&s->lock);
    if (s->ended) {
        rc = MPROC_ECLOSED;
    } else if (s->len == 0 && len > 0) {
        size_t n = len < STREAM_BUFFER ? len : STREAM_BUFFER;
        memcpy(s->buf, buf, n);
        s->len = n;
        *done = n;
        ResetEvent(s->ready);
        SetEvent(s->wake);
    }
    LeaveCriticalSection(&s->lock);
    return rc;
}

int mpp_stream_wait(mpp_stream *const *streams, size_t n, int64_t timeout_ms, bool *ready)
{
    HANDLE events[8];
    if (n == 0 || n > 8)
        return mproc__fail(MPROC_EINVAL);
    for (size_t i = 0; i < n; i++) {
        int rc = stream_start(streams[i]);
        if (rc)
            return rc;
        events[i] = streams[i]->ready;
    }
    DWORD w = WaitForMultipleObjects((DWORD)n, events, FALSE,
                                     timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
    if (w == WAIT_TIMEOUT)
        return mproc__fail(MPROC_ETIMEDOUT);
    if (w >= WAIT_OBJECT_0 + n)
        return mproc__fail_os_now();
    for (size_t i = 0; i < n; i++)
        ready[i] = WaitForSingleObject(events[i], 0) == WAIT_OBJECT_0;
    return 0;
}

void mpp_stream_close(mpp_stream *s)
{
    if (!s)
        return;
    if (s->thread) {
        EnterCriticalSection(&s->lock);
        s->closing = true;
        LeaveCriticalSection(&s->lock);
        SetEvent(s->wake);
        /* The thread may be inside ReadFile/WriteFile: cancel that, again until it ends
         * (a cancel that comes before the call does nothing). */
        for (int tries = 0; WaitForSingleObject(s->thread, 10) == WAIT_TIMEOUT; tries++) {
            CancelSynchronousIo(s->thread);
            if (tries == 500) {
                /* Still blocked after 5 s: leave the thread and its stream behind rather
                 * than free memory it uses. */
                mproc_log(MPROC_LOG_ERROR, "a pipe thread did not stop; leaving it");
                CloseHandle(s->thread);
                return;
            }
        }
        CloseHandle(s->thread);
    }
    CloseHandle(s->pipe);
    CloseHandle(s->ready);
    CloseHandle(s->wake);
    DeleteCriticalSection(&s->lock);
    mproc_free(s->buf);
    mproc_free(s);
}

/* cmd.exe runs .bat/.cmd files with its own parsing rules, under which no quoting is safe
 * for arbitrary arguments (the "BatBadBut" class of bug): refuse them. Windows ignores
 * trailing dots and spaces in names, so "x.bat. " is a batch file too. */
static bool is_batch_file(const char *name)
{
    size_t len = strlen(name);
    while (len > 0 && (name[len - 1] == '.' || name[len - 1] == ' '))
        len--;
    if (len < 4)
        return false;
    const char *ext = name + len - 4;
    return _strnicmp(ext, ".bat", 4) == 0 || _strnicmp(ext, ".cmd", 4) == 0;
}

/* "A=b" UTF-8 strings to a UTF-16 environment block. */
static wchar_t *environment_block(const char *const *env)
{
    size_t total = 1;
    for (size_t i = 0; env[i]; i++)
        total += (size_t)MultiByteToWideChar(CP_UTF8, 0, env[i], -1, NULL, 0);
    wchar_t *block = mproc_malloc((total + 1) * sizeof(wchar_t));
    if (!block)
        return NULL;
    wchar_t *at = block;
    for (size_t i = 0; env[i]; i++) {
        int n =
            MultiByteToWideChar(CP_UTF8, 0, env[i], -1, at, (int)(total - (size_t)(at - block)));
        if (n <= 0) {
            mproc_free(block);
            return NULL;
        }
        at += n;
    }
    *at++ = L'\0';
    if (at == block + 1) /* an empty environment still needs two NULs */
        *at = L'\0';
    return block;
}

static int map_start_error(DWORD error)
{
    mproc__fail_os((int)error);
    switch (error) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_DIRECTORY:
    case ERROR_INVALID_NAME: return MPROC_ENOENT;
    case ERROR_ACCESS_DENIED:
    case ERROR_BAD_EXE_FORMAT:
    case ERROR_EXE_MACHINE_TYPE_MISMATCH: return MPROC_EPERM;
    default: return mpp_map_os_error((int)error);
    }
}

int mpp_program_start(mpp_program **out, const mpp_program_spec *spec, mpp_stream *pipes[3],
                      int64_t *pid_out)
{
    if (is_batch_file(spec->argv[0]))
        return mproc__fail(MPROC_ENOTSUP);
    HANDLE child_end[3] = {NULL, NULL, NULL}, parent_end[3] = {NULL, NULL, NULL};
    HANDLE null_device = NULL;
    int rc = 0;
    for (int i = 0; i < 3 && !rc; i++) {
        pipes[i] = NULL;
        if (spec->stdio[i] == MPROC_STDIO_PIPE) {
            HANDLE r, w;
            if (!CreatePipe(&r, &w, NULL, STREAM_BUFFER)) {
                rc = mproc__fail_os_now();
                break;
            }
            child_end[i] = i == 0 ? r : w;
            parent_end[i] = i == 0 ? w : r;
        } else if (spec->stdio[i] == MPROC_STDIO_DEVNULL && !null_device) {
            null_device =
                CreateFileW(L"NUL", GENERIC_READ | GENERIC_WRITE,
                            FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
            if (null_device == INVALID_HANDLE_VALUE) {
                null_device = NULL;
                rc = mproc__fail_os_now();
            }
        }
    }
    w32_inherit in = {0};
    HANDLE std[3] = {NULL, NULL, NULL};
    DWORD std_ids[] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};
    for (int i = 0; i < 3 && !rc; i++) {
        switch (spec->stdio[i]) {
        case MPROC_STDIO_PIPE: std[i] = w32_inherit_add(&in, child_end[i]); break;
        case MPROC_STDIO_DEVNULL: std[i] = w32_inherit_add(&in, null_device); break;
        case MPROC_STDIO_STDOUT: std[i] = std[1]; break;
        case MPROC_STDIO_FROM: std[i] = w32_inherit_add(&in, spec->stdin_from->pipe); break;
        default: std[i] = w32_inherit_add(&in, GetStdHandle(std_ids[i])); break;
        }
        if (!std[i] && spec->stdio[i] != MPROC_STDIO_INHERIT)
            rc = mproc__fail_os_now();
    }
    mproc__buf line = {0};
    wchar_t *cmdline = NULL, *cwd = NULL, *env = NULL;
    if (!rc) {
        if (mproc__win_build_cmdline(&line, spec->argv) != 0 ||
            !(cmdline = w32_utf16((const char *)line.data)) ||
            (spec->cwd && !(cwd = w32_utf16(spec->cwd))) ||
            (spec->env && !(env = environment_block(spec->env))))
            rc = mproc__fail(MPROC_ENOMEM);
    }
    PROCESS_INFORMATION pi;
    if (!rc) {
        /* No application name: CreateProcessW searches for argv[0] as Python's Popen does. */
        DWORD error = w32_create_process(NULL, cmdline, 0, env, cwd, std, &in, &pi);
        if (error)
            rc = map_start_error(error);
    }
    w32_inherit_close(&in);
    mproc__buf_free(&line);
    mproc_free(cmdline);
    mproc_free(cwd);
    mproc_free(env);
    if (null_device)
        CloseHandle(null_device);
    for (int i = 0; i < 3; i++)
        if (child_end[i])
            CloseHandle(child_end[i]);
    mpp_program *p = NULL;
    if (!rc) {
        CloseHandle(pi.hThread);
        p = mproc_calloc(1, sizeof *p);
        for (int i = 0; i < 3 && p; i++)
            if (parent_end[i] && !(pipes[i] = stream_new(parent_end[i], i == 0)))
                p = NULL;
        if (!p) {
            rc = mproc__fail(MPROC_ENOMEM);
            TerminateProcess(pi.hProcess, W32_EXIT_TERMINATED + W32_SIGNAL_KILL);
            WaitForSingleObject(pi.hProcess, 5000);
            CloseHandle(pi.hProcess);
        }
    }
    if (rc) {
        for (int i = 0; i < 3; i++) {
            if (pipes[i]) {
                mpp_stream_close(pipes[i]);
                pipes[i] = NULL;
            } else if (parent_end[i]) {
                CloseHandle(parent_end[i]);
            }
        }
        return rc;
    }
    p->process = pi.hProcess;
    *pid_out = pi.dwProcessId;
    *out = p;
    return 0;
}

int mpp_program_wait(mpp_program *p, int64_t timeout_ms, int *code)
{
    if (!p->reaped) {
        int rc =
            w32_process_ended(p->process, timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms, &p->code);
        if (rc <= 0)
            return rc ? rc : mproc__fail(MPROC_ETIMEDOUT);
        p->reaped = true;
    }
    *code = p->code;
    return 0;
}

int mpp_program_signal(mpp_program *p, bool force)
{
    return p->reaped ? 0 : w32_process_terminate(p->process, force);
}

void mpp_program_free(mpp_program *p)
{
    if (!p)
        return;
    CloseHandle(p->process);
    mproc_free(p);
}

bool mpp_env_ignores_case(void)
{
    return true;
}

char **mpp_environ_copy(void)
{
    wchar_t *block = GetEnvironmentStringsW();
    if (!block)
        return NULL;
    size_t count = 0, bytes = 0;
    for (wchar_t *at = block; *at; at += wcslen(at) + 1, count++)
        bytes += (size_t)WideCharToMultiByte(CP_UTF8, 0, at, -1, NULL, 0, NULL, NULL);
    char **copy = mproc_malloc((count + 1) * sizeof(char *) + bytes);
    if (copy) {
        char *text = (char *)(copy + count + 1);
        size_t i = 0;
        for (wchar_t *at = block; *at; at += wcslen(at) + 1, i++) {
            int n = WideCharToMultiByte(CP_UTF8, 0, at, -1, text, (int)bytes, NULL, NULL);
            copy[i] = text;
            text += n > 0 ? n : 0;
            bytes -= n > 0 ? (size_t)n : 0;
        }
        copy[count] = NULL;
    }
    FreeEnvironmentStringsW(block);
    return copy;
}
