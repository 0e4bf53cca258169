/* The base layer: what every file of the library may use, the backends included. It knows
 * no module. Its files stand on the C library and on the OS primitives of platform.h,
 * except error.c and memory.c, which stand on the C library alone (the OS primitives use
 * them). See doc/design.md for the layers. */
#ifndef MPROC_BASE_H
#define MPROC_BASE_H

#include "mproc/common.h"
#include "mproc/error.h"
#include "mproc/log.h"
#include "platform.h"
#include "base/atomics.h"

/* ---- errors (error.c) ------------------------------------------------------------------ */
/* Records "no OS error" and returns code (for failures that are not the OS's). */
int mproc__fail(int code);
/* Records os_error as the calling thread's last OS error (mproc_last_os_error). */
void mproc__record_os_error(int os_error);
/* Records os_error and returns its MPROC_E… code. */
static inline int mproc__fail_os(int os_error)
{
    mproc__record_os_error(os_error);
    return mpp_map_os_error(os_error);
}
/* Same with the calling thread's current OS error. */
static inline int mproc__fail_os_now(void)
{
    return mproc__fail_os(mpp_os_error_now());
}

/* ---- memory (memory.c) ----------------------------------------------------------------- */
/* Growable byte buffer used by packs and payloads. */
typedef struct mproc__buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} mproc__buf;
int mproc__buf_reserve(mproc__buf *b, size_t extra);
int mproc__buf_append(mproc__buf *b, const void *data, size_t len);
void mproc__buf_free(mproc__buf *b);

/* Copies count strings into one mproc_malloc block: a NULL-terminated array followed by
 * the text (free it with one mproc_free). NULL when out of memory. */
char **mproc__string_array(const char *const *items, size_t count);

/* Little-endian integers in byte buffers (packs, the manager's wire format). */
static inline void mproc__put_u32le(uint8_t *dst, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        dst[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t mproc__get_u32le(const uint8_t *src)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)src[i] << (8 * i);
    return v;
}
static inline void mproc__put_u64le(uint8_t *dst, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        dst[i] = (uint8_t)(v >> (8 * i));
}
static inline uint64_t mproc__get_u64le(const uint8_t *src)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)src[i] << (8 * i);
    return v;
}

/* ---- deadlines (deadline.c) -------------------------------------------------------------
 * A deadline is an absolute mpp_monotonic_ms() value, -1 = never. */
int64_t mproc__deadline(int64_t timeout_ms);
/* Milliseconds left (0 when passed, MPROC_FOREVER for no deadline). */
int64_t mproc__remaining(int64_t deadline);

/* ---- handle lists (handles.c) ---------------------------------------------------------- */
/* A list of handles this process owns. */
typedef struct mproc__handles {
    mpp_handle *items;
    size_t count, cap;
} mproc__handles;
int mproc__handles_push(mproc__handles *h, mpp_handle v);
/* Closes every handle and empties the list. */
void mproc__handles_close(mproc__handles *h);

/* ---- identity (identity.c) --------------------------------------------------------------
 * Who this process is: "MainProcess", or Process-N and its parent. mproc_current_name,
 * mproc_parent_name, mproc_getpid and mproc_getppid read it; log records show the name. */
/* "" in the main process, "1:2" in Process-1:2: the prefix of its children's identities. */
const char *mproc__identity(void);
/* Set once in a child, from its payload: false (nothing changed) if a text is too long. */
bool mproc__set_identity(const char *name, const char *identity, const char *parent_name,
                         int64_t parent_pid);
/* Room for a name or an identity, the terminating NUL included. */
#define MPROC__NAME_MAX 256

/* ---- hooks (hooks.c) ----------------------------------------------------------------------
 * How lower layers reach what higher layers registered, so that no file calls upwards.
 *
 * After-fork hooks (as CPython's multiprocessing.util.register_after_fork): a module that
 * holds something a forked child must not keep (its pipe ends, a manager's sockets, the
 * fork server's channel) registers a hook once, when it first holds such a thing. The
 * child runs every hook, in the order registered, before its task; only its own thread
 * exists then. A hook is a static object of the module's. */
typedef struct mproc__fork_hook {
    void (*fn)(void);
    struct mproc__fork_hook *next;
    bool registered;
} mproc__fork_hook;
/* Registers h (once: later calls do nothing). Takes the core lock. */
void mproc__at_fork_child(mproc__fork_hook *h);
/* In a forked child: runs the hooks. */
void mproc__run_fork_hooks(void);

/* The core's child main (modules/process.c sets it at mproc_init): a backend that started
 * a child and received its payload and handles (NULL under fork: the parent's values hold)
 * enters it; it runs the task and ends the process. */
typedef void (*mproc__child_entry_fn)(mproc_bytes *payload, const mpp_handle *handles,
                                      size_t nhandles);
void mproc__set_child_entry(mproc__child_entry_fn fn);
_Noreturn void mproc__enter_child(mproc_bytes *payload, const mpp_handle *handles, size_t nhandles);

/* ---- addresses (address.c) --------------------------------------------------------------
 * A listening or connecting address (platform.h): "local:NAME", or "host:port" with host
 * a name, an IPv4 address, "[IPv6]" or empty (loopback). */
typedef struct mproc__net_addr {
    bool local;
    char host[256]; /* TCP: the host (no brackets; "127.0.0.1" when empty); local: NAME */
    char port[6];   /* TCP: the port in decimal */
} mproc__net_addr;
/* 0, or MPROC_EINVAL for a malformed address. */
int mproc__parse_address(const char *address, mproc__net_addr *a);

#endif
