/* Objects in shared segments: a segment holding the object's state, and park handles its
 * waiters sleep on (see objects.h); they travel as records. */
#include <string.h>

#include "objects/objects.h"

typedef struct state_head {
    uint32_t magic;
    uint32_t kind;
} state_head;

static void release_handles(mproc__shared *o)
{
    mpp_segment_unmap(o->base, o->size);
    mpp_handle_close(o->seg);
    for (uint32_t i = 0; i < o->nparks; i++)
        mpp_handle_close(o->parks[i]);
    o->base = NULL;
    o->seg = MPP_NO_HANDLE;
    o->nparks = 0;
}

int mproc__shared_create(mproc__shared *o, uint32_t kind, size_t state_size, uint32_t nparks)
{
    memset(o, 0, sizeof *o);
    o->seg = MPP_NO_HANDLE;
    o->size = state_size;
    int rc = mpp_segment_create(state_size, &o->seg);
    rc = rc ? rc : mpp_segment_map(o->seg, state_size, &o->base);
    for (uint32_t i = 0; i < nparks && !rc; i++) {
        rc = mpp_park_create(&o->parks[i]);
        if (!rc)
            o->nparks++;
    }
    if (rc) {
        release_handles(o);
        return rc;
    }
    /* POSIX parks on the shared word itself: no handle to carry. */
    while (o->nparks > 0 && o->parks[o->nparks - 1] == MPP_NO_HANDLE)
        o->nparks--;
    state_head *head = o->base;
    head->magic = MPROC__STATE_MAGIC;
    head->kind = kind;
    mproc__shared_init_head(o, kind);
    return 0;
}

int mproc__shared_open(mproc__shared *o, const mproc__record *r, uint32_t kind)
{
    memset(o, 0, sizeof *o);
    o->seg = MPP_NO_HANDLE;
    if (r->kind != kind)
        return mproc__fail(MPROC_ETYPE);
    if (r->nparks > MPROC__MAX_PARKS || r->size < sizeof(state_head) ||
        r->offset > r->size - sizeof(state_head) || r->size > SIZE_MAX)
        return mproc__fail(MPROC_EINVAL);
    o->size = (size_t)r->size;
    o->offset = (size_t)r->offset;
    int rc = mpp_handle_dup((mpp_handle)r->seg, &o->seg);
    rc = rc ? rc : mpp_segment_map(o->seg, o->size, &o->base);
    for (uint32_t i = 0; i < r->nparks && !rc; i++) {
        rc = mpp_handle_dup((mpp_handle)r->parks[i], &o->parks[i]);
        if (!rc)
            o->nparks++;
    }
    if (!rc) {
        const state_head *head = mproc__shared_state(o);
        if (head->magic != MPROC__STATE_MAGIC)
            rc = mproc__fail(MPROC_EPROTO);
        else if (head->kind != kind)
            rc = mproc__fail(MPROC_ETYPE);
    }
    if (rc) {
        release_handles(o);
        return rc;
    }
    mproc__shared_init_head(o, kind);
    return 0;
}

void mproc__shared_init_head(mproc__shared *o, uint32_t kind)
{
    o->head = (mproc__object){MPROC__OBJ_MAGIC, kind, &mproc__shared_ops};
}

void mproc__shared_close(mproc__shared *o)
{
    if (!o || o->head.magic != MPROC__OBJ_MAGIC)
        return;
    o->head.magic = 0;
    if (!o->borrowed)
        release_handles(o);
}

static void record_of(const mproc__shared *o, mproc__record *r)
{
    memset(r, 0, sizeof *r);
    r->kind = o->head.kind;
    r->nparks = o->nparks;
    r->seg = (uint64_t)o->seg;
    r->size = o->size;
    r->offset = o->offset;
    for (uint32_t i = 0; i < o->nparks; i++)
        r->parks[i] = (uint64_t)o->parks[i];
}

static int pack_shared(mproc_pack *p, const mproc__object *object)
{
    const mproc__shared *o = (const mproc__shared *)object;
    if (o->seg == MPP_NO_HANDLE) /* a closed pipe end or shared memory attachment */
        return mproc__fail(MPROC_ECLOSED);
    mproc__record recs[MPROC__MAX_RECORDS];
    uint32_t n = 0;
    record_of(o, &recs[n++]);
    if (o->dep)
        record_of(o->dep, &recs[n++]);
    return mproc__pack_records(p, o->head.kind, recs, n);
}

const mproc__object_ops mproc__shared_ops = {pack_shared};

int mproc__shared_new(uint32_t kind, size_t struct_size, size_t state_size, uint32_t nparks,
                      void **out)
{
    mproc__shared *o = mproc_calloc(1, struct_size);
    if (!o)
        return mproc__fail(MPROC_ENOMEM);
    int rc = mproc__shared_create(o, kind, state_size, nparks);
    if (rc) {
        mproc_free(o);
        return rc;
    }
    *out = o;
    return 0;
}

int mproc__shared_unpack(mproc_unpacker *u, uint32_t kind, size_t struct_size, void **out)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    mproc__record recs[MPROC__MAX_RECORDS];
    uint32_t n;
    int rc = mproc__unpack_records(u, kind, recs, &n);
    if (rc)
        return rc;
    mproc__shared *o = mproc_calloc(1, struct_size);
    if (!o)
        return mproc__fail(MPROC_ENOMEM);
    rc = mproc__shared_open(o, &recs[0], kind);
    if (rc) {
        mproc_free(o);
        return rc;
    }
    *out = o;
    return 0;
}
