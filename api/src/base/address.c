/* Manager addresses ("host:port", "local:NAME"), parsed once for both backends. */
#include <stdio.h>
#include <string.h>

#include "base/base.h"

static bool host_char_ok(char ch, bool bracketed)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
        ch == '-' || ch == '.' || ch == '_')
        return true;
    return bracketed && (ch == ':' || ch == '%');
}

int mproc__parse_address(const char *address, mproc__net_addr *a)
{
    memset(a, 0, sizeof *a);
    if (!address)
        return mproc__fail(MPROC_EINVAL);
    if (strncmp(address, "local:", 6) == 0) {
        const char *name = address + 6;
        size_t n = strlen(name);
        if (n == 0 || n >= sizeof a->host || strpbrk(name, "/\\"))
            return mproc__fail(MPROC_EINVAL);
        a->local = true;
        memcpy(a->host, name, n + 1);
        return 0;
    }
    const char *colon = strrchr(address, ':');
    if (!colon)
        return mproc__fail(MPROC_EINVAL);
    const char *host = address;
    size_t hlen = (size_t)(colon - address);
    bool bracketed = hlen > 0 && host[0] == '[';
    if (bracketed) {
        if (hlen < 3 || host[hlen - 1] != ']')
            return mproc__fail(MPROC_EINVAL);
        host++;
        hlen -= 2;
    }
    if (hlen >= sizeof a->host)
        return mproc__fail(MPROC_EINVAL);
    for (size_t i = 0; i < hlen; i++)
        if (!host_char_ok(host[i], bracketed))
            return mproc__fail(MPROC_EINVAL);
    const char *port = colon + 1;
    size_t plen = strlen(port);
    if (plen == 0 || plen > 5)
        return mproc__fail(MPROC_EINVAL);
    unsigned long value = 0;
    for (size_t i = 0; i < plen; i++) {
        if (port[i] < '0' || port[i] > '9')
            return mproc__fail(MPROC_EINVAL);
        value = value * 10 + (unsigned long)(port[i] - '0');
    }
    if (value > 65535)
        return mproc__fail(MPROC_EINVAL);
    snprintf(a->port, sizeof a->port, "%lu", value);
    if (hlen == 0)
        strcpy(a->host, "127.0.0.1");
    else
        memcpy(a->host, host, hlen);
    return 0;
}
