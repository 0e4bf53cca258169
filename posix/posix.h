/* Private to the POSIX backend. */
#ifndef MPROC_POSIX_H
#define MPROC_POSIX_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/types.h>

/* The Linux-only paths (futex, memfd, abstract sockets, /proc, pidfd, PDEATHSIG, accept4).
 * A portable-POSIX build (meson -Dportable_posix=true) turns them off on Linux and takes
 * the fallbacks a macOS or BSD build takes, so those run somewhere. */
#if defined(__linux__) && !defined(MPROC_PORTABLE_POSIX)
#define MPP_LINUX 1
#endif

#include "base/base.h"

/* Fixed-size record on a parent<->child channel (a stream socket). A PAYLOAD record is
 * followed by `value` bytes of payload. */
typedef struct chan_record {
    uint32_t tag;
    int32_t code;
    int64_t value;
} chan_record;

enum {
    REC_PAYLOAD = 1, /* parent -> child: code = flags, value = length */
    REC_ACK = 2,     /* child -> parent: code = 0 or the refusal */
    REC_PID = 3,     /* fork server -> parent: value = pid, or -1 with code = errno */
    REC_EXIT = 4,    /* fork server -> parent: code = raw wait status */
    REC_HANDLES = 5  /* parent -> child, before the payload: code fds ride on it
                        (SCM_RIGHTS), value = how many in all */
};
enum { PX_FDS_PER_MESSAGE = 64 };

/* REC_PAYLOAD flags */
enum {
    PAYLOAD_PDEATHSIG = 1
}; /* started from the main thread: a parent-death signal is
      safe (it fires when the creating thread exits) */

/* Command-line markers of the runs that mpp_init takes over. */
#define ARG_CHILD "--mproc-child"
#define ARG_FORKSERVER "--mproc-forkserver"

/* fd helpers; deadlines as in internal.h. They return 0 or a MPROC_E… code; reads give
 * MPROC_ECLOSED at end of file. */
int px_socketpair(int sv[2]);
int px_set_cloexec(int fd, bool on);
/* 1 ready, 0 timed out, <0 error. */
int px_wait_fd(int fd, short events, int64_t timeout_ms);
int px_send_all(int fd, const void *buf, size_t len, int64_t deadline);
int px_recv_all(int fd, void *buf, size_t len, int64_t deadline);
/* Reads one record; SCM_RIGHTS descriptors riding on it are appended to fds. */
int px_recv_record(int fd, chan_record *rec, mproc__handles *fds, int64_t deadline);
/* Reads the handles (appended to handles; may be NULL to drop them) and the payload. */
int px_read_payload(int fd, int64_t deadline, int32_t *flags, mproc_bytes *payload,
                    mproc__handles *handles);
/* Sends the fds for the child's copies, before its payload. */
int px_send_handles(int fd, const mpp_handle *handles, size_t n, int64_t deadline);
/* Decodes a wait() status the way Python does: exit code, or -signal. */
int px_exitcode_from_status(int status);
/* waitpid(pid, WNOHANG): 1 and *exitcode once reaped (255 if someone else reaped it and
 * its status is lost), 0 while it runs. */
int px_try_waitpid(pid_t pid, int *exitcode);

/* Starting our own executable (spawn_self.c). mpp_init records its path (and argv[0]);
 * px_spawn_self posix_spawns it with argv {argv0, marker, "<fd>"}, where fd is dup2'ed
 * into the child. */
void px_record_exe_path(const char *arg0);
int px_spawn_self(const char *marker, int fd, pid_t *pid);

/* Parent side (child.c): counts the threads that exist before the program makes any
 * (mpp_init), for the warning about fork from a threaded process. */
void px_count_threads_at_init(void);

/* Child side (bootstrap.c). */
/* A spawned child (mpp_init): reads the payload from its channel fd, then runs. */
_Noreturn void px_spawned_child_main(int fd);
/* Arms the parent-death handling in a fresh child (see process.h). */
void px_watch_parent(int channel_fd, int32_t flags, pid_t expected_parent);
/* Runs on in a fresh child once it has its channel and payload: enters the core.
 * handles: what came with the payload (NULL under fork: the parent's values hold). */
_Noreturn void px_child_run(int channel_fd, int mode, mproc_bytes *payload,
                            const mproc__handles *handles);
enum { MODE_FORK = 1, MODE_SPAWN = 2, MODE_FORKSERVER = 3 };

/* Fork server (forkserver.c). A forked child forgets its parent's server through an
 * after-fork hook the client registers (base.h). */
_Noreturn void px_forkserver_main(int ctl_fd);
/* Sends fd to the server, which forks a child that will read its payload from fd's peer. */
int px_forkserver_request(int fd);

bool px_is_main_thread(void);
#endif
