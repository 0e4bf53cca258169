/* Windows children: CreateProcessW of our own executable.
 *
 * The payload travels in an anonymous file mapping and the child's answer comes back
 * through an event; both handles (and the standard handles) reach the child only through
 * an explicit PROC_THREAD_ATTRIBUTE_HANDLE_LIST, as short-lived inheritable duplicates:
 * nothing the library creates is inheritable otherwise. Every child is put in a job
 * object that kills it when the job's last handle closes, i.e. when this process ends
 * in any way. */
#include "win32.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cmdline.h"

#define ARG_CHILD "--mproc-child"
/* The header at the start of the mapping. */
#define HANDOFF_MAGIC 0x6d70726f63484f31ull
#define ACK_PENDING 1

typedef struct handoff {
    uint64_t magic;
    volatile int32_t ack;
    int32_t reserved;
    uint64_t payload_len;
    uint64_t nhandles; /* the child's handle values follow the payload */
} handoff;

struct mpp_child {
    HANDLE process;
    DWORD pid;
};

static char *exe_path_utf8;
static HANDLE kill_on_close_job;

/* For the test harness: the job is created once, on first start. */
mpp_handle mpp_test_kept_handle(void)
{
    return kill_on_close_job ? (mpp_handle)kill_on_close_job : MPP_NO_HANDLE;
}

int64_t mpp_test_helper_pid(void)
{
    return 0; /* no fork server on Windows */
}

void mpp_test_set_exe_path(const char *path)
{
    static char *real;
    if (!real)
        real = exe_path_utf8;
    else if (exe_path_utf8 != real)
        mproc_free(exe_path_utf8);
    exe_path_utf8 = path ? mproc_strdup(path) : real;
}

bool mpp_method_available(int method)
{
    return method == MPROC_SPAWN;
}

int mpp_default_method(void)
{
    return MPROC_SPAWN;
}

static HANDLE job_for_children(void)
{
    mpp_lock();
    if (!kill_on_close_job) {
        HANDLE job = CreateJobObjectW(NULL, NULL);
        JOBOBJECT_EXTENDED_LIMIT_INFORMATION info;
        memset(&info, 0, sizeof info);
        info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        if (job &&
            !SetInformationJobObject(job, JobObjectExtendedLimitInformation, &info, sizeof info)) {
            CloseHandle(job);
            job = NULL;
        }
        kill_on_close_job = job;
    }
    HANDLE job = kill_on_close_job;
    mpp_unlock();
    return job;
}

/* Builds the child's command line: "exe" --mproc-child <mapping> <event>. */
static wchar_t *child_command_line(HANDLE mapping, HANDLE event)
{
    char mapping_text[32], event_text[32];
    snprintf(mapping_text, sizeof mapping_text, "%llu", (unsigned long long)(uintptr_t)mapping);
    snprintf(event_text, sizeof event_text, "%llu", (unsigned long long)(uintptr_t)event);
    const char *argv[] = {exe_path_utf8, ARG_CHILD, mapping_text, event_text, NULL};
    mproc__buf line = {0};
    wchar_t *wide = NULL;
    if (mproc__win_build_cmdline(&line, argv) == 0)
        wide = w32_utf16((const char *)line.data);
    mproc__buf_free(&line);
    return wide;
}

/* CreateProcessW of our own executable, suspended, inheriting only the mapping, the event
 * and the standard handles; returns 0 or an error. */
static int create_suspended(HANDLE mapping, HANDLE event, PROCESS_INFORMATION *pi)
{
    w32_inherit in = {0};
    HANDLE map_copy = w32_inherit_add(&in, mapping), event_copy = w32_inherit_add(&in, event);
    if (!map_copy || !event_copy) {
        int rc = mproc__fail_os_now();
        w32_inherit_close(&in);
        return rc;
    }
    HANDLE std[3];
    DWORD std_ids[] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};
    for (int i = 0; i < 3; i++)
        std[i] = w32_inherit_add(&in, GetStdHandle(std_ids[i]));
    int rc = 0;
    wchar_t *cmdline = child_command_line(map_copy, event_copy);
    wchar_t *exe = exe_path_utf8 ? w32_utf16(exe_path_utf8) : NULL;
    if (!cmdline || !exe) {
        rc = mproc__fail(MPROC_ENOMEM);
    } else {
        DWORD error = w32_create_process(exe, cmdline, CREATE_SUSPENDED, NULL, NULL, std, &in, pi);
        /* Wine, under load, now and then loses a new process in its loader before it runs
         * anything (CreateProcessW says ERROR_INTERNAL_ERROR: seen once in ~1,000 starts);
         * nothing of ours ran in it, so starting it again is safe. */
        for (int again = 0; error == ERROR_INTERNAL_ERROR && again < 2; again++) {
            Sleep(50);
            error = w32_create_process(exe, cmdline, CREATE_SUSPENDED, NULL, NULL, std, &in, pi);
        }
        if (error) {
            mproc__fail_os((int)error);
            mproc_log(MPROC_LOG_WARNING, "CreateProcessW failed: error %lu", (unsigned long)error);
            rc = MPROC_ESPAWN;
        }
    }
    mproc_free(cmdline);
    mproc_free(exe);
    w32_inherit_close(&in);
    return rc;
}

