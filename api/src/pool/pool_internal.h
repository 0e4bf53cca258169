/* What the pool offers futures/ beyond the public API. */
#ifndef MPROC_POOL_INTERNAL_H
#define MPROC_POOL_INTERNAL_H

#include "modules/modules.h"

/* Futures are the pool's async results. cancel: 1 cancelled, 0 started or done. add_done:
 * 0 added, 1 done already (the caller calls fn itself). */
int mproc__async_cancel(mproc_async *a);
int mproc__async_cancelled(mproc_async *a);
int mproc__async_add_done(mproc_async *a, mproc_done_fn fn, void *ctx);
/* Whether the calling thread is the result thread of a's pool (its callbacks run there). */
bool mproc__async_on_result_thread(mproc_async *a);
/* An apply_async marked with an executor's tag; cancel / wait for all calls of a tag. */
int mproc__pool_apply_tagged(mproc_pool *p, const char *task, const mproc_pack *args,
                             const void *tag, mproc_async **out);
int mproc__pool_cancel_tagged(mproc_pool *p, const void *tag);
int mproc__pool_wait_tagged(mproc_pool *p, const void *tag, int64_t timeout_ms);

#endif
