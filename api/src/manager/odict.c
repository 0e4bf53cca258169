/* The ordered dict of the manager's server: dict and namespace objects, and the names
 * objects are registered under (manager/private.h describes its layout). */
#include "manager/private.h"

static uint64_t hash_bytes(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

/* The entry number of key, or -1. *slot receives where it is, or the first free slot. */
static int64_t dict_find(const dict *d, const void *key, size_t klen, uint64_t h, size_t *slot)
{
    if (!d->slots) {
        *slot = 0;
        return -1;
    }
    size_t mask = d->slots - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        uint32_t e = d->index[i];
        if (!e) {
            *slot = i;
            return -1;
        }
        const entry *en = &d->entries[e - 1];
        if (en->live && en->hash == h && en->klen == klen && !memcmp(en->key, key, klen)) {
            *slot = i;
            return e - 1;
        }
    }
}

/* Makes room for one more entry: drops tombstones and grows the arrays when full. The
 * capacity is a power of two, so that the index's mask reaches every slot (a mask of
 * another size probes a few slots only, and a probe that finds them all taken never
 * ends). */
static int dict_room(dict *d)
{
    if (d->n < d->cap)
        return 0;
    size_t cap = 8;
    while (cap < d->live * 2 && cap <= UINT32_MAX / 4)
        cap *= 2;
    if (cap > UINT32_MAX / 4)
        return MPROC_ENOMEM;
    entry *entries = mproc_malloc(cap * sizeof *entries);
    uint32_t *index = mproc_calloc(cap * 2, sizeof *index);
    if (!entries || !index) {
        mproc_free(entries);
        mproc_free(index);
        return MPROC_ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++)
        if (d->entries[i].live)
            entries[n++] = d->entries[i];
    mproc_free(d->entries);
    mproc_free(d->index);
    d->entries = entries, d->index = index, d->n = n, d->cap = cap, d->slots = cap * 2;
    for (size_t i = 0; i < n; i++) {
        size_t slot;
        dict_find(d, entries[i].key, entries[i].klen, entries[i].hash, &slot);
        d->index[slot] = (uint32_t)(i + 1);
    }
    return 0;
}

entry *mproc__mgr_dict_get(const dict *d, const void *key, size_t klen)
{
    size_t slot;
    int64_t e = dict_find(d, key, klen, hash_bytes(key, klen), &slot);
    return e < 0 ? NULL : &d->entries[e];
}

int mproc__mgr_dict_put(dict *d, const void *key, size_t klen, const void *val, size_t vlen)
{
    uint64_t h = hash_bytes(key, klen);
    size_t slot;
    int64_t e = dict_find(d, key, klen, h, &slot);
    mproc_bytes copy = {0};
    if (mproc_bytes_copy(&copy, val, vlen))
        return MPROC_ENOMEM;
    if (e >= 0) {
        mproc_bytes_free(&d->entries[e].val);
        d->entries[e].val = copy;
        return 0;
    }
    uint8_t *kcopy = mproc_malloc(klen ? klen : 1);
    int rc = kcopy ? dict_room(d) : MPROC_ENOMEM;
    if (rc) {
        mproc_free(kcopy);
        mproc_bytes_free(&copy);
        return rc;
    }
    if (klen)
        memcpy(kcopy, key, klen);
    dict_find(d, key, klen, h, &slot); /* the slot may have moved with the grow */
    d->entries[d->n] = (entry){kcopy, klen, copy, h, true};
    d->index[slot] = (uint32_t)(++d->n);
    d->live++;
    return 0;
}

bool mproc__mgr_dict_del(dict *d, const void *key, size_t klen, mproc_bytes *val)
{
    entry *en = mproc__mgr_dict_get(d, key, klen);
    if (!en)
        return false;
    if (val)
        *val = en->val;
    else
        mproc_bytes_free(&en->val);
    mproc_free(en->key);
    en->key = NULL;
    en->live = false;
    d->live--;
    return true;
}

void mproc__mgr_dict_free(dict *d)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->entries[i].live) {
            mproc_free(d->entries[i].key);
            mproc_bytes_free(&d->entries[i].val);
        }
    mproc_free(d->entries);
    mproc_free(d->index);
    memset(d, 0, sizeof *d);
}