/* Waits for a refusing or stuck child to go, killing it if it lingers. */
static void reap_refused(HANDLE process)
{
    if (WaitForSingleObject(process, 5000) != WAIT_OBJECT_0) {
        TerminateProcess(process, W32_EXIT_TERMINATED + W32_SIGNAL_KILL);
        WaitForSingleObject(process, 5000);
    }
}

/* Copies the handles into the (suspended) child and writes the child's values after the
 * payload. A failure leaves copies in the child, which is then killed with them. */
static int give_handles(HANDLE process, handoff *view, const mpp_handle *handles, size_t n)
{
    uint64_t *values = (uint64_t *)((char *)(view + 1) + view->payload_len);
    for (size_t i = 0; i < n; i++) {
        HANDLE copy;
        if (!DuplicateHandle(GetCurrentProcess(), (HANDLE)handles[i], process, &copy, 0, FALSE,
                             DUPLICATE_SAME_ACCESS))
            return mproc__fail_os_now();
        memcpy(&values[i], &(uint64_t){(uint64_t)(uintptr_t)copy}, sizeof values[i]);
    }
    view->nhandles = n;
    return 0;
}

int mpp_child_start(mpp_child **out, int method, const mproc_bytes *payload,
                    const mpp_handle *handles, size_t nhandles, int64_t timeout_ms, int64_t *pid)
{
    (void)method; /* only spawn exists here */
    if (!exe_path_utf8)
        return mproc__fail(MPROC_ENOTINIT);
    HANDLE job = job_for_children();
    uint64_t size = sizeof(handoff) + payload->len + nhandles * sizeof(uint64_t);
    HANDLE mapping = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE,
                                        (DWORD)(size >> 32), (DWORD)size, NULL);
    HANDLE event = CreateEventW(NULL, TRUE, FALSE, NULL);
    handoff *view = mapping ? MapViewOfFile(mapping, FILE_MAP_ALL_ACCESS, 0, 0, 0) : NULL;
    if (!mapping || !event || !view) {
        int rc = mproc__fail_os_now();
        if (view)
            UnmapViewOfFile(view);
        if (mapping)
            CloseHandle(mapping);
        if (event)
            CloseHandle(event);
        return rc;
    }
    view->magic = HANDOFF_MAGIC;
    view->ack = ACK_PENDING;
    view->payload_len = payload->len;
    if (payload->len)
        memcpy(view + 1, payload->data, payload->len);

    PROCESS_INFORMATION pi;
    int rc = create_suspended(mapping, event, &pi);
    if (!rc && nhandles) {
        rc = give_handles(pi.hProcess, view, handles, nhandles);
        if (rc) {
            TerminateProcess(pi.hProcess, W32_EXIT_TERMINATED + W32_SIGNAL_KILL);
            WaitForSingleObject(pi.hProcess, 5000);
            CloseHandle(pi.hThread);
            CloseHandle(pi.hProcess);
        }
    }
    if (!rc) {
        /* Outside a job (or with nested jobs refused) the child still runs; it then only
         * lacks the kill-on-close guarantee. */
        if (!job || !AssignProcessToJobObject(job, pi.hProcess))
            mproc_log(MPROC_LOG_DEBUG, "child %lu is not in the kill-on-close job (error %lu)",
                      (unsigned long)pi.dwProcessId, (unsigned long)GetLastError());
        ResumeThread(pi.hThread);
        CloseHandle(pi.hThread);
        HANDLE waits[2] = {event, pi.hProcess};
        DWORD limit = timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms;
        DWORD w = WaitForMultipleObjects(2, waits, FALSE, limit);
        if (w == WAIT_OBJECT_0)
            rc = view->ack;
        else if (w == WAIT_OBJECT_0 + 1) {
            DWORD code = 0;
            GetExitCodeProcess(pi.hProcess, &code);
            mproc_log(MPROC_LOG_WARNING, "child %lu ended before taking its payload, code 0x%lx",
                      (unsigned long)pi.dwProcessId, (unsigned long)code);
            rc = MPROC_ESPAWN;
        } else
            rc = MPROC_ETIMEDOUT;
        if (rc) {
            if (rc == MPROC_ETIMEDOUT)
                TerminateProcess(pi.hProcess, W32_EXIT_TERMINATED + W32_SIGNAL_KILL);
            reap_refused(pi.hProcess);
            CloseHandle(pi.hProcess);
        }
    }
    UnmapViewOfFile(view);
    CloseHandle(mapping);
    CloseHandle(event);
    if (rc)
        return rc;
    mpp_child *c = mproc_calloc(1, sizeof *c);
    if (!c) {
        TerminateProcess(pi.hProcess, W32_EXIT_TERMINATED + W32_SIGNAL_KILL);
        CloseHandle(pi.hProcess);
        return mproc__fail(MPROC_ENOMEM);
    }
    c->process = pi.hProcess;
    c->pid = pi.dwProcessId;
    *out = c;
    *pid = c->pid;
    return 0;
}

