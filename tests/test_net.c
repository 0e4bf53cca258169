/* Listening and connecting (the backend calls managers stand on): TCP and local echo of
 * 1 MiB each way, refused and malformed addresses, accept timeouts, an address in use, the
 * end of a closed peer, many clients at once, and the random generator. */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/modules.h" /* the core's listen, accept and connect */

#if defined(__linux__)
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#endif

static int64_t deadline_in(int64_t ms)
{
    return mpp_monotonic_ms() + ms;
}

/* All of buf within ms, or an error (MPROC_ETIMEDOUT when the time ran out). */
static int send_all(mpp_conn *c, const void *buf, size_t len, int64_t ms)
{
    size_t done = 0;
    int rc = mpp_conn_write(c, buf, len, deadline_in(ms), &done);
    return rc ? rc : done == len ? 0 : MPROC_ETIMEDOUT;
}

static int recv_all(mpp_conn *c, void *buf, size_t len, int64_t ms)
{
    int64_t deadline = deadline_in(ms);
    size_t have = 0;
    while (have < len) {
        size_t got = 0;
        int rc = mpp_conn_read(c, (char *)buf + have, len - have, deadline, &got);
        if (rc)
            return rc;
        if (got == 0)
            return MPROC_ETIMEDOUT;
        have += got;
    }
    return 0;
}

#define ECHO_SIZE ((size_t)1 << 20)
#define SEED_UP 5u
#define SEED_DOWN 11u

/* The client side of an echo: sends size bytes (SEED_UP), reads size bytes back
 * (SEED_DOWN). 0, an MPROC_E… code, or 1 when the bytes that came back were wrong. */
static int client_exchange(const char *address, size_t size)
{
    mpp_conn *c;
    int rc = mproc__connect(address, 10000, &c);
    if (rc)
        return rc;
    uint8_t *buf = malloc(size);
    if (!buf) {
        mpp_conn_close(c);
        return MPROC_ENOMEM;
    }
    fill(buf, size, SEED_UP);
    rc = send_all(c, buf, size, 60000);
    if (!rc) {
        memset(buf, 0, size);
        rc = recv_all(c, buf, size, 60000);
        if (!rc && !filled(buf, size, SEED_DOWN))
            rc = 1;
    }
    free(buf);
    mpp_conn_close(c);
    return rc;
}

/* The server side: accepts one client and answers its size bytes with size of its own. */
static void serve_exchange(mproc__listener *l, size_t size)
{
    mpp_conn *c;
    assert_ok(mproc__accept(l, 20000, &c));
    uint8_t *buf = malloc(size);
    assert_non_null(buf);
    assert_ok(recv_all(c, buf, size, 60000));
    assert_true(filled(buf, size, SEED_UP));
    fill(buf, size, SEED_DOWN);
    assert_ok(send_all(c, buf, size, 60000));
    /* the client closes once it has everything: then this end reads the end */
    size_t got = 0;
    assert_rc(mpp_conn_read(c, buf, 1, deadline_in(20000), &got), MPROC_ECLOSED);
    free(buf);
    mpp_conn_close(c);
}

typedef struct exchange {
    const char *address;
    size_t size;
    int rc;
} exchange;

static void exchange_thread(void *arg)
{
    exchange *e = arg;
    e->rc = client_exchange(e->address, e->size);
}

/* (address): the client side of an echo of ECHO_SIZE bytes, in another process. */
MPROC_TASK(net_echo_client, in, out)
{
    (void)out;
    mproc_unpacker u;
    const char *address;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_str(&u, &address))
        return 100;
    int rc = client_exchange(address, ECHO_SIZE);
    return rc == 0 ? 0 : rc == 1 ? 101 : 102 - rc; /* 103.. for MPROC_E… codes */
}

static uint16_t port_of(const char *bound)
{
    const char *colon = strrchr(bound, ':');
    assert_non_null(colon);
    long port = strtol(colon + 1, NULL, 10);
    assert_true(port > 0 && port <= 65535);
    return (uint16_t)port;
}

