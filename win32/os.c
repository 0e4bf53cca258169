/* Windows: the OS primitives of platform.h (errors, clocks, the core lock, identity, CPU
 * counts, handles, threads) and the helpers the backend shares (text conversion, handle
 * inheritance, exit codes). They stand on base/error.c and base/memory.c alone. */
#include "win32.h"

#include <string.h>
#include <tlhelp32.h>

int mpp_os_error_now(void)
{
    return (int)GetLastError();
}

int mpp_map_os_error(int os_error)
{
    switch ((DWORD)os_error) {
    case ERROR_INVALID_HANDLE:
    case ERROR_INVALID_PARAMETER: return MPROC_EINVAL;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY: return MPROC_ENOMEM;
    case ERROR_TIMEOUT:
    case WAIT_TIMEOUT: return MPROC_ETIMEDOUT;
    case ERROR_BROKEN_PIPE:
    case ERROR_NO_DATA:
    case ERROR_PIPE_NOT_CONNECTED: return MPROC_ECLOSED;
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_NAME: return MPROC_ENOENT;
    case ERROR_ALREADY_EXISTS:
    case ERROR_FILE_EXISTS: return MPROC_EEXIST;
    case ERROR_ACCESS_DENIED: return MPROC_EPERM;
    case ERROR_NOT_SUPPORTED:
    case ERROR_CALL_NOT_IMPLEMENTED: return MPROC_ENOTSUP;
    case ERROR_ABANDONED_WAIT_0: return MPROC_EOWNERDEAD;
    default: return MPROC_EOS;
    }
}

int64_t mpp_monotonic_ms(void)
{
    return (int64_t)GetTickCount64();
}

int64_t mpp_monotonic_us(void)
{
    static LARGE_INTEGER freq;
    LARGE_INTEGER now;
    if (!freq.QuadPart)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    return (int64_t)(now.QuadPart / freq.QuadPart * 1000000 +
                     now.QuadPart % freq.QuadPart * 1000000 / freq.QuadPart);
}

void mpp_sleep_ms(int64_t ms)
{
    Sleep(ms > 0x7fffffff ? 0x7fffffff : (DWORD)ms);
}

static SRWLOCK core_lock = SRWLOCK_INIT;

void mpp_lock(void)
{
    AcquireSRWLockExclusive(&core_lock);
}

void mpp_unlock(void)
{
    ReleaseSRWLockExclusive(&core_lock);
}

void mpp_lock_reset(void)
{
    /* No fork on Windows: a child starts with a fresh lock anyway. */
}

int64_t mpp_getpid(void)
{
    return (int64_t)GetCurrentProcessId();
}

int64_t mpp_getppid(void)
{
    DWORD self = GetCurrentProcessId(), parent = 0;
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    if (snap == INVALID_HANDLE_VALUE)
        return 0;
    PROCESSENTRY32W e = {.dwSize = sizeof e};
    for (BOOL ok = Process32FirstW(snap, &e); ok; ok = Process32NextW(snap, &e))
        if (e.th32ProcessID == self)
            parent = e.th32ParentProcessID;
    CloseHandle(snap);
    return (int64_t)parent;
}

int mpp_cpu_count(void)
{
    DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
    return n > 0 ? (int)n : 1;
}

int mpp_cpu_count_usable(void)
{
    DWORD_PTR process_mask, system_mask;
    int n = 0;
    if (GetProcessAffinityMask(GetCurrentProcess(), &process_mask, &system_mask))
        for (; process_mask; process_mask &= process_mask - 1)
            n++;
    int all = mpp_cpu_count();
    return n > 0 && n < all ? n : all;
}

void mpp_write_stderr(const char *text, size_t len)
{
    HANDLE h = GetStdHandle(STD_ERROR_HANDLE);
    if (!h || h == INVALID_HANDLE_VALUE)
        return;
    while (len) {
        DWORD chunk = len > 1u << 30 ? 1u << 30 : (DWORD)len, written = 0;
        if (!WriteFile(h, text, chunk, &written, NULL) || written == 0)
            return;
        text += written;
        len -= written;
    }
}

