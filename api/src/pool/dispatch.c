/* The process pool's parent side: handing task messages to workers (and the sender thread
 * for large ones), the result thread that takes their results, watches them and replaces
 * the dead, and settling what a dead worker held. */
#include <stdio.h>
#include <string.h>

#include "pool/workers.h"

/* ---- results, and dead workers -------------------------------------------------------------- */

static worker *worker_of_id(mproc_pool *p, uint64_t id)
{
    for (int i = 0; i < p->processes; i++)
        if (p->workers[i].proc && p->workers[i].id == id)
            return &p->workers[i];
    return NULL;
}

static void chunk_append(chunk **head, chunk **tail, chunk *c)
{
    c->next = NULL;
    if (*tail)
        (*tail)->next = c;
    else
        *head = c;
    *tail = c;
}

static chunk *worker_take_chunk(worker *w, uint64_t seq)
{
    chunk *prev = NULL;
    for (chunk *c = w->head; c; prev = c, c = c->next) {
        if (c->seq != seq)
            continue;
        if (prev)
            prev->next = c->next;
        else
            w->head = c->next;
        if (w->tail == c)
            w->tail = prev;
        w->inflight--;
        return c;
    }
    return NULL;
}

/* The cost of a task's chunks, remembered for the next calls of the same task. */
static size_t speed_slot(const mproc_pool *p, const char *task)
{
    size_t h = 5381;
    for (const char *c = task; *c; c++)
        h = h * 33 + (unsigned char)*c;
    (void)p;
    return h % 16;
}

static void remember_speed_locked(mproc_pool *p, const job *j)
{
    size_t s = speed_slot(p, j->task);
    memcpy(p->speed[s].name, j->task, sizeof j->task);
    p->speed[s].us = j->avg_chunk_us;
}

double mproc__pool_recall_speed_locked(const mproc_pool *p, const char *task)
{
    size_t s = speed_slot(p, task);
    return strcmp(p->speed[s].name, task) == 0 ? p->speed[s].us : 0;
}

/* A result message from a worker. */
static void handle_result_locked(mproc_pool *p, const uint8_t *msg, size_t len)
{
    result_head h;
    if (len < sizeof h)
        return;
    memcpy(&h, msg, sizeof h);
    if (h.type == MSG_WAKE)
        return;
    worker *w = worker_of_id(p, h.worker_id);
    if (h.type == MSG_INIT_FAILED) {
        if (!p->init_error) {
            size_t tl = len - sizeof h;
            p->init_error = mproc_malloc(tl + 1);
            if (p->init_error) {
                memcpy(p->init_error, msg + sizeof h, tl);
                p->init_error[tl] = 0;
            }
        }
        return;
    }
    if (h.type != MSG_RESULT || !w)
        return;
    w->answered = true;
    p->bad_starts = 0;
    chunk *c = worker_take_chunk(w, h.seq);
    if (!c)
        return;
    job *j = c->job;
    j->inflight--;
    double us = (double)h.busy_us;
    j->avg_chunk_us = j->avg_chunk_us == 0 ? (us > 0 ? us : 1) : 0.7 * j->avg_chunk_us + 0.3 * us;
    remember_speed_locked(p, j);
    size_t pos = sizeof h;
    for (uint32_t i = 0; i < h.count && i < c->count; i++) {
        item_head ih;
        if (len - pos < sizeof ih)
            break;
        memcpy(&ih, msg + pos, sizeof ih);
        pos += sizeof ih;
        if (ih.len > len - pos)
            break;
        void *data = NULL;
        if (ih.len || ih.code) {
            /* Error texts end with a NUL; results get one too, past their length. */
            data = mproc_malloc((size_t)ih.len + 1);
            if (data) {
                memcpy(data, msg + pos, (size_t)ih.len);
                ((char *)data)[ih.len] = 0;
            }
        }
        if (!data && ih.len) {
            mproc__job_store_result_locked(p, j, c->first + i, MPROC_ENOMEM, NULL, 0);
        } else {
            size_t l = (size_t)ih.len + (ih.code && data ? 1 : 0);
            mproc__job_store_result_locked(p, j, c->first + i, ih.code, data, l);
        }
        pos += mproc__pad8((size_t)ih.len);
    }
    mproc__job_retire_locked(j);
    mproc_free(c);
}

