/* Shareable objects: a shared segment holding the object's state, and park handles its
 * waiters sleep on (see internal.h). */
#include <string.h>

#include "internal.h"

typedef struct state_head {
    uint32_t magic;
    uint32_t kind;
} state_head;

static void release_handles(mproc__obj *o)
{
    mpp_segment_unmap(o->base, o->size);
    mpp_handle_close(o->seg);
    for (uint32_t i = 0; i < o->nparks; i++)
        mpp_handle_close(o->parks[i]);
    o->base = NULL;
    o->seg = MPP_NO_HANDLE;
    o->nparks = 0;
}

int mproc__obj_create(mproc__obj *o, uint32_t kind, size_t state_size, uint32_t nparks)
{
    memset(o, 0, sizeof *o);
    o->seg = MPP_NO_HANDLE;
    o->kind = kind;
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
    o->magic = MPROC__OBJ_MAGIC;
    return 0;
}

int mproc__obj_open(mproc__obj *o, const mproc__record *r, uint32_t kind)
{
    memset(o, 0, sizeof *o);
    o->seg = MPP_NO_HANDLE;
    if (r->kind != kind)
        return mproc__fail(MPROC_ETYPE);
    if (r->nparks > MPROC__MAX_PARKS || r->size < sizeof(state_head) ||
        r->offset > r->size - sizeof(state_head) || r->size > SIZE_MAX)
        return mproc__fail(MPROC_EINVAL);
    o->kind = kind;
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
        const state_head *head = mproc__obj_state(o);
        if (head->magic != MPROC__STATE_MAGIC)
            rc = mproc__fail(MPROC_EPROTO);
        else if (head->kind != kind)
            rc = mproc__fail(MPROC_ETYPE);
    }
    if (rc) {
        release_handles(o);
        return rc;
    }
    o->magic = MPROC__OBJ_MAGIC;
    return 0;
}

void mproc__obj_close(mproc__obj *o)
{
    if (!o || o->magic != MPROC__OBJ_MAGIC)
        return;
    o->magic = 0;
    if (!o->borrowed)
        release_handles(o);
}

int mproc__obj_check(const void *object, uint32_t kind)
{
    const mproc__obj *o = object;
    if (!o || o->magic != MPROC__OBJ_MAGIC || (kind && o->kind != kind))
        return MPROC_EINVAL;
    return 0;
}

int mproc__object_new(uint32_t kind, size_t struct_size, size_t state_size, uint32_t nparks,
                      void **out)
{
    mproc__obj *o = mproc_calloc(1, struct_size);
    if (!o)
        return mproc__fail(MPROC_ENOMEM);
    int rc = mproc__obj_create(o, kind, state_size, nparks);
    if (rc) {
        mproc_free(o);
        return rc;
    }
    *out = o;
    return 0;
}

int mproc__object_unpack(mproc_unpacker *u, uint32_t kind, size_t struct_size, void **out)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    mproc__record recs[MPROC__MAX_RECORDS];
    uint32_t n;
    int rc = mproc__unpack_records(u, kind, recs, &n);
    if (rc)
        return rc;
    mproc__obj *o = mproc_calloc(1, struct_size);
    if (!o)
        return mproc__fail(MPROC_ENOMEM);
    rc = mproc__obj_open(o, &recs[0], kind);
    if (rc) {
        mproc_free(o);
        return rc;
    }
    *out = o;
    return 0;
}