static void local_name(char *buf, size_t size, const char *tag)
{
    snprintf(buf, size, "local:mproc-test-%s-%lld", tag, (long long)mpp_getpid());
}

/* Connects a client to l and accepts it: the two ends of one connection. */
static void connected_pair(mproc__listener *l, const char *address, mpp_conn **client,
                           mpp_conn **server)
{
    assert_ok(mproc__connect(address, 10000, client));
    assert_ok(mproc__accept(l, 10000, server));
}

/* ---- cases ---------------------------------------------------------------------------------- */

static void tcp_echo(void **state)
{
    (void)state;
    mproc__listener *l;
    char bound[128];
    assert_ok(mproc__listen("127.0.0.1:0", &l, bound, sizeof bound));
    assert_true(strncmp(bound, "127.0.0.1:", 10) == 0);
    port_of(bound);
    exchange e = {bound, ECHO_SIZE, -100};
    harness_thread *t = harness_thread_start(exchange_thread, &e);
    serve_exchange(l, ECHO_SIZE);
    harness_thread_join(t);
    assert_rc(e.rc, 0);
    mproc__listener_close(l);
}

static void local_echo(void **state)
{
    (void)state;
    char address[96], bound[128];
    local_name(address, sizeof address, "echo");
    mproc__listener *l;
    assert_ok(mproc__listen(address, &l, bound, sizeof bound));
    assert_string_equal(bound, address);
    /* a client in another process */
    mproc_pack *args;
    assert_ok(mproc_pack_create(&args));
    assert_ok(mproc_pack_str(args, address));
    mproc_process *p = harness_start(MPROC_SPAWN, "net_echo_client", args);
    assert_non_null(p);
    serve_exchange(l, ECHO_SIZE);
    assert_int_equal(harness_join_code(p), 0);
    mproc_pack_destroy(args);
    /* and one in a thread of this process */
    exchange e = {address, ECHO_SIZE, -100};
    harness_thread *t = harness_thread_start(exchange_thread, &e);
    serve_exchange(l, ECHO_SIZE);
    harness_thread_join(t);
    assert_rc(e.rc, 0);
    mproc__listener_close(l);
}

static void connect_refused_is_closed(void **state)
{
    (void)state;
    mproc__listener *l;
    char bound[128];
    mpp_conn *c = NULL;
    assert_ok(mproc__listen("127.0.0.1:0", &l, bound, sizeof bound));
    mproc__listener_close(l);
    assert_rc(mproc__connect(bound, 10000, &c), MPROC_ECLOSED);
    assert_null(c);
    char address[96];
    local_name(address, sizeof address, "nobody");
    assert_rc(mproc__connect(address, 5000, &c), MPROC_ECLOSED);
    assert_null(c);
    /* a local listener that was closed */
    local_name(address, sizeof address, "closed");
    assert_ok(mproc__listen(address, &l, NULL, 0));
    mproc__listener_close(l);
    assert_rc(mproc__connect(address, 5000, &c), MPROC_ECLOSED);
    assert_null(c);
}

static void accept_times_out(void **state)
{
    (void)state;
    char address[96];
    local_name(address, sizeof address, "accept");
    const char *addresses[] = {"127.0.0.1:0", address};
    for (int i = 0; i < 2; i++) {
        mproc__listener *l;
        mpp_conn *c = NULL;
        assert_ok(mproc__listen(addresses[i], &l, NULL, 0));
        assert_rc(mproc__accept(l, 0, &c), MPROC_ETIMEDOUT);
        int64_t start = mpp_monotonic_ms();
        assert_rc(mproc__accept(l, 300, &c), MPROC_ETIMEDOUT);
        int64_t took = mpp_monotonic_ms() - start;
        assert_true(took >= 250);
        assert_true(took < 10000);
        assert_null(c);
        /* still usable after timing out */
        char bound[128];
        mproc__listener_close(l);
        assert_ok(mproc__listen(addresses[i], &l, bound, sizeof bound));
        mpp_conn *a, *b;
        connected_pair(l, bound, &a, &b);
        assert_rc(mproc__accept(l, 50, &c), MPROC_ETIMEDOUT);
        assert_ok(send_all(a, "x", 1, 5000));
        char ch = 0;
        assert_ok(recv_all(b, &ch, 1, 5000));
        assert_int_equal(ch, 'x');
        mpp_conn_close(a);
        mpp_conn_close(b);
        mproc__listener_close(l);
    }
    assert_rc(mproc__accept(NULL, 0, &(mpp_conn *){NULL}), MPROC_EINVAL);
}