/* Fails the chunks a dead worker had taken. */
static void fail_chunk_locked(mproc_pool *p, chunk *c, const char *text)
{
    job *j = c->job;
    j->inflight--;
    size_t len = strlen(text);
    for (size_t i = 0; i < c->count; i++) {
        char *copy = mproc_malloc(len + 1);
        if (copy)
            memcpy(copy, text, len + 1);
        mproc__job_store_result_locked(p, j, c->first + i, MPROC_EWORKER, copy, copy ? len + 1 : 0);
    }
    mproc__job_retire_locked(j);
    mproc_free(c);
}

static void drain_results_locked(mproc_pool *p)
{
    for (int k = 0; k < 100000; k++) {
        mproc_bytes m;
        if (mproc_queue_get(p->results, 0, &m) != 0)
            return;
        handle_result_locked(p, m.data, m.len);
        mproc_bytes_free(&m);
    }
}

/* w's process has ended (reaped): settle what it held, free the slot. */
static void bury_worker_locked(mproc_pool *p, worker *w)
{
    /* Its last results may still be in the result queue: take them first. */
    drain_results_locked(p);
    /* What is still in its queue was never started: back to the front of the line. */
    for (;;) {
        mproc_bytes m;
        if (mproc_queue_get(w->tasks, 0, &m) != 0)
            break;
        task_head th;
        if (m.len >= sizeof th) {
            memcpy(&th, m.data, sizeof th);
            chunk *c = th.type == MSG_TASK ? worker_take_chunk(w, th.seq) : NULL;
            if (c) {
                if (c->job->cancelled || c->job->complete) {
                    c->job->inflight--;
                    mproc__job_retire_locked(c->job);
                    mproc_free(c);
                } else {
                    chunk_append(&p->returned_head, &p->returned_tail, c);
                }
            }
        }
        mproc_bytes_free(&m);
    }
    int code = 0;
    mproc_process_exitcode(w->proc, &code);
    if (w->head) {
        char text[256];
        snprintf(text, sizeof text, "worker %s (pid %lld) died with exit code %d",
                 mproc_process_name(w->proc), (long long)w->pid, code);
        if (p->state != POOL_TERMINATE) /* terminate kills them on purpose */
            mproc_log(MPROC_LOG_WARNING, "%s holding %u task message(s)", text,
                      (unsigned)w->inflight);
        while (w->head) {
            chunk *c = w->head;
            w->head = c->next;
            fail_chunk_locked(p, c, text);
        }
    }
    w->tail = NULL;
    w->inflight = 0;
    /* A worker that dies by itself before taking any task (an initializer that crashes):
     * counted, so that a pool cannot start workers for ever. Kills do not count. */
    if (p->initializer && !w->answered && w->sent == 0 && code != 0 && code != -9 && code != -15)
        p->bad_starts++;
    mproc_process_destroy(w->proc);
    mproc_queue_destroy(w->tasks);
    mproc_conn_destroy(w->hands);
    memset(w, 0, sizeof *w);
}

/* ---- dispatch ------------------------------------------------------------------------------- */

static size_t depth_for(const mproc_pool *p, const job *j)
{
    if (j->avg_chunk_us <= 0)
        return 1;
    double d = DEPTH_TARGET_US / j->avg_chunk_us;
    size_t depth = d < 1 ? 1 : d > MAX_DEPTH ? MAX_DEPTH : (size_t)d;
    (void)p;
    return depth;
}