wchar_t *w32_utf16(const char *utf8)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, NULL, 0);
    if (n <= 0)
        return NULL;
    wchar_t *w = mproc_malloc((size_t)n * sizeof *w);
    if (w && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, w, n) != n) {
        mproc_free(w);
        w = NULL;
    }
    return w;
}

char *w32_utf8(const wchar_t *utf16)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, utf16, -1, NULL, 0, NULL, NULL);
    if (n <= 0)
        return NULL;
    char *s = mproc_malloc((size_t)n);
    if (s && WideCharToMultiByte(CP_UTF8, 0, utf16, -1, s, n, NULL, NULL) != n) {
        mproc_free(s);
        s = NULL;
    }
    return s;
}

HANDLE w32_inherit_add(w32_inherit *in, HANDLE h)
{
    HANDLE copy = NULL;
    if (!h || h == INVALID_HANDLE_VALUE || in->count == (int)(sizeof in->list / sizeof in->list[0]))
        return NULL;
    if (!DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &copy, 0, TRUE,
                         DUPLICATE_SAME_ACCESS))
        return NULL;
    in->list[in->count++] = copy;
    return copy;
}

void w32_inherit_close(w32_inherit *in)
{
    for (int i = 0; i < in->count; i++)
        CloseHandle(in->list[i]);
    in->count = 0;
}

DWORD w32_create_process(const wchar_t *app, wchar_t *cmdline, DWORD flags, void *env,
                         const wchar_t *cwd, const HANDLE std[3], const w32_inherit *in,
                         PROCESS_INFORMATION *pi)
{
    STARTUPINFOEXW si;
    memset(&si, 0, sizeof si);
    si.StartupInfo.cb = sizeof si;
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = std[0];
    si.StartupInfo.hStdOutput = std[1];
    si.StartupInfo.hStdError = std[2];
    SIZE_T attr_size = 0;
    InitializeProcThreadAttributeList(NULL, 1, 0, &attr_size);
    LPPROC_THREAD_ATTRIBUTE_LIST attrs = mproc_malloc(attr_size);
    if (!attrs)
        return ERROR_NOT_ENOUGH_MEMORY;
    if (!InitializeProcThreadAttributeList(attrs, 1, 0, &attr_size)) {
        DWORD error = GetLastError();
        mproc_free(attrs);
        return error;
    }
    DWORD error = 0;
    /* With an empty list nothing at all is inherited. */
    BOOL inherit = in->count > 0;
    if (inherit &&
        !UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, (PVOID)in->list,
                                   (SIZE_T)in->count * sizeof(HANDLE), NULL, NULL))
        error = GetLastError();
    if (!error) {
        si.lpAttributeList = attrs;
        if (!CreateProcessW(app, cmdline, NULL, NULL, inherit,
                            flags | EXTENDED_STARTUPINFO_PRESENT | CREATE_UNICODE_ENVIRONMENT, env,
                            cwd, &si.StartupInfo, pi))
            error = GetLastError();
    }
    DeleteProcThreadAttributeList(attrs);
    mproc_free(attrs);
    return error;
}

int w32_exitcode(DWORD code)
{
    if (code == W32_EXIT_TERMINATED + W32_SIGNAL_TERM ||
        code == W32_EXIT_TERMINATED + W32_SIGNAL_KILL)
        return -(int)(code - W32_EXIT_TERMINATED);
    return (int)code;
}

int w32_process_ended(HANDLE process, DWORD ms, int *exitcode)
{
    DWORD w = WaitForSingleObject(process, ms);
    if (w == WAIT_TIMEOUT)
        return 0;
    DWORD code = 0;
    if (w != WAIT_OBJECT_0 || !GetExitCodeProcess(process, &code))
        return mproc__fail_os_now();
    *exitcode = w32_exitcode(code);
    return 1;
}

int w32_process_terminate(HANDLE process, bool force)
{
    UINT code = W32_EXIT_TERMINATED + (force ? W32_SIGNAL_KILL : W32_SIGNAL_TERM);
    if (!TerminateProcess(process, code) && WaitForSingleObject(process, 0) != WAIT_OBJECT_0)
        return mproc__fail_os_now();
    return 0;
}