static void malformed_addresses(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "nocolon",
                         "127.0.0.1",
                         "127.0.0.1:",
                         "127.0.0.1:65536",
                         "127.0.0.1:99999",
                         "127.0.0.1:123456",
                         "127.0.0.1:-1",
                         "127.0.0.1:+80",
                         "127.0.0.1:12a",
                         "127.0.0.1: 80",
                         "::1:80",
                         "[::1:80",
                         "::1]:80",
                         "[]:80",
                         "bad host:80",
                         "local:",
                         "local:a/b",
                         "local:a\\b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mproc__listener *l = NULL;
        mpp_conn *c = NULL;
        int rc = mproc__listen(bad[i], &l, NULL, 0);
        if (rc != MPROC_EINVAL)
            fail_msg("mproc__listen(\"%s\") gave %s", bad[i], mproc_errname(rc));
        rc = mproc__connect(bad[i], 1000, &c);
        if (rc != MPROC_EINVAL)
            fail_msg("mproc__connect(\"%s\") gave %s", bad[i], mproc_errname(rc));
        assert_null(l);
        assert_null(c);
        assert_int_equal(mproc_last_os_error(), 0);
    }
    mproc__listener *l;
    mpp_conn *c;
    assert_rc(mproc__listen(NULL, &l, NULL, 0), MPROC_EINVAL);
    assert_rc(mproc__connect(NULL, 1000, &c), MPROC_EINVAL);
    assert_rc(mproc__listen("127.0.0.1:0", NULL, NULL, 0), MPROC_EINVAL);
    assert_rc(mproc__connect("127.0.0.1:1", 1000, NULL), MPROC_EINVAL);
    /* bound too small for the address: refused, nothing left listening */
    char small[8];
    assert_rc(mproc__listen("127.0.0.1:0", &l, small, sizeof small), MPROC_EINVAL);
    /* port 0 with leading zeros is well formed */
    char bound[128];
    assert_ok(mproc__listen("127.0.0.1:00000", &l, bound, sizeof bound));
    mproc__listener_close(l);
}

static void address_in_use(void **state)
{
    (void)state;
    mproc__listener *l, *l2 = NULL;
    char bound[128];
    assert_ok(mproc__listen("127.0.0.1:0", &l, bound, sizeof bound));
    assert_rc(mproc__listen(bound, &l2, NULL, 0), MPROC_EEXIST);
    assert_null(l2);
    /* A server that closed with a connection it ended first can listen there again. */
    mpp_conn *a, *b;
    connected_pair(l, bound, &a, &b);
    mpp_conn_close(b);
    char ch;
    assert_rc(recv_all(a, &ch, 1, 5000), MPROC_ECLOSED);
    mpp_conn_close(a);
    mproc__listener_close(l);
    char again[128];
    assert_ok(mproc__listen(bound, &l, again, sizeof again));
    assert_string_equal(again, bound);
    mproc__listener_close(l);

    char address[96];
    local_name(address, sizeof address, "inuse");
    assert_ok(mproc__listen(address, &l, NULL, 0));
    assert_rc(mproc__listen(address, &l2, NULL, 0), MPROC_EEXIST);
    assert_null(l2);
    mproc__listener_close(l);
    assert_ok(mproc__listen(address, &l, NULL, 0)); /* free again */
    mproc__listener_close(l);
}

