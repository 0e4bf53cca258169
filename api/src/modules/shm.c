/* Named shared memory (SharedMemory): a block with a name other processes open, in a
 * segment whose head records its size, its name and whether it was unlinked. */
#include <stdio.h>
#include <string.h>

#include "modules/modules.h"

#define SHM_HEAD 256
#define SHM_NAME_MAX 200

typedef struct shm_head {
    uint32_t magic, kind;
    uint64_t size;
    uint32_t unlinked;
    uint32_t pad;
    char name[SHM_NAME_MAX + 1];
} shm_head;

struct mproc_shm {
    mproc__shared o;
    char name[SHM_NAME_MAX + 1];
};

static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n <= SHM_NAME_MAX && !strpbrk(name, "/\\");
}

static shm_head *shm_hd(const mproc_shm *s)
{
    return (shm_head *)s->o.base;
}

int mproc_shm_create(mproc_shm **out, const char *name, size_t size)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    if (size == 0 || (name && !name_ok(name)))
        return mproc__fail(MPROC_EINVAL);
    if (size > SIZE_MAX - SHM_HEAD)
        return mproc__fail(MPROC_ETOOBIG);
    _Static_assert(sizeof(shm_head) <= SHM_HEAD, "header fits");
    mproc_shm *s = mproc_calloc(1, sizeof *s);
    if (!s)
        return mproc__fail(MPROC_ENOMEM);
    s->o.size = SHM_HEAD + size;
    int rc;
    for (int attempt = 0;; attempt++) {
        if (name) {
            strcpy(s->name, name);
        } else {
            /* Python's "psm_" names, with our pid: a retry settles a collision. */
            static uint32_t counter;
            uint64_t mix = (uint64_t)mpp_monotonic_ms() * 0x9e3779b97f4a7c15ull ^
                           ((uint64_t)mpp_getpid() << 20) ^ mproc__add_relaxed(&counter, 1) ^
                           (uint64_t)(uintptr_t)s;
            snprintf(s->name, sizeof s->name, "psm_%lld_%08llx", (long long)mpp_getpid(),
                     (unsigned long long)(mix >> 32 ^ mix) & 0xffffffffull);
        }
        rc = mpp_named_create(s->name, s->o.size, &s->o.seg);
        if (rc != MPROC_EEXIST || name || attempt == 8)
            break;
    }
    if (rc) {
        mproc_free(s);
        return rc;
    }
    rc = mpp_segment_map(s->o.seg, s->o.size, &s->o.base);
    if (rc) {
        mpp_named_unlink(s->name);
        mpp_named_release(s->name, s->o.seg);
        mproc_free(s);
        return rc;
    }
    shm_head *h = shm_hd(s);
    h->magic = MPROC__STATE_MAGIC;
    h->kind = MPROC__KIND_SHM;
    h->size = size;
    strcpy(h->name, s->name);
    mproc__shared_init_head(&s->o, MPROC__KIND_SHM);
    *out = s;
    return 0;
}

/* Maps an attachment (handle h of a block of at least mapped bytes) and checks it. */
static int shm_finish_open(mproc_shm *s, mpp_handle h, size_t mapped)
{
    s->o.seg = h;
    int rc = mapped < SHM_HEAD ? MPROC_EPROTO : mpp_segment_map(h, mapped, &s->o.base);
    if (!rc) {
        shm_head *hd = shm_hd(s);
        if (hd->magic != MPROC__STATE_MAGIC || hd->kind != MPROC__KIND_SHM ||
            hd->size > mapped - SHM_HEAD)
            rc = MPROC_EPROTO;
        else if (hd->unlinked)
            rc = MPROC_ENOENT;
    }
    if (rc) {
        mpp_segment_unmap(s->o.base, mapped);
        mpp_named_release(s->name, h);
        return mproc__fail(rc);
    }
    s->o.size = mapped;
    mproc__shared_init_head(&s->o, MPROC__KIND_SHM);
    return 0;
}

