/* The manager's server: the listener thread, one thread per connection (each authenticates
 * its client, then answers its requests one by one under the server's mutex), the clients'
 * liveness, and starting, waiting for and stopping a server. */
#include <stdio.h>

#include "manager/private.h"

#define DEFAULT_MAX_MESSAGE (((size_t)1 << 30) + 65536)
#define MAX_CONNECTIONS 1024

static server *servers; /* this process's, under mpp_lock (for a forked child's cleanup) */

/* In a forked child: the parent's servers and connections must not stay open here (a
 * listener kept open takes connections nobody answers; a connection kept open hides its
 * client's end from the server). Closes this process's copies; the structures are left.
 * (link.c's hook does the same for the parent's client connections.) */
static void servers_after_fork(void)
{
    for (server *s = servers; s; s = s->next_server) {
        s->orphaned = true;
        mproc__store(&s->stopping, true);
        if (s->listener)
            mproc__listener_abandon(s->listener);
        s->listener = NULL;
        for (sconn *sc = s->conns; sc; sc = sc->next)
            if (sc->st && sc->st->conn) {
                mpp_conn_close(sc->st->conn);
                sc->st->conn = NULL;
            }
    }
    servers = NULL;
}
static mproc__fork_hook fork_hook = {.fn = servers_after_fork};

/* ---- clients ----------------------------------------------------------------------------- */
static client *client_of(server *s, uint64_t token)
{
    for (size_t i = 0; i < s->nclients; i++)
        if (s->clients[i].token == token)
            return &s->clients[i];
    return NULL;
}

static int client_enter(server *s, uint64_t token)
{
    client *c = client_of(s, token);
    if (c) {
        c->connections++;
        return 0;
    }
    if (s->nclients == s->ccap) {
        size_t cap = s->ccap ? s->ccap * 2 : 16;
        client *grown = mproc_realloc(s->clients, cap * sizeof *grown);
        if (!grown)
            return MPROC_ENOMEM;
        s->clients = grown, s->ccap = cap;
    }
    s->clients[s->nclients++] = (client){token, 1};
    return 0;
}

/* A client process whose last connection closed is gone: its locks are freed for the next
 * taker, who learns of it with MPROC_EOWNERDEAD. */
static void client_leave(server *s, uint64_t token)
{
    client *c = client_of(s, token);
    if (!c || --c->connections > 0)
        return;
    *c = s->clients[--s->nclients];
    for (size_t i = 0; i < s->nobjs; i++) {
        sobj *o = s->objs[i];
        if (o->kind == K_LOCK && o->u.lk.count > 0 && o->u.lk.who.token == token) {
            o->u.lk.count = 0;
            o->u.lk.owner_died = true;
        }
    }
    mpp_cond_broadcast(s->cv);
}

/* ---- connections ------------------------------------------------------------------------- */
void mproc__mgr_answer(server *s, uint64_t token, mpp_conn *conn, const mproc_bytes *in,
                       mproc_pack *res)
{
    request r = {.conn = conn};
    mproc_pack_reset(res);
    mproc_pack_i64(res, 0);
    int code;
    if (mproc_unpack_init(&r.args, in) || mproc_unpack_i64(&r.args, (int64_t *)&r.id) ||
        mproc_unpack_i64(&r.args, &r.op) || mproc_unpack_i64(&r.args, &r.timeout) ||
        mproc_unpack_i64(&r.args, (int64_t *)&r.who.thread)) {
        code = MPROC_EPROTO; /* answered, and the connection stays: frames are whole */
        mproc__mgr_reject(s->address, "malformed request (answered with MPROC_EPROTO)");
    } else {
        r.who.token = token;
        mpp_mutex_lock(s->mu);
        code = mproc__mgr_run_request(s, &r, res);
        mpp_mutex_unlock(s->mu);
    }
    if (code) {
        mproc_pack_reset(res);
        mproc_pack_i64(res, code);
    }
}