static void peer_close_is_closed(void **state)
{
    (void)state;
    char address[96];
    local_name(address, sizeof address, "peer");
    const char *addresses[] = {"127.0.0.1:0", address};
    for (int i = 0; i < 2; i++) {
        mproc__listener *l;
        char bound[128];
        assert_ok(mproc__listen(addresses[i], &l, bound, sizeof bound));
        for (int closer = 0; closer < 2; closer++) {
            mpp_conn *a, *b;
            connected_pair(l, bound, &a, &b);
            mpp_conn *gone = closer ? b : a, *left = closer ? a : b;
            assert_ok(send_all(gone, "tail", 4, 5000));
            char buf[4];
            assert_ok(recv_all(left, buf, 4, 5000)); /* read before the peer closes */
            assert_memory_equal(buf, "tail", 4);
            mpp_conn_close(gone);
            assert_rc(recv_all(left, buf, 1, 5000), MPROC_ECLOSED);
            assert_rc(recv_all(left, buf, 1, 5000), MPROC_ECLOSED); /* and it stays so */
            /* writes fail once the peer's end is known to be gone */
            static uint8_t chunk[65536];
            int rc = 0;
            int64_t deadline = deadline_in(20000);
            while (rc == 0 && mpp_monotonic_ms() < deadline) {
                size_t done;
                rc = mpp_conn_write(left, chunk, sizeof chunk, deadline_in(1000), &done);
            }
            assert_rc(rc, MPROC_ECLOSED);
            mpp_conn_close(left);
        }
        mproc__listener_close(l);
    }
}

static void random_bytes(void **state)
{
    (void)state;
    uint8_t a[32], b[32], zero[32] = {0};
    assert_ok(mpp_random_bytes(a, sizeof a));
    assert_ok(mpp_random_bytes(b, sizeof b));
    assert_memory_not_equal(a, b, sizeof a);
    assert_memory_not_equal(a, zero, sizeof a);
    assert_memory_not_equal(b, zero, sizeof b);
    assert_ok(mpp_random_bytes(a, 0));
    size_t big = (size_t)1 << 20;
    uint8_t *p = calloc(1, big);
    assert_non_null(p);
    assert_ok(mpp_random_bytes(p, big));
    size_t zeros = 0;
    for (size_t i = 0; i < big; i++)
        zeros += p[i] == 0;
    assert_true(zeros < big / 128); /* about 1/256 of them */
    free(p);
    assert_rc(mpp_random_bytes(NULL, 4), MPROC_EINVAL);
}

#define CLIENTS 20
#define MSG 16

typedef struct small_client {
    const char *address;
    int index;
    int rc;
} small_client;

static void small_client_thread(void *arg)
{
    small_client *s = arg;
    mpp_conn *c;
    s->rc = mproc__connect(s->address, 30000, &c);
    if (s->rc)
        return;
    char msg[MSG + 1], reply[MSG];
    snprintf(msg, sizeof msg, "client %02d ......", s->index);
    s->rc = send_all(c, msg, MSG, 30000);
    if (!s->rc)
        s->rc = recv_all(c, reply, MSG, 30000);
    if (!s->rc && (reply[0] != 'S' || memcmp(reply + 1, msg + 1, MSG - 1) != 0))
        s->rc = 1;
    mpp_conn_close(c);
}

static void many_clients(void **state)
{
    (void)state;
    char address[96];
    local_name(address, sizeof address, "many");
    const char *addresses[] = {"127.0.0.1:0", address};
    for (int i = 0; i < 2; i++) {
        mproc__listener *l;
        char bound[128];
        assert_ok(mproc__listen(addresses[i], &l, bound, sizeof bound));
        small_client clients[CLIENTS];
        harness_thread *threads[CLIENTS];
        for (int k = 0; k < CLIENTS; k++) {
            clients[k] = (small_client){bound, k, -100};
            threads[k] = harness_thread_start(small_client_thread, &clients[k]);
        }
        for (int k = 0; k < CLIENTS; k++) {
            mpp_conn *c;
            assert_ok(mproc__accept(l, 30000, &c));
            char msg[MSG];
            assert_ok(recv_all(c, msg, MSG, 30000));
            assert_memory_equal(msg, "client ", 7);
            msg[0] = 'S';
            assert_ok(send_all(c, msg, MSG, 30000));
            mpp_conn_close(c);
        }
        for (int k = 0; k < CLIENTS; k++) {
            harness_thread_join(threads[k]);
            assert_rc(clients[k].rc, 0);
        }
        mproc__listener_close(l);
    }
}

