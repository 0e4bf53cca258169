/* Windows: shared memory segments, named segments, parking on shared words.
 *
 * Segments are pagefile-backed file mappings. An anonymous one has no name and travels
 * as a duplicated handle; a named one is "Local\mproc.<name>". Either way the kernel
 * frees the section with its last handle, killed processes included: nothing can leak.
 *
 * Parking: WaitOnAddress works inside one process only, so every shared object brings an
 * unnamed semaphore, duplicated into each process that uses the object. A waiter sleeps
 * on it; a waker releases as many units as it knows waiters. A unit released for a
 * waiter that timed out meanwhile stays in the semaphore and later shows up as one
 * spurious wake-up, which every caller tolerates (they re-check their condition). */
#include "win32.h"

#include <stdio.h>

static HANDLE create_mapping(size_t size, const wchar_t *name)
{
    uint64_t s = size;
    return CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, (DWORD)(s >> 32),
                              (DWORD)s, name);
}

int mpp_segment_create(size_t size, mpp_handle *out)
{
    HANDLE h = create_mapping(size, NULL);
    if (!h)
        return mproc__fail_os_now();
    *out = (mpp_handle)h;
    return 0;
}

int mpp_segment_map(mpp_handle h, size_t size, void **addr)
{
    void *p = MapViewOfFile((HANDLE)h, FILE_MAP_ALL_ACCESS, 0, 0, size);
    if (!p)
        return mproc__fail_os_now();
    *addr = p;
    return 0;
}

void mpp_segment_unmap(void *addr, size_t size)
{
    (void)size;
    if (addr)
        UnmapViewOfFile(addr);
}

void mpp_segment_discard(mpp_handle h, size_t offset, size_t len)
{
    /* A mapped section's pages cannot be decommitted; they stay until the last view goes. */
    (void)h;
    (void)offset;
    (void)len;
}

static wchar_t *os_name(const char *name)
{
    char buf[300];
    int n = snprintf(buf, sizeof buf, "Local\\mproc.%s", name);
    return n > 0 && (size_t)n < sizeof buf ? w32_utf16(buf) : NULL;
}

int mpp_named_create(const char *name, size_t size, mpp_handle *out)
{
    wchar_t *wide = os_name(name);
    if (!wide)
        return mproc__fail(MPROC_ETOOBIG);
    HANDLE h = create_mapping(size, wide);
    DWORD error = GetLastError();
    mproc_free(wide);
    if (!h)
        return mproc__fail_os((int)error);
    if (error == ERROR_ALREADY_EXISTS) {
        CloseHandle(h);
        return mproc__fail_os(ERROR_ALREADY_EXISTS);
    }
    *out = (mpp_handle)h;
    return 0;
}

int mpp_named_open(const char *name, mpp_handle *out, size_t *size)
{
    wchar_t *wide = os_name(name);
    if (!wide)
        return mproc__fail(MPROC_ETOOBIG);
    HANDLE h = OpenFileMappingW(FILE_MAP_ALL_ACCESS, FALSE, wide);
    DWORD error = GetLastError();
    mproc_free(wide);
    if (!h)
        return mproc__fail_os((int)error);
    /* The section's size is not queryable directly; a whole view shows it page-rounded. */
    void *view = MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0);
    MEMORY_BASIC_INFORMATION info;
    if (!view || !VirtualQuery(view, &info, sizeof info)) {
        int rc = mproc__fail_os_now();
        if (view)
            UnmapViewOfFile(view);
        CloseHandle(h);
        return rc;
    }
    UnmapViewOfFile(view);
    *out = (mpp_handle)h;
    *size = info.RegionSize;
    return 0;
}

int mpp_named_attach(mpp_handle received, const char *name, mpp_handle *out)
{
    (void)name;
    return mpp_handle_dup(received, out);
}

void mpp_named_release(const char *name, mpp_handle h)
{
    (void)name;
    CloseHandle((HANDLE)h);
}

int mpp_named_unlink(const char *name)
{
    /* A section's name goes with its last handle; the core marks it unlinked so that
     * opening it by name fails from now on, as on POSIX. */
    (void)name;
    return 0;
}

void mpp_named_sweep(void)
{
}

int mpp_park_create(mpp_handle *out)
{
    HANDLE h = CreateSemaphoreW(NULL, 0, 0x7fffffff, NULL);
    if (!h)
        return mproc__fail_os_now();
    *out = (mpp_handle)h;
    return 0;
}

void mpp_park_wait(mpp_handle park, uint32_t *word, uint32_t expected, int64_t timeout_ms)
{
    if (mproc__load_acquire(word) != expected || timeout_ms == 0)
        return;
    WaitForSingleObject((HANDLE)park, timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
}

void mpp_park_wake(mpp_handle park, uint32_t *word, uint32_t count)
{
    (void)word;
    if (count)
        ReleaseSemaphore((HANDLE)park, count > 0x7fffffff ? 0x7fffffff : (LONG)count, NULL);
}
