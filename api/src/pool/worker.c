/* A pool's worker process: how the parent starts one (what it is given), and what it runs
 * (its task loop: task messages in, result messages out). */
#include <stdio.h>
#include <string.h>

#include "pool/workers.h"

#define WORKER_TASK "mproc:pool-worker"

/* ---- starting a worker (the parent's side) -------------------------------------------------- */

static unsigned worker_counter; /* N of <Method>PoolWorker-N, process-wide (under mpp_lock) */

int mproc__pool_start_worker_locked(mproc_pool *p, int slot)
{
    worker *w = &p->workers[slot];
    mproc_pack *args = NULL;
    mproc_conn *child_end = NULL;
    int rc = mproc_queue_create_opts(&w->tasks, &(mproc_queue_opts){.ring_bytes = TASK_RING});
    rc = rc ? rc : mproc_pack_create(&args);
    rc = rc ? rc : mproc_pack_handle(args, w->tasks);
    rc = rc ? rc : mproc_pack_handle(args, p->results);
    if (mpp_give_handles_needs_conn()) { /* objects in its tasks' items travel over it */
        rc = rc ? rc : mproc_pipe(&w->hands, &child_end, true);
        rc = rc ? rc : mproc_pack_i64(args, 1);
        rc = rc ? rc : mproc_pack_handle(args, child_end);
    } else {
        rc = rc ? rc : mproc_pack_i64(args, 0); /* handles are duplicated into the worker */
    }
    uint64_t id = ++p->next_worker_id;
    rc = rc ? rc : mproc_pack_i64(args, (int64_t)id);
    rc = rc ? rc : mproc_pack_i64(args, p->maxtasks);
    rc = rc ? rc : mproc_pack_str(args, p->initializer ? p->initializer : "");
    rc = rc ? rc : mproc_pack_pack(args, p->initargs);
    char name[64];
    mpp_lock();
    unsigned number = ++worker_counter;
    mpp_unlock();
    snprintf(name, sizeof name, "%sPoolWorker-%u", p->method_label, number);
    rc = rc ? rc
            : mproc_process_create(&w->proc, &(mproc_process_opts){.target = WORKER_TASK,
                                                                   .args = args,
                                                                   .name = name,
                                                                   .daemon = true,
                                                                   .ctx = p->ctx});
    mproc_pack_destroy(args);
    if (!rc) {
        /* Starting takes a while (spawn runs a program): not under the lock. */
        mproc_process *proc = w->proc;
        w->starting = true;
        mpp_mutex_unlock(p->mu);
        rc = mproc_process_start(proc);
        mpp_mutex_lock(p->mu);
        w->starting = false;
    }
    mproc_conn_destroy(child_end);
    if (rc) {
        mproc_log(MPROC_LOG_WARNING, "could not start pool worker %s: %s", name,
                  mproc_strerror(rc));
        mproc_process_destroy(w->proc);
        mproc_queue_destroy(w->tasks);
        mproc_conn_destroy(w->hands);
        memset(w, 0, sizeof *w);
        return rc;
    }
    w->id = id;
    w->pid = mproc_process_pid(w->proc);
    return 0;
}

/* ---- the worker process (the worker's side) ------------------------------------------------- */

static void put_result(mproc_queue *q, const void *data, size_t len)
{
    /* The result thread drains steadily; a timeout means it is busy (a long callback):
     * try again while the parent is there (this process dies with it). */
    while (mproc_queue_put(q, data, len, 5000) == MPROC_ETIMEDOUT) {
    }
}

static int append_item(mproc__buf *out, int32_t code, const void *data, size_t len)
{
    item_head ih = {.code = code, .len = len};
    int rc = mproc__buf_reserve(out, sizeof ih + mproc__pad8(len));
    if (rc)
        return rc;
    uint8_t *at = out->data + out->len;
    memcpy(at, &ih, sizeof ih);
    if (len)
        memcpy(at + sizeof ih, data, len);
    memset(at + sizeof ih + len, 0, mproc__pad8(len) - len);
    out->len += sizeof ih + mproc__pad8(len);
    return 0;
}

/* A failed task's text: the STR it packed when `out` holds exactly that (mproc_task_fail),
 * else "task 'x' returned N". NULL when out of memory. */