static void ipv6_loopback(void **state)
{
    (void)state;
    mproc__listener *l;
    char bound[128];
    int rc = mproc__listen("[::1]:0", &l, bound, sizeof bound);
    if (rc == MPROC_ENOTSUP || rc == MPROC_EOS || rc == MPROC_ENOENT) {
        fprintf(stderr, "no IPv6 loopback here (%s, OS error %d)\n", mproc_errname(rc),
                mproc_last_os_error());
        skip();
    }
    assert_ok(rc);
    assert_true(strncmp(bound, "[::1]:", 6) == 0);
    exchange e = {bound, 4096, -100};
    harness_thread *t = harness_thread_start(exchange_thread, &e);
    serve_exchange(l, 4096);
    harness_thread_join(t);
    assert_rc(e.rc, 0);
    mproc__listener_close(l);
}

static void host_names_and_empty_host(void **state)
{
    (void)state;
    /* an empty host is loopback; "localhost" reaches it (trying each of its addresses) */
    mproc__listener *l;
    char bound[128], name[128];
    assert_ok(mproc__listen(":0", &l, bound, sizeof bound));
    assert_true(strncmp(bound, "127.0.0.1:", 10) == 0);
    snprintf(name, sizeof name, "localhost:%u", (unsigned)port_of(bound));
    mpp_conn *a, *b;
    connected_pair(l, name, &a, &b);
    assert_ok(send_all(a, "hi", 2, 5000));
    char buf[2];
    assert_ok(recv_all(b, buf, 2, 5000));
    assert_memory_equal(buf, "hi", 2);
    mpp_conn_close(a);
    mpp_conn_close(b);
    snprintf(name, sizeof name, ":%u", (unsigned)port_of(bound));
    connected_pair(l, name, &a, &b);
    mpp_conn_close(a);
    mpp_conn_close(b);
    mproc__listener_close(l);
    /* a wildcard listener reports the wildcard (with the real port), and a client reaches
     * it both at that address (connecting to a wildcard host goes to loopback) and at
     * 127.0.0.1 */
    assert_ok(mproc__listen("0.0.0.0:0", &l, bound, sizeof bound));
    if (strncmp(bound, "0.0.0.0:", 8) != 0 || port_of(bound) == 0)
        fail_msg("a listener on 0.0.0.0:0 reports %s", bound);
    connected_pair(l, bound, &a, &b);
    mpp_conn_close(a);
    mpp_conn_close(b);
    snprintf(name, sizeof name, "127.0.0.1:%u", (unsigned)port_of(bound));
    connected_pair(l, name, &a, &b);
    mpp_conn_close(a);
    mpp_conn_close(b);
    mproc__listener_close(l);
    /* a name that does not resolve */
    mpp_conn *c = NULL;
    int rc = mproc__connect("no-such-host.invalid:80", 5000, &c);
    assert_true(rc == MPROC_ENOENT || rc == MPROC_EOS);
    assert_null(c);
}

/* mpp_wait (connection.wait, conn poll) sees data and the end on accepted and connected
 * ends, alone and together with other kinds of ends. */
