/* Allocation helpers, mproc_bytes and the growable buffer. */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

void *mproc_malloc(size_t size)
{
    return malloc(size ? size : 1);
}

void *mproc_calloc(size_t count, size_t size)
{
    return calloc(count ? count : 1, size ? size : 1);
}

void *mproc_realloc(void *ptr, size_t size)
{
    return realloc(ptr, size ? size : 1);
}

void mproc_free(void *ptr)
{
    free(ptr);
}

char *mproc_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *copy = mproc_malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

const char *mproc_version(void)
{
    return MPROC_VERSION_STRING;
}

void mproc_bytes_free(mproc_bytes *b)
{
    if (!b)
        return;
    mproc_free(b->data);
    b->data = NULL;
    b->len = 0;
}

void mproc_bytes_free_array(mproc_bytes *items, size_t n)
{
    for (size_t i = 0; items && i < n; i++)
        mproc_bytes_free(&items[i]);
}

int mproc_bytes_copy(mproc_bytes *out, const void *data, size_t len)
{
    if (!out || (!data && len))
        return mproc__fail(MPROC_EINVAL);
    void *copy = mproc_malloc(len);
    if (!copy)
        return mproc__fail(MPROC_ENOMEM);
    if (len)
        memcpy(copy, data, len);
    out->data = copy;
    out->len = len;
    return 0;
}

int mproc__buf_reserve(mproc__buf *b, size_t extra)
{
    if (extra <= b->cap - b->len)
        return 0;
    if (extra > SIZE_MAX - b->len)
        return MPROC_ETOOBIG;
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *grown = mproc_realloc(b->data, cap);
    if (!grown)
        return MPROC_ENOMEM;
    b->data = grown;
    b->cap = cap;
    return 0;
}

int mproc__buf_append(mproc__buf *b, const void *data, size_t len)
{
    int rc = mproc__buf_reserve(b, len);
    if (rc)
        return rc;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

void mproc__buf_free(mproc__buf *b)
{
    mproc_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char **mproc__string_array(const char *const *items, size_t count)
{
    size_t bytes = (count + 1) * sizeof(char *);
    for (size_t i = 0; i < count; i++)
        bytes += strlen(items[i]) + 1;
    char **array = mproc_malloc(bytes);
    if (!array)
        return NULL;
    char *text = (char *)(array + count + 1);
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen(items[i]) + 1;
        memcpy(text, items[i], len);
        array[i] = text;
        text += len;
    }
    array[count] = NULL;
    return array;
}