static void connection_main(void *arg)
{
    sconn *sc = arg;
    server *s = sc->srv;
    stream *st = sc->st;
    uint64_t token = 0;
    mproc_pack *res = NULL;
    int rc = mproc__mgr_server_handshake(st, s->key, s->key_len, s->max_message, &s->stopping,
                                         s->address, &token);
    if (!rc) {
        mpp_mutex_lock(s->mu);
        rc = client_enter(s, token);
        mpp_mutex_unlock(s->mu);
        if (rc)
            token = 0;
    }
    rc = rc ? rc : mproc_pack_create(&res);
    while (!rc && !mproc__load(&s->stopping)) {
        size_t size;
        rc = mproc__mgr_read_frame(st, s->max_message, -1, &s->stopping, &size);
        if (rc == MPROC_ETOOBIG) {
            char why[96];
            snprintf(why, sizeof why, "a frame of %zu bytes exceeds max_message (%zu)", size,
                     s->max_message);
            mproc__mgr_reject(s->address, why);
        } else if (rc == MPROC_EPROTO) {
            mproc__mgr_reject(s->address, "truncated frame");
        }
        if (rc)
            break;
        mproc_bytes in = {st->frame.data, st->frame.len};
        mproc__mgr_answer(s, token, st->conn, &in, res);
        mproc_bytes out;
        mproc_pack_view(res, &out);
        rc = mproc__mgr_write_frame(st, out.data, out.len, mproc__deadline(GRACE_MS));
    }
    mproc_pack_destroy(res);
    mpp_mutex_lock(s->mu);
    if (token)
        client_leave(s, token);
    mpp_mutex_unlock(s->mu);
    mproc__store(&sc->done, true);
}

/* Joins finished connection threads (all of them when every), under no lock. */
static void reap_connections(server *s, bool every)
{
    sconn **pp = &s->conns;
    while (*pp) {
        sconn *sc = *pp;
        if (every || mproc__load(&sc->done)) {
            mpp_thread_join(sc->thread);
            mproc__mgr_stream_free(sc->st);
            *pp = sc->next;
            s->nconns--;
            mproc_free(sc);
        } else {
            pp = &sc->next;
        }
    }
}

/* The longest wait after a failed accept (the descriptor limit). */
#define ACCEPT_BACKOFF_MS 100

static void acceptor_main(void *arg)
{
    server *s = arg;
    int64_t backoff = 0;
    while (!mproc__load(&s->stopping)) {
        mpp_conn *c = NULL;
        int rc = mproc__accept(s->listener, POLL_MS, &c);
        reap_connections(s, false);
        if (rc && rc != MPROC_ETIMEDOUT) {
            /* EMFILE, ENFILE, ENOMEM...: the connection still waits, so accept at once again
             * would spin. Wait, doubling from 1 ms up to ACCEPT_BACKOFF_MS. */
            backoff = backoff ? backoff * 2 : 1;
            backoff = backoff > ACCEPT_BACKOFF_MS ? ACCEPT_BACKOFF_MS : backoff;
            mpp_sleep_ms(backoff);
        }
        if (rc)
            continue;
        backoff = 0;
        if (mproc__load(&s->stopping)) { /* server_stop's wake-up call */
            mpp_conn_close(c);
            break;
        }
        sconn *sc = s->nconns < MAX_CONNECTIONS ? mproc_calloc(1, sizeof *sc) : NULL;
        stream *st = sc ? mproc_calloc(1, sizeof *st) : NULL;
        if (st) {
            st->conn = c;
            sc->srv = s;
            sc->st = st;
        }
        if (!st || mpp_thread_start(&sc->thread, connection_main, sc)) {
            mproc__mgr_reject(s->address, "no room for another connection");
            if (st)
                mproc__mgr_stream_free(st);
            else
                mpp_conn_close(c);
            mproc_free(sc);
            continue;
        }
        sc->next = s->conns;
        s->conns = sc;
        s->nconns++;
    }
    reap_connections(s, true);
    /* Nobody may connect to a stopped server: a connection would wait in the backlog. */
    mproc__listener_close(s->listener);
    s->listener = NULL;
    mpp_mutex_lock(s->mu);
    s->stopped = true;
    mpp_cond_broadcast(s->cv);
    mpp_mutex_unlock(s->mu);
}

