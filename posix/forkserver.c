/* The fork server: a fresh run of our executable, started on first use, that forks a
 * child for each request. A request passes one end of a new socketpair (SCM_RIGHTS);
 * the server answers REC_PID on it, the child reads its payload from it and answers
 * REC_ACK, and the server reports REC_EXIT when it reaps the child. The server ends when
 * its control socket reaches EOF, i.e. when the last process holding the client end (the
 * parent) is gone, and then kills the children it still has. */
#include "posix.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(MPP_LINUX)
#include <sys/prctl.h>
#endif

#define REQUEST_TIMEOUT_MS 10000

/* ---- client ------------------------------------------------------------------------------ */

static pthread_mutex_t server_lock = PTHREAD_MUTEX_INITIALIZER;
static int server_fd = -1;
static pid_t server_pid;

/* For the test harness: the server is an expected child of the test process. */
int64_t mpp_test_helper_pid(void)
{
    return server_pid;
}

mpp_handle mpp_test_kept_handle(void)
{
    return server_fd;
}

static int start_server(void)
{
    int sv[2];
    int rc = px_socketpair(sv);
    if (rc)
        return rc;
    rc = px_spawn_self(ARG_FORKSERVER, sv[1], &server_pid);
    close(sv[1]);
    if (rc) {
        close(sv[0]);
        server_pid = 0;
        return rc;
    }
    server_fd = sv[0];
    mproc_log(MPROC_LOG_DEBUG, "fork server started, pid %lld", (long long)server_pid);
    return 0;
}

/* Drops a server that no longer answers (killed from outside). */
static void drop_server(void)
{
    close(server_fd);
    server_fd = -1;
    kill(server_pid, SIGKILL);
    int status;
    while (waitpid(server_pid, &status, 0) < 0 && errno == EINTR) {
    }
    server_pid = 0;
}

static int send_fd(int sock, int fd)
{
    char byte = 'F';
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    int64_t deadline = mproc__deadline(REQUEST_TIMEOUT_MS);
    for (;;) {
#ifdef MSG_NOSIGNAL
        ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
#else
        ssize_t n = sendmsg(sock, &msg, MSG_DONTWAIT);
#endif
        if (n == 1)
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int ready = px_wait_fd(sock, POLLOUT, mproc__remaining(deadline));
            if (ready <= 0)
                return ready < 0 ? ready : mproc__fail(MPROC_ETIMEDOUT);
            continue;
        }
        return mproc__fail_os_now();
    }
}

static void forget_server(void)
{
    /* A forked child must not share the parent's server: requests of two processes would
     * interleave on one socket. It starts its own on first use. */
    if (server_fd >= 0)
        close(server_fd);
    server_fd = -1;
    server_pid = 0;
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    memcpy(&server_lock, &fresh, sizeof fresh);
}

static mproc__fork_hook fork_hook = {.fn = forget_server};

int px_forkserver_request(int fd)
{
    /* Registered before server_lock is first taken (the fork start method forks under the
     * core lock, which registering takes): a child forked while a thread here holds the
     * lock or the server always has the hook to drop both. */
    mproc__at_fork_child(&fork_hook);
    pthread_mutex_lock(&server_lock);
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (server_fd < 0 && (rc = start_server()) != 0)
            break;
        rc = send_fd(server_fd, fd);
        if (rc != MPROC_ECLOSED)
            break;
        drop_server(); /* it died: start another once */
    }
    pthread_mutex_unlock(&server_lock);
    return rc;
}

/* ---- server ------------------------------------------------------------------------------- */

typedef struct served_child {
    pid_t pid;
    int fd;
} served_child;

static served_child *served;
static size_t served_count, served_cap;
static int sigchld_pipe[2] = {-1, -1};

static void on_sigchld(int sig)
{
    (void)sig;
    int saved = errno;
    char byte = 0;
    ssize_t ignored = write(sigchld_pipe[1], &byte, 1);
    (void)ignored;
    errno = saved;
}