int mproc_shm_open(mproc_shm **out, const char *name)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    if (!name || !name_ok(name))
        return mproc__fail(MPROC_EINVAL);
    mproc_shm *s = mproc_calloc(1, sizeof *s);
    if (!s)
        return mproc__fail(MPROC_ENOMEM);
    strcpy(s->name, name);
    mpp_handle h;
    size_t mapped;
    int rc = mpp_named_open(name, &h, &mapped);
    rc = rc ? rc : shm_finish_open(s, h, mapped);
    if (rc) {
        mproc_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* A live handle that is still attached. */
static bool attached(mproc_shm *s)
{
    return mproc__object_check(s, MPROC__KIND_SHM) == 0 && s->o.base != NULL;
}

void *mproc_shm_data(mproc_shm *s)
{
    return attached(s) ? (uint8_t *)s->o.base + SHM_HEAD : NULL;
}

size_t mproc_shm_size(mproc_shm *s)
{
    return attached(s) ? (size_t)shm_hd(s)->size : 0;
}

const char *mproc_shm_name(mproc_shm *s)
{
    return mproc__object_check(s, MPROC__KIND_SHM) ? NULL : s->name;
}

int mproc_shm_unlink(mproc_shm *s)
{
    if (mproc__object_check(s, MPROC__KIND_SHM))
        return mproc__fail(MPROC_EINVAL);
    if (!s->o.base)
        return mproc__fail(MPROC_ECLOSED);
    uint32_t was = mproc__exchange(&shm_hd(s)->unlinked, 1);
    if (was)
        return mproc__fail(MPROC_ENOENT);
    return mpp_named_unlink(s->name);
}

int mproc_shm_close(mproc_shm *s)
{
    if (mproc__object_check(s, MPROC__KIND_SHM))
        return mproc__fail(MPROC_EINVAL);
    if (s->o.base) {
        mpp_segment_unmap(s->o.base, s->o.size);
        mpp_named_release(s->name, s->o.seg);
        s->o.base = NULL;
        s->o.seg = MPP_NO_HANDLE; /* packing it now is MPROC_ECLOSED */
        s->o.size = 0;
    }
    return 0;
}

void mproc_shm_destroy(mproc_shm *s)
{
    if (mproc__object_check(s, MPROC__KIND_SHM))
        return;
    mproc_shm_close(s);
    s->o.head.magic = 0;
    mproc_free(s);
}

int mproc_unpack_shm(mproc_unpacker *u, mproc_shm **out)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    mproc__record recs[MPROC__MAX_RECORDS];
    uint32_t n;
    int rc = mproc__unpack_records(u, MPROC__KIND_SHM, recs, &n);
    if (rc)
        return rc;
    if (recs[0].size < SHM_HEAD || recs[0].size > SIZE_MAX)
        return mproc__fail(MPROC_EPROTO);
    size_t mapped = (size_t)recs[0].size;
    /* The name is in the block; our own attachment is made from the received handle. */
    void *peek;
    rc = mpp_segment_map((mpp_handle)recs[0].seg, SHM_HEAD, &peek);
    if (rc)
        return rc;
    mproc_shm *s = mproc_calloc(1, sizeof *s);
    if (!s) {
        mpp_segment_unmap(peek, SHM_HEAD);
        return mproc__fail(MPROC_ENOMEM);
    }
    const shm_head *hd = peek;
    memcpy(s->name, hd->name, SHM_NAME_MAX);
    s->name[SHM_NAME_MAX] = 0;
    mpp_segment_unmap(peek, SHM_HEAD);
    mpp_handle h;
    rc = name_ok(s->name) ? mpp_named_attach((mpp_handle)recs[0].seg, s->name, &h)
                          : mproc__fail(MPROC_EPROTO);
    rc = rc ? rc : shm_finish_open(s, h, mapped);
    if (rc) {
        mproc_free(s);
        return rc;
    }
    *out = s;
    return 0;
}