static int pick_worker_locked(mproc_pool *p, const job *j, bool idle_only)
{
    int best = -1;
    size_t depth = depth_for(p, j);
    for (int k = 0; k < p->processes; k++) {
        int i = (p->next_pick + k) % p->processes;
        worker *w = &p->workers[i];
        if (!w->proc || w->starting || w->streaming || w->stop_sent)
            continue;
        if (p->maxtasks > 0 && w->sent >= (uint64_t)p->maxtasks)
            continue;
        if (idle_only ? w->inflight != 0 : w->inflight >= depth)
            continue;
        if (best < 0 || w->inflight < p->workers[best].inflight)
            best = i;
    }
    if (best >= 0) /* next time, equals after this one come first (as Python's shared queue) */
        p->next_pick = (best + 1) % p->processes;
    return best;
}

/* Builds the task message of chunk c in p->msg (handle values left for the give). */
static int build_message_locked(mproc_pool *p, const chunk *c, size_t *values_at)
{
    job *j = c->job;
    size_t name_len = strlen(j->task);
    size_t nh =
        j->handle_first ? j->handle_first[c->first + c->count] - j->handle_first[c->first] : 0;
    size_t items_at = c->byte_at, items_len = c->byte_len;
    task_head h = {.type = MSG_TASK,
                   .count = (uint32_t)c->count,
                   .seq = c->seq,
                   .flags = j->star ? TASK_STAR : 0,
                   .name_len = (uint32_t)name_len,
                   .nhandles = (uint32_t)nh,
                   .items_len = items_len};
    p->msg.len = 0;
    size_t head_len = mproc__pad8(sizeof h + name_len);
    int rc = mproc__buf_reserve(&p->msg, head_len + nh * 8 + items_len);
    if (rc)
        return rc;
    memset(p->msg.data, 0, head_len + nh * 8);
    memcpy(p->msg.data, &h, sizeof h);
    memcpy(p->msg.data + sizeof h, j->task, name_len);
    *values_at = head_len;
    memcpy(p->msg.data + head_len + nh * 8, j->items.data + items_at, items_len);
    p->msg.len = head_len + nh * 8 + items_len;
    return 0;
}

/* Gives worker w the handles of chunk c: Windows writes their values into the message. */
static int give_handles_locked(mproc_pool *p, worker *w, const chunk *c, size_t values_at)
{
    job *j = c->job;
    if (!j->handle_first)
        return 0;
    size_t from = j->handle_first[c->first], nh = j->handle_first[c->first + c->count] - from;
    if (!nh)
        return 0;
    uint64_t *values = mproc_calloc(nh, sizeof *values);
    if (!values)
        return MPROC_ENOMEM;
    mpp_child *child = mproc__process_child(w->proc);
    int rc = child ? mpp_give_handles(child, mproc__conn_os(w->hands), j->handles.items + from, nh,
                                      values, mproc__deadline(STREAM_PROGRESS_MS))
                   : MPROC_ECLOSED;
    if (!rc)
        memcpy(p->msg.data + values_at, values, nh * 8);
    mproc_free(values);
    return rc;
}

