/* Windows command-line quoting, round trip: an argv made of the bytes (split at NULs) is
 * built into one command line and parsed back by a reference parser written here from
 * Microsoft's rules (CommandLineToArgvW and the C runtime since 2008); the parsed argv must
 * equal the one built. On Windows the system's CommandLineToArgvW parses it as well. */
#include "fuzz.h"

#include <string.h>

#include "base/cmdline.h"

#ifdef _WIN32
#include <windows.h>
#include <shellapi.h>
#endif

#define MAX_ARGS 64

typedef struct args {
    char *text[MAX_ARGS + 1];
    size_t n;
} args;

static char *push(args *a, size_t cap)
{
    FUZZ_CHECK(a->n < MAX_ARGS + 1);
    a->text[a->n] = calloc(cap + 1, 1);
    FUZZ_CHECK(a->text[a->n] != NULL);
    return a->text[a->n++];
}

/* argv[0] runs to the next quote when quoted (no escapes), else to white space; every
 * other argument: 2n backslashes before a quote are n and the quote toggles quoting,
 * 2n+1 are n and a literal quote, backslashes before anything else are literal; inside
 * quotes "" is a literal quote. */
static void parse(const char *line, args *out)
{
    size_t cap = strlen(line);
    const char *p = line;
    char *o = push(out, cap);
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++)
            *o++ = *p;
        p += *p == '"';
    } else {
        for (; *p && *p != ' ' && *p != '\t'; p++)
            *o++ = *p;
    }
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            return;
        o = push(out, cap);
        bool quoted = false;
        while (*p && (quoted || (*p != ' ' && *p != '\t'))) {
            if (*p == '\\') {
                size_t n = strspn(p, "\\");
                p += n;
                if (*p == '"') {
                    memset(o, '\\', n / 2), o += n / 2;
                    if (n % 2)
                        *o++ = '"', p++;
                } else {
                    memset(o, '\\', n), o += n;
                }
            } else if (*p == '"') {
                if (quoted && p[1] == '"')
                    *o++ = '"', p += 2;
                else
                    quoted = !quoted, p++;
            } else {
                *o++ = *p++;
            }
        }
    }
}

static void free_args(args *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->text[i]);
    a->n = 0;
}

#ifdef _WIN32
/* The system's parser on the same line (valid UTF-8 only: otherwise the conversion, not
 * the quoting, decides). */
static void check_system(const char *line, const args *want)
{
    int wlen = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, line, -1, NULL, 0);
    if (wlen <= 0)
        return;
    wchar_t *wide = malloc((size_t)wlen * sizeof *wide);
    FUZZ_CHECK(wide != NULL);
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, line, -1, wide, wlen);
    int n = 0;
    wchar_t **argv = CommandLineToArgvW(wide, &n);
    FUZZ_CHECK(argv != NULL && (size_t)n == want->n);
    for (int i = 0; i < n; i++) {
        int len = WideCharToMultiByte(CP_UTF8, 0, argv[i], -1, NULL, 0, NULL, NULL);
        char *back = malloc((size_t)len);
        FUZZ_CHECK(back != NULL);
        WideCharToMultiByte(CP_UTF8, 0, argv[i], -1, back, len, NULL, NULL);
        FUZZ_CHECK(!strcmp(back, want->text[i]));
        free(back);
    }
    LocalFree(argv);
    free(wide);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    /* The argv: the pieces between NULs, up to MAX_ARGS; argv[0] a program path, which
     * cannot hold a quote (a first piece with one is replaced). */
    args in = {0};
    size_t start = 0;
    for (size_t i = 0; i <= size && in.n < MAX_ARGS; i++)
        if (i == size || data[i] == 0) {
            char *s = push(&in, i - start);
            memcpy(s, data + start, i - start);
            start = i + 1;
        }
    if (strchr(in.text[0], '"') || in.text[0][0] == 0) {
        free(in.text[0]);
        in.text[0] = calloc(32, 1);
        FUZZ_CHECK(in.text[0] != NULL);
        strcpy(in.text[0], "C:\\Program Files\\x\\prog.exe");
    }
    in.text[in.n] = NULL;

    /* Each argument alone: left as it is exactly when it needs no quotes. */
    for (size_t i = 1; i < in.n; i++) {
        mproc__buf q = {0};
        FUZZ_CHECK(mproc__win_quote_arg(&q, in.text[i]) == 0);
        bool plain = in.text[i][0] && !strpbrk(in.text[i], " \t\n\v\"");
        FUZZ_CHECK(q.len >= strlen(in.text[i]));
        FUZZ_CHECK(plain == (q.len == strlen(in.text[i]) && !memcmp(q.data, in.text[i], q.len)));
        mproc__buf_free(&q);
    }

    mproc__buf line = {0};
    FUZZ_CHECK(mproc__win_build_cmdline(&line, (const char *const *)in.text) == 0);
    FUZZ_CHECK(line.len >= 1 && line.data[line.len - 1] == 0 &&
               strlen((const char *)line.data) == line.len - 1);
    args out = {0};
    parse((const char *)line.data, &out);
    FUZZ_CHECK(out.n == in.n);
    for (size_t i = 0; i < in.n; i++)
        FUZZ_CHECK(!strcmp(out.text[i], in.text[i]));
#ifdef _WIN32
    check_system((const char *)line.data, &in);
#endif
    /* A program path with a quote cannot be written: refused, not mangled. */
    const char *bad[] = {"a\"b", NULL};
    mproc__buf refused = {0};
    FUZZ_CHECK(mproc__win_build_cmdline(&refused, bad) == MPROC_EINVAL);
    mproc__buf_free(&refused);
    free_args(&out);
    free_args(&in);
    mproc__buf_free(&line);
    return 0;
}
