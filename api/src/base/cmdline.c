/* Windows command lines, built so that CommandLineToArgvW (and the MSVC/mingw C runtime)
 * gives back exactly the strings we started from. Pure string work, so it lives in the
 * core and is tested on every platform. */
#include <string.h>

#include "base/base.h"
#include "base/cmdline.h"

static int put(mproc__buf *out, char c, size_t times)
{
    while (times--)
        if (mproc__buf_append(out, &c, 1))
            return MPROC_ENOMEM;
    return 0;
}

int mproc__win_quote_arg(mproc__buf *out, const char *arg)
{
    if (!out || !arg)
        return MPROC_EINVAL;
    if (arg[0] && !strpbrk(arg, " \t\n\v\""))
        return mproc__buf_append(out, arg, strlen(arg)) ? MPROC_ENOMEM : 0;
    /* Inside quotes, backslashes are literal unless a run of them precedes a quote: then
     * each pair is one backslash, and an odd one escapes the quote. */
    int rc = put(out, '"', 1);
    for (const char *p = arg; !rc; p++) {
        size_t slashes = 0;
        while (*p == '\\') {
            slashes++;
            p++;
        }
        if (*p == 0) {
            rc = put(out, '\\', slashes * 2);
            break;
        }
        if (*p == '"')
            rc = put(out, '\\', slashes * 2 + 1);
        else
            rc = put(out, '\\', slashes);
        rc = rc ? rc : put(out, *p, 1);
    }
    return rc ? rc : put(out, '"', 1);
}

int mproc__win_build_cmdline(mproc__buf *out, const char *const *argv)
{
    if (!out || !argv || !argv[0] || strchr(argv[0], '"'))
        return MPROC_EINVAL;
    /* argv[0] follows other rules: quotes delimit it and backslashes are literal. A path
     * cannot contain a quote, so plain quoting is exact. */
    int rc = put(out, '"', 1);
    rc = rc ? rc : (mproc__buf_append(out, argv[0], strlen(argv[0])) ? MPROC_ENOMEM : 0);
    rc = rc ? rc : put(out, '"', 1);
    for (size_t i = 1; argv[i] && !rc; i++) {
        rc = put(out, ' ', 1);
        rc = rc ? rc : mproc__win_quote_arg(out, argv[i]);
    }
    return rc ? rc : put(out, '\0', 1);
}