/* Hands out as much work as the workers may hold now. */
void mproc__pool_dispatch_locked(mproc_pool *p)
{
    if (p->state == POOL_TERMINATE || p->init_error)
        return;
    if (p->threads) { /* worker threads take their work themselves */
        mpp_cond_broadcast(p->work_cond);
        return;
    }
    for (;;) {
        chunk scratch;
        chunk *c = mproc__pool_peek_work_locked(p, &scratch);
        if (!c)
            return;
        job *j = c->job;
        int wi = pick_worker_locked(p, j, false);
        if (wi < 0)
            return;
        worker *w = &p->workers[wi];
        uint64_t seq = c == &scratch ? ++p->next_seq : c->seq;
        c->seq = seq;
        size_t values_at;
        if (build_message_locked(p, c, &values_at) != 0)
            return; /* out of memory: the next result tries again */
        bool big = p->msg.len > BIG_MESSAGE;
        if (big) {
            /* Streamed by the sender thread, to a worker with nothing else queued. */
            if (p->sender_busy || !p->sender_thread)
                return;
            wi = pick_worker_locked(p, j, true);
            if (wi < 0)
                return;
            w = &p->workers[wi];
        } else if (!mproc__queue_fits(w->tasks, p->msg.len)) {
            return; /* its ring is full: results will make room */
        }
        /* Take the chunk off the line. */
        chunk *taken = c;
        if (c == &scratch) {
            taken = mproc_malloc(sizeof *taken);
            if (!taken)
                return;
            *taken = scratch;
            mproc__job_take_chunk_locked(j, taken);
        } else {
            p->returned_head = c->next;
            if (!p->returned_head)
                p->returned_tail = NULL;
        }
        w->sent++;
        chunk_append(&w->head, &w->tail, taken);
        w->inflight++;
        if (big) {
            w->streaming = true;
            p->big = taken;
            p->big_worker = wi;
            p->sender_busy = true;
            mpp_cond_signal(p->send_cond);
            continue;
        }
        int rc = give_handles_locked(p, w, taken, values_at);
        /* It fits, so the put does not wait for room, only (briefly) for the ring's put
         * lock, which the worker takes to give drained memory back. */
        rc = rc ? rc : mproc_queue_put(w->tasks, p->msg.data, p->msg.len, PUT_LOCK_MS);
        if (rc) {
            /* The worker is going or gone; its death settles the chunk (taken back from
             * its queue if it got there, else failed as held). Kill it to be sure. */
            mproc_process_kill(w->proc);
            return;
        }
    }
}

/* The sender thread: streams large task messages into idle workers' queues. */
void mproc__pool_sender_main(void *arg)
{
    mproc_pool *p = arg;
    mpp_mutex_lock(p->mu);
    while (!p->sender_exit) {
        if (!p->big) {
            mpp_cond_wait(p->send_cond, p->mu, 1000);
            continue;
        }
        chunk *c = p->big;
        worker *w = &p->workers[p->big_worker];
        size_t values_at;
        int rc = build_message_locked(p, c, &values_at);
        rc = rc ? rc : give_handles_locked(p, w, c, values_at);
        mproc__buf message = p->msg; /* ours while we stream it; p->msg starts anew */
        p->msg = (mproc__buf){0};
        mproc_queue *q = w->tasks;
        mproc_process *proc = w->proc;
        mpp_mutex_unlock(p->mu);
        if (!rc)
            rc = mproc_queue_put(q, message.data, message.len, STREAM_PROGRESS_MS);
        if (rc)
            mproc_process_kill(proc); /* stuck or gone: its death settles the chunk */
        mproc__buf_free(&message);
        mpp_mutex_lock(p->mu);
        w->streaming = false;
        p->big = NULL;
        p->sender_busy = false;
        mproc__pool_dispatch_locked(p);
    }
    mpp_mutex_unlock(p->mu);
}

/* ---- the result thread ---------------------------------------------------------------------- */

static int live_workers_locked(const mproc_pool *p)
{
    int n = 0;
    for (int i = 0; i < p->processes; i++)
        n += p->workers[i].proc != NULL;
    return n;
}

static void check_workers_locked(mproc_pool *p)
{
    for (int i = 0; i < p->processes; i++) {
        worker *w = &p->workers[i];
        /* (A worker being streamed to is buried once the sender has let go of it.) */
        if (w->proc && !w->starting && !w->streaming && mproc_process_is_alive(w->proc) == 0)
            bury_worker_locked(p, w);
    }
    if (p->init_error) {
        mproc__pool_fail_initializer_locked(p, NULL);
        return;
    }
    if (p->bad_starts >= BAD_STARTS_LIMIT) {
        p->init_error = mproc_strdup("workers keep dying before their first task");
        return;
    }
    /* Replace the dead: the live count drives it, whatever the cause (crash, kill,
     * maxtasksperchild). While closing, only while work is left. */
    bool want = p->state == POOL_RUN || (p->state == POOL_CLOSE && mproc__pool_work_left_locked(p));
    int64_t now = mpp_monotonic_ms();
    for (int i = 0; want && i < p->processes && now >= p->next_start_try; i++)
        if (!p->workers[i].proc && mproc__pool_start_worker_locked(p, i) != 0)
            p->next_start_try = now + 200; /* try again a little later */
}