static void wait_sees_connections(void **state)
{
    (void)state;
    char address[96];
    local_name(address, sizeof address, "wait");
    mproc__listener *lt, *ll;
    char bound[128];
    assert_ok(mproc__listen("127.0.0.1:0", &lt, bound, sizeof bound));
    assert_ok(mproc__listen(address, &ll, NULL, 0));
    mpp_conn *tc, *ts, *lc, *ls, *pa, *pb;
    connected_pair(lt, bound, &tc, &ts);
    connected_pair(ll, address, &lc, &ls);
    assert_ok(mpp_pipe(&pa, &pb, true));
    bool ready[3];
    mpp_waitable one = {ts, MPP_NO_HANDLE};
    assert_int_equal(mpp_wait(&one, 1, 0, ready), 0);
    assert_int_equal(mpp_wait(&one, 1, 50, ready), 0);
    mpp_waitable all[3] = {{ts, MPP_NO_HANDLE}, {ls, MPP_NO_HANDLE}, {pa, MPP_NO_HANDLE}};
    assert_int_equal(mpp_wait(all, 3, 50, ready), 0);
    assert_ok(send_all(tc, "t", 1, 5000));
    assert_int_equal(mpp_wait(&one, 1, 5000, ready), 1);
    assert_true(ready[0]);
    assert_int_equal(mpp_wait(all, 3, 5000, ready), 1);
    assert_true(ready[0] && !ready[1] && !ready[2]);
    char ch;
    assert_ok(recv_all(ts, &ch, 1, 5000));
    assert_ok(send_all(lc, "l", 1, 5000));
    assert_int_equal(mpp_wait(all, 3, 5000, ready), 1);
    assert_true(!ready[0] && ready[1] && !ready[2]);
    assert_ok(recv_all(ls, &ch, 1, 5000));
    /* the end of a closed peer is "ready" too (a read then says so) */
    mpp_conn_close(tc);
    assert_int_equal(mpp_wait(all, 3, 5000, ready), 1);
    assert_true(ready[0]);
    assert_rc(recv_all(ts, &ch, 1, 5000), MPROC_ECLOSED);
    mpp_conn_close(ts);
    mpp_conn_close(lc);
    mpp_conn_close(ls);
    mpp_conn_close(pa);
    mpp_conn_close(pb);
    mproc__listener_close(lt);
    mproc__listener_close(ll);
}

/* Where the other side cannot take another client, connect gives up at its timeout. */
static void connect_times_out(void **state)
{
    (void)state;
#if defined(__linux__)
    /* A local socket with the smallest backlog, never accepting, fills up. */
    char address[96];
    local_name(address, sizeof address, "full");
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    const char *name = address + 6;
#if defined(MPROC_PORTABLE_POSIX)
    /* where the library then looks: a socket file in TMPDIR (posix/net.c) */
    const char *dir = getenv("TMPDIR");
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", dir && *dir ? dir : "/tmp", name);
    socklen_t len = (socklen_t)sizeof sa;
    unlink(sa.sun_path);
#else
    memcpy(sa.sun_path + 1, name, strlen(name));
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
#endif
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
    assert_int_equal(listen(fd, 0), 0);
    mpp_conn *held[8];
    int n = 0, rc = 0;
    while (n < 8 && (rc = mproc__connect(address, 300, &held[n])) == 0)
        n++;
    assert_rc(rc, MPROC_ETIMEDOUT);
    for (int i = 0; i < n; i++)
        mpp_conn_close(held[i]);
    close(fd);
#if defined(MPROC_PORTABLE_POSIX)
    unlink(sa.sun_path);
#endif
#elif defined(_WIN32)
    /* The one waiting pipe instance taken and no accept: the next client waits for one. */
    char address[96];
    local_name(address, sizeof address, "busy");
    mproc__listener *l;
    assert_ok(mproc__listen(address, &l, NULL, 0));
    mpp_conn *first, *second = NULL;
    assert_ok(mproc__connect(address, 5000, &first));
    int64_t start = mpp_monotonic_ms();
    assert_rc(mproc__connect(address, 300, &second), MPROC_ETIMEDOUT);
    assert_true(mpp_monotonic_ms() - start >= 250);
    assert_null(second);
    /* once accepted, a new instance waits again */
    mpp_conn *s1, *s2;
    assert_ok(mproc__accept(l, 5000, &s1));
    assert_ok(mproc__connect(address, 5000, &second));
    assert_ok(mproc__accept(l, 5000, &s2));
    mpp_conn_close(first);
    mpp_conn_close(second);
    mpp_conn_close(s1);
    mpp_conn_close(s2);
    mproc__listener_close(l);
#else
    skip();
#endif
}

#define HARNESS_CASES "cases/net.txt"
#include "harness_main.h"