char *mproc__failure_text(const char *task, int code, const mproc_pack *out)
{
    char fallback[MPROC_TASK_NAME_MAX + 64];
    const char *text = NULL;
    size_t len = 0;
    mproc_bytes view;
    mproc_unpacker u;
    if (mproc_pack_count(out) == 1 && mproc_pack_view(out, &view) == 0 &&
        mproc_unpack_init(&u, &view) == 0 && mproc_unpack_strn(&u, &text, &len) != 0)
        text = NULL;
    if (!text) {
        snprintf(fallback, sizeof fallback, "task '%s' returned %d", task, code);
        text = fallback;
        len = strlen(fallback);
    }
    char *copy = mproc_malloc(len + 1);
    if (copy) {
        memcpy(copy, text, len);
        copy[len] = 0;
    }
    return copy;
}

/* (workers.h) The process pool's worker and the thread pool's worker threads run every
 * task through this, so a result and a failure mean the same in both. */
int mproc__run_task(mproc_task_fn fn, const char *name, const mproc_bytes *in, mproc_pack *out,
                    mproc_bytes *result, char **text)
{
    *result = (mproc_bytes){NULL, 0};
    *text = NULL;
    if (mproc_pack_reset(out) != 0) {
        *text = mproc_strdup("no result pack");
        return MPROC_ENOMEM;
    }
    int code = fn(in, out);
    if (code != 0) {
        *text = mproc__failure_text(name, code, out);
        return MPROC_ETASK;
    }
    mproc__packed packed;
    if (mproc__pack_open(out, &packed) != 0) {
        *text = mproc_strdup("bad result pack");
        return MPROC_EINVAL;
    }
    if (packed.has_handles) { /* their handles are this worker's: they cannot go back */
        char buf[MPROC_TASK_NAME_MAX + 96];
        snprintf(buf, sizeof buf, "task '%s' returned objects with OS handles in its result", name);
        *text = mproc_strdup(buf);
        mproc_pack_reset(out);
        return MPROC_ENOTSUP;
    }
    *result = packed.bytes;
    return 0;
}

/* Runs one item: `field` is the item's pack field. */
static void run_item(mproc_task_fn fn, const char *name, bool star, const uint8_t *field,
                     size_t len, mproc_pack *out, mproc__buf *reply)
{
    mproc_bytes in = {(void *)field, len};
    if (star) { /* the nested pack's own bytes */
        mproc_unpacker u = {field, len, 0}, inner;
        if (mproc_unpack_pack(&u, &inner) != 0) {
            static const char text[] = "item is not a pack";
            append_item(reply, MPROC_ETYPE, text, sizeof text);
            return;
        }
        in = (mproc_bytes){(void *)inner.data, inner.len};
    }
    mproc_bytes result;
    char *text;
    int code = mproc__run_task(fn, name, &in, out, &result, &text);
    if (code == 0)
        append_item(reply, 0, result.data, result.len);
    else
        append_item(reply, code, text ? text : "", text ? strlen(text) + 1 : 1);
    mproc_free(text);
}