static void stop_workers_locked(mproc_pool *p)
{
    task_head stop = {.type = MSG_STOP};
    for (int i = 0; i < p->processes; i++) {
        worker *w = &p->workers[i];
        if (w->proc && !w->stop_sent && !w->streaming &&
            mproc_queue_put(w->tasks, &stop, sizeof stop, PUT_LOCK_MS) == 0)
            w->stop_sent = true;
    }
}

void mproc__pool_result_main(void *arg)
{
    mproc_pool *p = arg;
    int64_t terminate_since = -1;
    mpp_mutex_lock(p->mu);
    mproc__store(&p->result_tid, mpp_thread_id());
    for (;;) {
        mproc_bytes m;
        bool ending = p->state != POOL_RUN;
        for (int i = 0; i < p->processes && !ending; i++)
            ending = p->workers[i].stop_sent;
        mpp_mutex_unlock(p->mu);
        int rc = mproc_queue_get(p->results, ending ? ENDING_SLICE_MS : RESULT_SLICE_MS, &m);
        mpp_mutex_lock(p->mu);
        if (rc == 0) {
            handle_result_locked(p, m.data, m.len);
            mproc_bytes_free(&m);
            /* Take whatever else came, under one lock. */
            for (int k = 0; k < 256 && mproc_queue_get(p->results, 0, &m) == 0; k++) {
                handle_result_locked(p, m.data, m.len);
                mproc_bytes_free(&m);
            }
        }
        int64_t now = mpp_monotonic_ms();
        if (rc != 0 || now >= p->next_check || p->init_error || p->state != POOL_RUN) {
            p->next_check = now + CHECK_MS;
            check_workers_locked(p);
        }
        mproc__pool_dispatch_locked(p);
        if (p->wake_iterators) {
            p->wake_iterators = false;
            mpp_cond_broadcast(p->cond);
        }
        mproc__pool_run_callbacks_locked(p);
        if (p->state == POOL_CLOSE && !mproc__pool_work_left_locked(p))
            stop_workers_locked(p);
        if (p->state == POOL_TERMINATE) {
            if (terminate_since < 0) {
                terminate_since = now;
                for (int i = 0; i < p->processes; i++)
                    if (p->workers[i].proc)
                        mproc_process_terminate(p->workers[i].proc);
            } else if (now - terminate_since > STOP_GRACE_MS) {
                for (int i = 0; i < p->processes; i++)
                    if (p->workers[i].proc)
                        mproc_process_kill(p->workers[i].proc);
            }
        }
        if (p->state != POOL_RUN && live_workers_locked(p) == 0 && !p->notify_head &&
            (p->state == POOL_TERMINATE || !mproc__pool_work_left_locked(p) || p->init_error))
            break;
    }
    p->result_thread_done = true;
    mpp_cond_broadcast(p->cond);
    mpp_mutex_unlock(p->mu);
}

void mproc__pool_wake_result_thread(mproc_pool *p)
{
    if (p->threads) {
        mpp_mutex_lock(p->mu);
        mpp_cond_broadcast(p->cond);
        mpp_cond_broadcast(p->work_cond);
        mpp_mutex_unlock(p->mu);
        return;
    }
    result_head wake = {.type = MSG_WAKE};
    mproc_queue_put(p->results, &wake, sizeof wake, 0);
}
