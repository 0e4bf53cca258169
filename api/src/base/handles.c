/* Lists of handles this process owns. */
#include "base/base.h"

int mproc__handles_push(mproc__handles *h, mpp_handle v)
{
    if (h->count == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 8;
        mpp_handle *items = mproc_realloc(h->items, cap * sizeof *items);
        if (!items)
            return MPROC_ENOMEM;
        h->items = items;
        h->cap = cap;
    }
    h->items[h->count++] = v;
    return 0;
}

void mproc__handles_close(mproc__handles *h)
{
    for (size_t i = 0; i < h->count; i++)
        mpp_handle_close(h->items[i]);
    mproc_free(h->items);
    h->items = NULL;
    h->count = h->cap = 0;
}