void mpp_child_wait_hint(mpp_child *c, int64_t timeout_ms)
{
    WaitForSingleObject(c->process, timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
}

int mpp_child_try_reap(mpp_child *c, int *exitcode)
{
    return w32_process_ended(c->process, 0, exitcode);
}

mpp_handle mpp_child_sentinel(mpp_child *c)
{
    return (mpp_handle)c->process;
}

int mpp_child_signal(mpp_child *c, bool force)
{
    return w32_process_terminate(c->process, force);
}

void mpp_child_free(mpp_child *c)
{
    CloseHandle(c->process);
    mproc_free(c);
}

/* ---- child side ---------------------------------------------------------------------------- */

static handoff *child_view;
static HANDLE child_mapping, child_event;

void mpp_child_ack(int code)
{
    if (!child_view)
        return;
    child_view->ack = code;
    SetEvent(child_event);
    UnmapViewOfFile(child_view);
    CloseHandle(child_mapping);
    CloseHandle(child_event);
    child_view = NULL;
}

_Noreturn void mpp_exit(int code)
{
    fflush(NULL);
    _exit(code);
}

static HANDLE parse_handle(const char *text)
{
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    return *end ? NULL : (HANDLE)(uintptr_t)v;
}

_Noreturn static void spawned_child_main(HANDLE mapping, HANDLE event)
{
    handoff *view = MapViewOfFile(mapping, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    if (!view || view->magic != HANDOFF_MAGIC)
        _exit(1);
    child_view = view;
    child_mapping = mapping;
    child_event = event;
    /* The payload is copied out: the view goes with the acknowledgement. */
    mproc_bytes payload = {NULL, (size_t)view->payload_len};
    size_t nhandles = (size_t)view->nhandles;
    payload.data = mproc_malloc(payload.len ? payload.len : 1);
    mpp_handle *handles = mproc_malloc((nhandles ? nhandles : 1) * sizeof *handles);
    if (!payload.data || !handles) {
        mpp_child_ack(MPROC_ENOMEM);
        _exit(1);
    }
    memcpy(payload.data, view + 1, payload.len);
    const char *values = (const char *)(view + 1) + payload.len;
    for (size_t i = 0; i < nhandles; i++) {
        uint64_t v;
        memcpy(&v, values + i * sizeof v, sizeof v);
        handles[i] = (mpp_handle)v;
    }
    mproc__enter_child(&payload, handles, nhandles);
}

int mpp_init(int *argc, char ***argv)
{
    wchar_t buf[32768];
    DWORD n = GetModuleFileNameW(NULL, buf, sizeof buf / sizeof buf[0]);
    if (n == 0 || n >= sizeof buf / sizeof buf[0])
        return mproc__fail_os_now();
    exe_path_utf8 = w32_utf8(buf);
    if (!exe_path_utf8)
        return mproc__fail(MPROC_ENOMEM);
    char **args = argv ? *argv : NULL;
    if (args && argc && *argc >= 4 && strcmp(args[1], ARG_CHILD) == 0) {
        HANDLE mapping = parse_handle(args[2]), event = parse_handle(args[3]);
        if (mapping && event)
            spawned_child_main(mapping, event);
    }
    return 0;
}

int mpp_give_handles(mpp_child *c, mpp_conn *via, const mpp_handle *handles, size_t n,
                     uint64_t *values, int64_t deadline)
{
    (void)via;
    (void)deadline;
    if (!c || (n && (!handles || !values)))
        return mproc__fail(MPROC_EINVAL);
    for (size_t i = 0; i < n; i++) {
        HANDLE copy;
        if (!DuplicateHandle(GetCurrentProcess(), (HANDLE)handles[i], c->process, &copy, 0, FALSE,
                             DUPLICATE_SAME_ACCESS)) {
            int rc = mproc__fail_os_now();
            /* Take back what went already, so the child is not left holding them. */
            for (size_t j = 0; j < i; j++)
                DuplicateHandle(c->process, (HANDLE)(uintptr_t)values[j], NULL, NULL, 0, FALSE,
                                DUPLICATE_CLOSE_SOURCE);
            return rc;
        }
        values[i] = (uint64_t)(uintptr_t)copy;
    }
    return 0;
}

bool mpp_give_handles_needs_conn(void)
{
    return false; /* DuplicateHandle puts them into the child's process */
}

int mpp_take_handles(mpp_conn *via, const uint64_t *values, size_t n, mpp_handle *out,
                     int64_t deadline)
{
    (void)via;
    (void)deadline;
    for (size_t i = 0; i < n; i++)
        out[i] = (mpp_handle)(uintptr_t)values[i];
    return 0;
}