/* ---- handles and other processes ---------------------------------------------------- */

int mpp_handle_dup(mpp_handle h, mpp_handle *out)
{
    HANDLE copy;
    if (!DuplicateHandle(GetCurrentProcess(), (HANDLE)h, GetCurrentProcess(), &copy, 0, FALSE,
                         DUPLICATE_SAME_ACCESS))
        return mproc__fail_os_now();
    *out = (mpp_handle)copy;
    return 0;
}

void mpp_handle_close(mpp_handle h)
{
    if (h != MPP_NO_HANDLE && h != 0)
        CloseHandle((HANDLE)h);
}

bool mpp_pid_alive(int64_t pid)
{
    if (pid <= 0)
        return false;
    HANDLE h = OpenProcess(SYNCHRONIZE, FALSE, (DWORD)pid);
    if (!h)
        return GetLastError() == ERROR_ACCESS_DENIED; /* exists, not ours to open */
    bool alive = WaitForSingleObject(h, 0) == WAIT_TIMEOUT;
    CloseHandle(h);
    return alive;
}

uint64_t mpp_thread_id(void)
{
    return GetCurrentThreadId();
}

/* ---- threads ------------------------------------------------------------------------ */

struct mpp_thread {
    HANDLE handle;
    void (*fn)(void *);
    void *arg;
};

struct mpp_mutex {
    SRWLOCK lock;
};

struct mpp_cond {
    CONDITION_VARIABLE cv;
};

static DWORD WINAPI thread_main(void *arg)
{
    mpp_thread *t = arg;
    t->fn(t->arg);
    return 0;
}

int mpp_thread_start(mpp_thread **out, void (*fn)(void *), void *arg)
{
    mpp_thread *t = mproc_calloc(1, sizeof *t);
    if (!t)
        return mproc__fail(MPROC_ENOMEM);
    t->fn = fn;
    t->arg = arg;
    t->handle = CreateThread(NULL, 0, thread_main, t, 0, NULL);
    if (!t->handle) {
        int rc = mproc__fail_os_now();
        mproc_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void mpp_thread_join(mpp_thread *t)
{
    if (!t)
        return;
    WaitForSingleObject(t->handle, INFINITE);
    CloseHandle(t->handle);
    mproc_free(t);
}

int mpp_mutex_create(mpp_mutex **out)
{
    mpp_mutex *m = mproc_calloc(1, sizeof *m);
    if (!m)
        return mproc__fail(MPROC_ENOMEM);
    InitializeSRWLock(&m->lock);
    *out = m;
    return 0;
}

void mpp_mutex_destroy(mpp_mutex *m)
{
    mproc_free(m);
}

void mpp_mutex_lock(mpp_mutex *m)
{
    AcquireSRWLockExclusive(&m->lock);
}

void mpp_mutex_unlock(mpp_mutex *m)
{
    ReleaseSRWLockExclusive(&m->lock);
}

int mpp_cond_create(mpp_cond **out)
{
    mpp_cond *c = mproc_calloc(1, sizeof *c);
    if (!c)
        return mproc__fail(MPROC_ENOMEM);
    InitializeConditionVariable(&c->cv);
    *out = c;
    return 0;
}

void mpp_cond_destroy(mpp_cond *c)
{
    mproc_free(c);
}

void mpp_cond_wait(mpp_cond *c, mpp_mutex *m, int64_t timeout_ms)
{
    DWORD ms = timeout_ms < 0                    ? INFINITE
               : timeout_ms >= (int64_t)INFINITE ? INFINITE - 1
                                                 : (DWORD)timeout_ms;
    SleepConditionVariableSRW(&c->cv, &m->lock, ms, 0);
}

void mpp_cond_signal(mpp_cond *c)
{
    WakeConditionVariable(&c->cv);
}

void mpp_cond_broadcast(mpp_cond *c)
{
    WakeAllConditionVariable(&c->cv);
}