static int pool_worker_main(const mproc_bytes *in, mproc_pack *out)
{
    mproc_unpacker u;
    mproc_queue *tasks = NULL, *results = NULL;
    mproc_conn *hands = NULL;
    int64_t id = 0, maxtasks = 0, has_hands = 0;
    const char *init_name = NULL;
    mproc_unpacker initargs;
    int rc = mproc_unpack_init(&u, in);
    rc = rc ? rc : mproc_unpack_queue(&u, &tasks);
    rc = rc ? rc : mproc_unpack_queue(&u, &results);
    rc = rc ? rc : mproc_unpack_i64(&u, &has_hands);
    if (!rc && has_hands)
        rc = mproc_unpack_conn(&u, &hands);
    rc = rc ? rc : mproc_unpack_i64(&u, &id);
    rc = rc ? rc : mproc_unpack_i64(&u, &maxtasks);
    rc = rc ? rc : mproc_unpack_str(&u, &init_name);
    rc = rc ? rc : mproc_unpack_pack(&u, &initargs);
    if (rc)
        return 70;
    mproc__received_end(false); /* the start's handles are this process's for good */
    mpp_conn *hands_os = hands ? mproc__conn_os(hands) : NULL;
    mproc__buf reply = {0};
    /* `out` (this process's task's own, which no one reads) is the pack each task of the
     * worker writes its result into. */
    if (init_name[0]) {
        mproc_task_fn init = mproc_task_lookup(init_name);
        mproc_bytes init_in = {(void *)initargs.data, initargs.len};
        int code = init ? init(&init_in, out) : MPROC_ENOTASK;
        if (code != 0) {
            char *text = mproc__failure_text(init_name, code, out);
            result_head h = {.type = MSG_INIT_FAILED, .worker_id = (uint64_t)id};
            if (mproc__buf_append(&reply, &h, sizeof h) == 0 &&
                mproc__buf_append(&reply, text ? text : "", text ? strlen(text) : 0) == 0)
                put_result(results, reply.data, reply.len);
            mproc_free(text);
            return 71;
        }
        mproc_pack_reset(out); /* an initializer's result is dropped */
    }
    char cached_name[MPROC_TASK_NAME_MAX + 1] = "";
    mproc_task_fn cached_fn = NULL;
    int64_t done = 0;
    for (;;) {
        mproc_bytes m;
        rc = mproc_queue_get(tasks, 1000, &m);
        if (rc == MPROC_ETIMEDOUT)
            continue;
        if (rc)
            return 72;
        task_head th;
        if (m.len < sizeof th) {
            mproc_bytes_free(&m);
            return 73;
        }
        memcpy(&th, m.data, sizeof th);
        if (th.type == MSG_STOP) {
            mproc_bytes_free(&m);
            break;
        }
        uint8_t *bytes = m.data;
        size_t head_len = mproc__pad8(sizeof th + th.name_len);
        if (th.name_len > MPROC_TASK_NAME_MAX ||
            head_len + (size_t)th.nhandles * 8 + th.items_len > m.len) {
            mproc_bytes_free(&m);
            return 73;
        }
        char name[MPROC_TASK_NAME_MAX + 1];
        memcpy(name, bytes + sizeof th, th.name_len);
        name[th.name_len] = 0;
        if (strcmp(name, cached_name) != 0) {
            cached_fn = mproc_task_lookup(name);
            memcpy(cached_name, name, th.name_len + 1);
        }
        uint8_t *items = bytes + head_len + (size_t)th.nhandles * 8;
        size_t items_len = (size_t)th.items_len;
        reply.len = 0;
        result_head rh = {
            .type = MSG_RESULT, .count = th.count, .seq = th.seq, .worker_id = (uint64_t)id};
        rc = mproc__buf_append(&reply, &rh, sizeof rh);
        /* The objects in the items: this process's copies replace the parent's values. */
        mpp_handle *got = NULL;
        if (!rc && th.nhandles) {
            got = mproc_calloc(th.nhandles, sizeof *got);
            uint64_t *values = mproc_calloc(th.nhandles, sizeof *values);
            rc = got && values ? 0 : MPROC_ENOMEM;
            if (!rc) {
                memcpy(values, bytes + head_len, (size_t)th.nhandles * 8);
                rc = mpp_take_handles(hands_os, values, th.nhandles, got,
                                      mproc__deadline(STREAM_PROGRESS_MS));
            }
            mproc_free(values);
            rc = rc ? rc : mproc__pack_set_handles(items, items_len, got, th.nhandles);
            if (rc)
                return 74; /* the handles and messages no longer match: start afresh */
            mproc__set_received(got, th.nhandles);
        }
        int64_t t0 = mpp_monotonic_us();
        mproc_unpacker iu = {items, items_len, 0};
        for (uint32_t i = 0; i < th.count && !rc; i++) {
            size_t at = iu.pos;
            if (mproc_unpack_skip(&iu) != 0)
                break;
            if (!cached_fn) {
                char text[MPROC_TASK_NAME_MAX + 32];
                snprintf(text, sizeof text, "unknown task '%s'", name);
                rc = append_item(&reply, MPROC_ENOTASK, text, strlen(text) + 1);
                continue;
            }
            run_item(cached_fn, name, th.flags & TASK_STAR, items + at, iu.pos - at, out, &reply);
        }
        if (th.nhandles) {
            mproc__received_end(true);
            mproc_free(got);
        }
        mproc_bytes_free(&m);
        if (rc)
            return 75;
        rh.busy_us = (uint64_t)(mpp_monotonic_us() - t0);
        memcpy(reply.data, &rh, sizeof rh);
        put_result(results, reply.data, reply.len);
        if (maxtasks > 0 && ++done >= maxtasks)
            break;
    }
    mproc_pack_reset(out);
    mproc__buf_free(&reply);
    mproc_queue_destroy(tasks);
    mproc_queue_destroy(results);
    mproc_conn_destroy(hands);
    return 0;
}

/* A worker's task, registered under a name user tasks cannot clash with (':' is rare). */
MPROC_TASK_CONSTRUCTOR_(register_pool_worker)
{
    (void)mproc_task_register(WORKER_TASK, pool_worker_main);
}
