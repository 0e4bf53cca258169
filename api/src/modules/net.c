/* Listening and connecting (managers), once for both backends: the address is parsed
 * (mproc__parse_address), "local:NAME" goes to the backend's local sockets or named pipes,
 * "host:port" is resolved and each of its addresses tried in turn, and the bound address
 * is written out. The backend does one OS step at a time (platform.h: mpp_tcp_*,
 * mpp_local_*). */
#include <stdio.h>
#include <string.h>

#include "modules/modules.h"

struct mproc__listener {
    bool local;
    mpp_handle tcp;            /* TCP: the listening socket */
    mpp_local_listener *named; /* local */
};

/* Listens on the first of the host's addresses that takes it; when none does, the error
 * is the first address's. */
static int listen_tcp(mproc__listener *l, const mproc__net_addr *a)
{
    mpp_tcp_addr *list;
    int rc = mpp_tcp_resolve(a->host, a->port, &list);
    if (rc)
        return rc;
    rc = MPROC_ENOENT;
    for (const mpp_tcp_addr *p = list; p; p = mpp_tcp_addr_next(p)) {
        int r = mpp_tcp_listen(p, &l->tcp);
        if (r == 0) {
            rc = 0;
            break;
        }
        if (p == list)
            rc = r;
    }
    mpp_tcp_addr_free(list);
    return rc == MPROC_ENOENT ? mproc__fail(rc) : rc;
}

/* Whether host is a wildcard: 0.0.0.0, or :: with any scope. */
static bool wildcard_host(const char *host)
{
    return strcmp(host, "0.0.0.0") == 0 ||
           (strncmp(host, "::", 2) == 0 && (host[2] == 0 || host[2] == '%'));
}

/* The TCP address bound (the real port for port 0), a wildcard host kept as it is so that
 * a server on every interface says so (mproc__connect takes a wildcard for loopback). */
static int tcp_bound(mpp_handle listener, char *text, size_t cap)
{
    mproc__net_addr a;
    memset(&a, 0, sizeof a);
    int rc = mpp_tcp_bound(listener, &a);
    if (rc)
        return rc;
    bool v6 = strchr(a.host, ':') != NULL;
    int w = snprintf(text, cap, v6 ? "[%s]:%s" : "%s:%s", a.host, a.port);
    return w < 0 || (size_t)w >= cap ? mproc__fail(MPROC_EINVAL) : 0;
}

int mproc__listen(const char *address, mproc__listener **out, char *bound, size_t cap)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    mproc__net_addr a;
    int rc = mproc__parse_address(address, &a);
    if (rc)
        return rc;
    mproc__listener *l = mproc_calloc(1, sizeof *l);
    if (!l)
        return mproc__fail(MPROC_ENOMEM);
    l->tcp = MPP_NO_HANDLE;
    l->local = a.local;
    rc = a.local ? mpp_local_listen(a.host, &l->named) : listen_tcp(l, &a);
    if (!rc && bound) {
        if (a.local) {
            int w = snprintf(bound, cap, "local:%s", a.host);
            rc = w < 0 || (size_t)w >= cap ? mproc__fail(MPROC_EINVAL) : 0;
        } else {
            rc = tcp_bound(l->tcp, bound, cap);
        }
    }
    if (rc) {
        mproc__listener_close(l);
        return rc;
    }
    *out = l;
    return 0;
}

int mproc__accept(mproc__listener *l, int64_t timeout_ms, mpp_conn **out)
{
    if (!l || !out)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    int64_t deadline = mproc__deadline(timeout_ms);
    return l->local ? mpp_local_accept(l->named, deadline, out)
                    : mpp_tcp_accept(l->tcp, deadline, out);
}

static void listener_free(mproc__listener *l, bool owner)
{
    if (!l)
        return;
    if (l->named)
        mpp_local_close(l->named, owner);
    if (l->tcp != MPP_NO_HANDLE)
        mpp_tcp_close(l->tcp);
    mproc_free(l);
}

void mproc__listener_close(mproc__listener *l)
{
    listener_free(l, true);
}

void mproc__listener_abandon(mproc__listener *l)
{
    listener_free(l, false);
}

int mproc__connect(const char *address, int64_t timeout_ms, mpp_conn **out)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    mproc__net_addr a;
    int rc = mproc__parse_address(address, &a);
    if (rc)
        return rc;
    int64_t deadline = mproc__deadline(timeout_ms);
    if (a.local)
        return mpp_local_connect(a.host, deadline, out);
    /* a wildcard (a server's reported address on every interface) means this host:
     * loopback, which Windows needs (it refuses to connect to 0.0.0.0) */
    if (wildcard_host(a.host))
        strcpy(a.host, strchr(a.host, ':') ? "::1" : "127.0.0.1");
    /* (name lookup is not bounded by the timeout: getaddrinfo cannot be) */
    mpp_tcp_addr *list;
    rc = mpp_tcp_resolve(a.host, a.port, &list);
    if (rc)
        return rc;
    /* Each address in turn (a name may have an IPv6 and an IPv4 one) until one answers or
     * the time is up. */
    mpp_handle sock = MPP_NO_HANDLE;
    for (const mpp_tcp_addr *p = list; p; p = mpp_tcp_addr_next(p)) {
        rc = mpp_tcp_connect(p, deadline, &sock);
        if (rc == 0 || rc == MPROC_ETIMEDOUT)
            break;
    }
    mpp_tcp_addr_free(list);
    return rc ? rc : mpp_tcp_conn(sock, out);
}
