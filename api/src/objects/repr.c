/* The text Python's repr() gives the values a pack holds: what print() shows of an
 * argument tuple, a result, a manager dict or list. */
#include "objects/objects.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int put_text(mproc__buf *b, const char *s)
{
    return mproc__buf_append(b, s, strlen(s));
}

/* Python's repr of a float: the shortest digits that read back as the same double, laid
 * out in positional form when the exponent is in [-4, 16), otherwise as d.ddde+XX. */
static int repr_f64(mproc__buf *b, double v)
{
    if (isnan(v))
        return put_text(b, "nan");
    if (isinf(v))
        return put_text(b, v < 0 ? "-inf" : "inf");
    char sci[40];
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(sci, sizeof sci, "%.*e", digits - 1, v);
        if (strtod(sci, NULL) == v)
            break;
    }
    /* sci is [-]d[.ddd]e±XX: split it into sign, digits and the decimal exponent. */
    const char *p = sci;
    char sign[2] = {0}, digits[20] = {0};
    size_t n = 0;
    if (*p == '-')
        sign[0] = *p++;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && n < sizeof digits - 1)
            digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0')
        digits[--n] = 0;
    int exp10 = *p == 'e' ? atoi(p + 1) : 0;
    char text[64];
    if (exp10 >= 16 || exp10 < -4) {
        snprintf(text, sizeof text, "%s%c%s%se%c%02d", sign, digits[0], n > 1 ? "." : "",
                 digits + 1, exp10 < 0 ? '-' : '+', abs(exp10));
    } else if (exp10 < 0) {
        snprintf(text, sizeof text, "%s0.%.*s%s", sign, -exp10 - 1, "0000", digits);
    } else if ((size_t)exp10 + 1 >= n) {
        snprintf(text, sizeof text, "%s%s%.*s.0", sign, digits, (int)((size_t)exp10 + 1 - n),
                 "0000000000000000");
    } else {
        snprintf(text, sizeof text, "%s%.*s.%s", sign, exp10 + 1, digits, digits + exp10 + 1);
    }
    return put_text(b, text);
}

/* Python's repr of str (bytes: false) or bytes (true): single quotes unless the text holds
 * one and no double quote; backslash escapes for the quote, the backslash and controls;
 * bytes also escape what is not ASCII, text keeps its UTF-8. */
static int repr_chars(mproc__buf *b, const uint8_t *s, size_t len, bool bytes)
{
    bool single = memchr(s, '\'', len) == NULL || memchr(s, '"', len) != NULL;
    char quote = single ? '\'' : '"';
    int rc = bytes ? put_text(b, "b") : 0;
    rc = rc ? rc : mproc__buf_append(b, &quote, 1);
    for (size_t i = 0; i < len && !rc; i++) {
        uint8_t c = s[i];
        char esc[8] = {0};
        if (c == (uint8_t)quote || c == '\\')
            snprintf(esc, sizeof esc, "\\%c", c);
        else if (c == '\n')
            strcpy(esc, "\\n");
        else if (c == '\r')
            strcpy(esc, "\\r");
        else if (c == '\t')
            strcpy(esc, "\\t");
        else if (c < 0x20 || c == 0x7f || (bytes && c > 0x7f))
            snprintf(esc, sizeof esc, "\\x%02x", c);
        rc = esc[0] ? put_text(b, esc) : mproc__buf_append(b, &c, 1);
    }
    return rc ? rc : mproc__buf_append(b, &quote, 1);
}

static int repr_tuple(mproc__buf *b, mproc_unpacker *u, int depth);

static int repr_field(mproc__buf *b, mproc_unpacker *u, int depth)
{
    int type = mproc_unpack_peek(u);
    int64_t i;
    double f;
    const char *s;
    size_t len;
    const void *data;
    mproc_unpacker inner;
    char text[32];
    switch (type) {
    case MPROC_FIELD_I64:
        if (mproc_unpack_i64(u, &i))
            break;
        snprintf(text, sizeof text, "%lld", (long long)i);
        return put_text(b, text);
    case MPROC_FIELD_F64: return mproc_unpack_f64(u, &f) ? MPROC_EINVAL : repr_f64(b, f);
    case MPROC_FIELD_STR:
        if (mproc_unpack_strn(u, &s, &len))
            break;
        return repr_chars(b, (const uint8_t *)s, len, false);
    case MPROC_FIELD_BYTES:
        if (mproc_unpack_bytes(u, &data, &len))
            break;
        return repr_chars(b, data, len, true);
    case MPROC_FIELD_PACK:
        if (mproc_unpack_pack(u, &inner))
            break;
        return repr_tuple(b, &inner, depth + 1);
    case MPROC_FIELD_HANDLE:
    case MPROC_FIELD_PROXY:
        if (mproc_unpack_skip(u))
            break;
        return put_text(b, type == MPROC_FIELD_HANDLE ? "<shared object>" : "<manager proxy>");
    default: break;
    }
    return mproc__fail(MPROC_EINVAL);
}

/* (a, b), (a,) or (). Nesting is bounded so that hostile bytes cannot exhaust the stack. */
static int repr_tuple(mproc__buf *b, mproc_unpacker *u, int depth)
{
    if (depth > 64)
        return mproc__fail(MPROC_EINVAL);
    int rc = put_text(b, "("), count = 0;
    for (; !rc && mproc_unpack_peek(u) > 0; count++) {
        if (count)
            rc = put_text(b, ", ");
        if (!rc)
            rc = repr_field(b, u, depth);
    }
    if (!rc && mproc_unpack_peek(u) < 0)
        rc = mproc__fail(MPROC_EINVAL);
    return rc ? rc : put_text(b, count == 1 ? ",)" : ")");
}

int mproc__repr_value(mproc__buf *b, mproc_unpacker *u)
{
    int fields = mproc_unpack_remaining(u);
    if (fields < 0)
        return mproc__fail(MPROC_EINVAL);
    return fields == 1 ? repr_field(b, u, 0) : repr_tuple(b, u, 0);
}

int mproc__repr_finish(mproc__buf *b, int rc, mproc_bytes *text)
{
    if (!rc)
        rc = mproc__buf_append(b, "", 1);
    if (rc) {
        mproc__buf_free(b);
        return rc;
    }
    text->data = b->data;
    text->len = b->len - 1;
    return 0;
}

int mproc_pack_repr(const mproc_bytes *pack, mproc_bytes *text)
{
    if (!text)
        return mproc__fail(MPROC_EINVAL);
    *text = (mproc_bytes){0};
    mproc_unpacker u;
    if (!pack || mproc_unpack_init(&u, pack))
        return mproc__fail(MPROC_EINVAL);
    mproc__buf b = {0};
    return mproc__repr_finish(&b, mproc__repr_value(&b, &u), text);
}