/* ---- servers ----------------------------------------------------------------------------- */
void mproc__mgr_server_free(server *s)
{
    if (!s)
        return;
    mpp_lock();
    for (server **pp = &servers; *pp; pp = &(*pp)->next_server)
        if (*pp == s) {
            *pp = s->next_server;
            break;
        }
    mpp_unlock();
    if (s->listener)
        mproc__listener_close(s->listener);
    mproc__mgr_objects_free(s);
    mproc_free(s->clients);
    if (s->key) {
        memset(s->key, 0, s->key_len);
        mproc_free(s->key);
    }
    if (s->orphaned) /* its threads' memory and locks are not this process's to free */
        return;
    if (s->cv)
        mpp_cond_destroy(s->cv);
    if (s->mu)
        mpp_mutex_destroy(s->mu);
    mproc_free(s);
}

int mproc__mgr_server_start(server **out, const char *address, const void *key, size_t key_len,
                            size_t max_message)
{
    server *s = mproc_calloc(1, sizeof *s);
    if (!s)
        return MPROC_ENOMEM;
    s->key = mproc_malloc(key_len);
    s->key_len = key_len;
    s->max_message = max_message ? max_message : DEFAULT_MAX_MESSAGE;
    int rc = s->key ? 0 : MPROC_ENOMEM;
    if (!rc)
        memcpy(s->key, key, key_len);
    rc = rc ? rc : mpp_mutex_create(&s->mu);
    rc = rc ? rc : mpp_cond_create(&s->cv);
    rc = rc ? rc : mproc__listen(address, &s->listener, s->address, sizeof s->address);
    rc = rc ? rc : mpp_thread_start(&s->acceptor, acceptor_main, s);
    if (rc) {
        mproc__mgr_server_free(s);
        return rc;
    }
    mproc__at_fork_child(&fork_hook);
    mpp_lock();
    s->next_server = servers;
    servers = s;
    mpp_unlock();
    *out = s;
    return 0;
}

void mproc__mgr_server_serve(server *s, int64_t parent)
{
    /* The client that asked closes its connections, so the threads end at once. */
    mpp_mutex_lock(s->mu);
    while (!mproc__load(&s->stopping)) {
        mpp_cond_wait(s->cv, s->mu, 500);
        if (!mproc__load(&s->stopping) && mproc_getppid() != parent && !mpp_pid_alive(parent))
            break;
    }
    mpp_mutex_unlock(s->mu);
}

int mproc__mgr_server_wait(server *s, int64_t timeout_ms)
{
    int64_t deadline = mproc__deadline(timeout_ms);
    mpp_mutex_lock(s->mu);
    int rc = 0;
    while (!s->stopped && !rc) {
        int64_t left = mproc__remaining(deadline);
        if (left == 0)
            rc = MPROC_ETIMEDOUT;
        else
            mpp_cond_wait(s->cv, s->mu, left < 0 || left > POLL_MS ? POLL_MS : left);
    }
    mpp_mutex_unlock(s->mu);
    return rc;
}

void mproc__mgr_server_stop(server *s)
{
    if (s->orphaned)
        return;
    mpp_mutex_lock(s->mu);
    mproc__store(&s->stopping, true);
    mpp_cond_broadcast(s->cv);
    mpp_mutex_unlock(s->mu);
    /* A connection of our own wakes the acceptor now rather than at its next poll. */
    mpp_conn *wake;
    if (mproc__connect(s->address, 1000, &wake) == 0)
        mpp_conn_close(wake);
    mpp_thread_join(s->acceptor);
    s->acceptor = NULL;
}
