/* The address parser ("host:port", "[IPv6]:port", ":port", "local:NAME") on any text.
 * Properties: it accepts exactly what a reference reading of the grammar accepts; a
 * rejected address leaves the result zeroed; an accepted one is formatted back and
 * parses to the same result (the port in canonical decimal, an empty host as loopback). */
#include "fuzz.h"

#include <string.h>

#include "base/base.h"

static bool host_ok(const char *h, size_t n, bool bracketed)
{
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.' || c == '_';
        if (!plain && !(bracketed && (c == ':' || c == '%')))
            return false;
    }
    return true;
}

/* The grammar, read independently of address.c. */
static bool reference_accepts(const char *text)
{
    size_t len = strlen(text);
    if (len >= 6 && !memcmp(text, "local:", 6)) {
        const char *name = text + 6;
        return name[0] && strlen(name) < 256 && !strchr(name, '/') && !strchr(name, '\\');
    }
    const char *colon = strrchr(text, ':');
    if (!colon)
        return false;
    const char *port = colon + 1;
    size_t plen = strlen(port);
    if (plen < 1 || plen > 5 || strspn(port, "0123456789") != plen ||
        strtol(port, NULL, 10) > 65535)
        return false;
    const char *host = text;
    size_t hlen = (size_t)(colon - text);
    if (hlen && host[0] == '[') {
        if (hlen < 3 || host[hlen - 1] != ']')
            return false;
        return hlen - 2 < 256 && host_ok(host + 1, hlen - 2, true);
    }
    return hlen < 256 && host_ok(host, hlen, false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1024)
        return 0;
    char text[1025];
    memcpy(text, data, size);
    text[size] = 0; /* the text ends at its first NUL, as a C caller's would */
    mproc__net_addr a, zero;
    memset(&zero, 0, sizeof zero);
    int rc = mproc__parse_address(text, &a);
    FUZZ_CHECK(rc == 0 || rc == MPROC_EINVAL);
    FUZZ_CHECK((rc == 0) == reference_accepts(text));
    if (rc) {
        FUZZ_CHECK(!memcmp(&a, &zero, sizeof a));
        return 0;
    }
    char again[300];
    if (a.local) {
        FUZZ_CHECK(a.host[0] && !strchr(a.host, '/') && !strchr(a.host, '\\'));
        FUZZ_CHECK(!strcmp(a.host, text + 6));
        snprintf(again, sizeof again, "local:%s", a.host);
    } else {
        /* The port is canonical decimal: "080" is 80. */
        FUZZ_CHECK(a.port[0] && (a.port[0] != '0' || !a.port[1]));
        FUZZ_CHECK(strtol(a.port, NULL, 10) == strtol(strrchr(text, ':') + 1, NULL, 10));
        FUZZ_CHECK(a.host[0] != 0);
        /* Brackets for IPv6, and for a host named "local" ("local:2" is a local name). */
        bool v6 = strchr(a.host, ':') || strchr(a.host, '%') || !strcmp(a.host, "local");
        snprintf(again, sizeof again, v6 ? "[%s]:%s" : "%s:%s", a.host, a.port);
    }
    mproc__net_addr b;
    FUZZ_CHECK(mproc__parse_address(again, &b) == 0);
    FUZZ_CHECK(b.local == a.local && !strcmp(b.host, a.host) && !strcmp(b.port, a.port));
    return 0;
}