static void send_record(int fd, uint32_t tag, int32_t code, int64_t value)
{
    chan_record rec = {.tag = tag, .code = code, .value = value};
    px_send_all(fd, &rec, sizeof rec, mproc__deadline(1000)); /* a gone client is fine */
}

static int recv_fd(int sock, int *fd)
{
    char byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf};
    ssize_t n;
    while ((n = recvmsg(sock, &msg, 0)) < 0 && errno == EINTR) {
    }
    if (n <= 0)
        return -1; /* EOF: the clients are gone */
    *fd = -1;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
            memcpy(fd, CMSG_DATA(cm), sizeof *fd);
    return 0;
}

_Noreturn static void served_child_main(int ctl_fd, int fd, pid_t server)
{
    signal(SIGCHLD, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    close(ctl_fd);
    close(sigchld_pipe[0]);
    close(sigchld_pipe[1]);
    for (size_t i = 0; i < served_count; i++)
        close(served[i].fd);
#if defined(MPP_LINUX)
    /* The server is single-threaded, so this fires exactly when it dies. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != server)
        _exit(1);
#else
    (void)server;
#endif
    int32_t flags;
    mproc_bytes payload = {0};
    mproc__handles handles = {0};
    if (px_read_payload(fd, mproc__deadline(60000), &flags, &payload, &handles) != 0)
        _exit(1);
    px_child_run(fd, MODE_FORKSERVER, &payload, &handles);
}

static void serve_request(int ctl_fd)
{
    int fd;
    if (recv_fd(ctl_fd, &fd) < 0) {
        /* Every client is gone: take the children with us. */
        for (size_t i = 0; i < served_count; i++)
            kill(served[i].pid, SIGKILL);
        for (size_t i = 0; i < served_count; i++)
            while (waitpid(served[i].pid, NULL, 0) < 0 && errno == EINTR) {
            }
        _exit(0);
    }
    if (fd < 0)
        return;
    px_set_cloexec(fd, true);
    if (served_count == served_cap) {
        size_t cap = served_cap ? served_cap * 2 : 16;
        served_child *grown = mproc_realloc(served, cap * sizeof *grown);
        if (!grown) {
            send_record(fd, REC_PID, ENOMEM, -1);
            close(fd);
            return;
        }
        served = grown;
        served_cap = cap;
    }
    pid_t server = getpid();
    pid_t pid = fork();
    if (pid == 0)
        served_child_main(ctl_fd, fd, server);
    if (pid < 0) {
        send_record(fd, REC_PID, errno, -1);
        close(fd);
        return;
    }
    served[served_count++] = (served_child){pid, fd};
    send_record(fd, REC_PID, 0, pid);
}

static void reap_served(void)
{
    char drain[64];
    while (read(sigchld_pipe[0], drain, sizeof drain) > 0) {
    }
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (size_t i = 0; i < served_count; i++) {
            if (served[i].pid != pid)
                continue;
            send_record(served[i].fd, REC_EXIT, status, pid);
            close(served[i].fd);
            served[i] = served[--served_count];
            break;
        }
    }
}

_Noreturn void px_forkserver_main(int ctl_fd)
{
    px_set_cloexec(ctl_fd, true);
    /* Ctrl-C in a terminal goes to the whole process group; the parent decides what
     * happens to children, not the server. */
    signal(SIGINT, SIG_IGN);
    if (pipe(sigchld_pipe) < 0)
        _exit(1);
    for (int i = 0; i < 2; i++) {
        px_set_cloexec(sigchld_pipe[i], true);
        fcntl(sigchld_pipe[i], F_SETFL, fcntl(sigchld_pipe[i], F_GETFL) | O_NONBLOCK);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);

    for (;;) {
        struct pollfd pfd[2] = {{.fd = ctl_fd, .events = POLLIN},
                                {.fd = sigchld_pipe[0], .events = POLLIN}};
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            _exit(1);
        }
        if (pfd[1].revents)
            reap_served();
        if (pfd[0].revents)
            serve_request(ctl_fd);
    }
}
