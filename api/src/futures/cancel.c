/* Cancel tokens: a shared word (and a deadline on the machine's monotonic clock) that
 * tasks in any process poll or wait on. */
#include "modules/modules.h"

typedef struct cancel_state {
    uint32_t magic, kind;
    uint32_t flag; /* 1: triggered */
    uint32_t waiters;
    int64_t deadline; /* mpp_monotonic_ms() value, -1: none */
} cancel_state;

struct mproc_cancel {
    mproc__shared o;
};

static cancel_state *cancel_st(mproc_cancel *c)
{
    return mproc__shared_state(&c->o);
}

int mproc_cancel_create(mproc_cancel **out, int64_t timeout_ms)
{
    if (!out || timeout_ms < MPROC_FOREVER)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    int rc =
        mproc__shared_new(MPROC__KIND_CANCEL, sizeof **out, sizeof(cancel_state), 1, (void **)out);
    if (rc)
        return rc;
    mproc__store(&cancel_st(*out)->deadline, mproc__deadline(timeout_ms));
    return 0;
}

int mproc_cancel_trigger(mproc_cancel *c)
{
    if (mproc__object_check(c, MPROC__KIND_CANCEL))
        return mproc__fail(MPROC_EINVAL);
    cancel_state *st = cancel_st(c);
    mproc__store(&st->flag, 1);
    mproc__wake_all(mproc__park_of(&c->o, 0), &st->flag, &st->waiters);
    return 0;
}

static bool requested(cancel_state *st)
{
    if (mproc__load(&st->flag))
        return true;
    int64_t deadline = mproc__load(&st->deadline);
    return deadline >= 0 && mproc__remaining(deadline) == 0;
}

int mproc_cancel_requested(mproc_cancel *c)
{
    if (mproc__object_check(c, MPROC__KIND_CANCEL))
        return mproc__fail(MPROC_EINVAL);
    return requested(cancel_st(c));
}

int mproc_cancel_wait(mproc_cancel *c, int64_t timeout_ms)
{
    if (mproc__object_check(c, MPROC__KIND_CANCEL))
        return mproc__fail(MPROC_EINVAL);
    cancel_state *st = cancel_st(c);
    int64_t deadline = mproc__deadline(timeout_ms);
    while (!requested(st)) {
        /* Sleep to whichever comes first: our timeout or the token's own deadline. */
        int64_t ms = mproc__next_slice(deadline);
        int64_t own = mproc__load(&st->deadline);
        if (own >= 0) {
            int64_t to_own = mproc__remaining(own);
            ms = ms == MPROC_FOREVER || (to_own >= 0 && to_own < ms) ? to_own : ms;
        }
        if (mproc__remaining(deadline) == 0)
            return mproc__fail(MPROC_ETIMEDOUT);
        if (ms > 0)
            mproc__park_counted(mproc__park_of(&c->o, 0), &st->flag, 0, &st->waiters, ms);
    }
    return 0;
}

void mproc_cancel_destroy(mproc_cancel *c)
{
    if (mproc__object_check(c, MPROC__KIND_CANCEL))
        return;
    mproc__shared_close(&c->o);
    mproc_free(c);
}

int mproc_unpack_cancel(mproc_unpacker *u, mproc_cancel **out)
{
    return mproc__shared_unpack(u, MPROC__KIND_CANCEL, sizeof **out, (void **)out);
}
