/* Managers (mproc/manager.h): starting, serving, connecting to, waiting for and shutting
 * down a manager; creating objects in its server, publishing them and finding them. */
#include <stdio.h>

#include "manager/private.h"

/* ---- managers ---------------------------------------------------------------------------- */
enum role { ROLE_STARTED = 1, ROLE_SERVING, ROLE_CONNECTED };

struct mproc_manager {
    proxy p; /* kind K_MANAGER, id 0: calls that name no object */
    int role;
    server *srv;         /* serving */
    mproc_process *proc; /* started */
    bool shut;
};

#define SERVER_TASK "mproc:manager-server"

/* How long start and connect wait for the server to be ready: opts' timeout_ms, 0 (the
 * default) for as long as it takes. A server process that ends first ends the wait. */
static int64_t ready_timeout(const mproc_manager_opts *o)
{
    return o && o->timeout_ms != 0 ? o->timeout_ms : MPROC_FOREVER;
}

static int manager_new(int role, link *l, mproc_manager **out)
{
    mproc_manager *m = mproc_calloc(1, sizeof *m);
    if (!m)
        return MPROC_ENOMEM;
    m->p = (proxy){{0}, PROXY_MAGIC, K_MANAGER, 0, 0, l};
    m->role = role;
    *out = m;
    return 0;
}

static mproc_manager *manager_of(const mproc_manager *m)
{
    return m && m->p.magic == PROXY_MAGIC && m->p.kind == K_MANAGER ? (mproc_manager *)m : NULL;
}

/* A fresh private local address. */
static int local_address(char *buf, size_t cap)
{
    uint8_t r[8];
    int rc = mpp_random_bytes(r, sizeof r);
    if (rc)
        return rc;
    snprintf(buf, cap, "local:mproc-%lld-%02x%02x%02x%02x%02x%02x%02x%02x", (long long)mpp_getpid(),
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    return 0;
}

/* The server process: args are the address, the key, max_message and the pipe end on
 * which it reports (I64 status, STR bound address). It serves until shut down, or until
 * its parent is gone. */
static int server_task(const mproc_bytes *in, mproc_pack *out)
{
    (void)out;
    mproc_unpacker u;
    const char *address;
    const void *key;
    size_t key_len;
    int64_t max, parent = mproc_getppid();
    mproc_conn *report = NULL;
    if (mproc_unpack_init(&u, in) || mproc_unpack_str(&u, &address) ||
        mproc_unpack_bytes(&u, &key, &key_len) || mproc_unpack_i64(&u, &max) ||
        mproc_unpack_conn(&u, &report))
        return 2;
    server *s = NULL;
    int rc = mproc__mgr_server_start(&s, address, key, key_len, (size_t)max);
    mproc_pack *msg;
    if (mproc_pack_create(&msg) == 0) {
        mproc_pack_i64(msg, rc);
        mproc_pack_str(msg, rc ? "" : s->address);
        mproc_bytes v;
        mproc_pack_view(msg, &v);
        mproc_conn_send(report, v.data, v.len, 10000);
        mproc_pack_destroy(msg);
    }
    mproc_conn_destroy(report);
    if (rc)
        return 1;
    /* serve_forever, but not for an orphan: a parent gone means nobody can shut us down. */
    mproc__mgr_server_serve(s, parent);
    mproc__mgr_server_stop(s);
    mproc__mgr_server_free(s);
    return 0;
}
MPROC_TASK_CONSTRUCTOR_(register_manager_server)
{
    (void)mproc_task_register(SERVER_TASK, server_task);
}

int mproc_manager_start(mproc_manager **out, const mproc_manager_opts *opts)
{
    if (!out || (opts && opts->authkey_len && !opts->authkey))
        return mproc__fail(MPROC_EINVAL);
    uint8_t random_key[32];
    const void *key = opts ? opts->authkey : NULL;
    size_t key_len = opts ? opts->authkey_len : 0;
    int rc = 0;
    if (!key || !key_len) {
        rc = mpp_random_bytes(random_key, sizeof random_key);
        key = random_key, key_len = sizeof random_key;
    }
    char address[256];
    if (!rc && opts && opts->address)
        snprintf(address, sizeof address, "%s", opts->address);
    else if (!rc)
        rc = local_address(address, sizeof address);
    mproc_conn *reader = NULL, *writer = NULL;
    mproc_pack *args = NULL;
    mproc_process *proc = NULL;
    mproc_bytes reply = {0};
    rc = rc ? rc : mproc_pipe(&reader, &writer, false);
    rc = rc ? rc : mproc_pack_create(&args);
    rc = rc ? rc : mproc_pack_str(args, address);
    rc = rc ? rc : mproc_pack_bytes(args, key, key_len);
    rc = rc ? rc : mproc_pack_i64(args, opts ? (int64_t)opts->max_message : 0);
    rc = rc ? rc : mproc_pack_handle(args, writer);
    mproc_process_opts server_opts = {.target = SERVER_TASK,
                                      .args = args,
                                      .name = "SyncManager",
                                      .daemon = true,
                                      .ctx = opts ? opts->ctx : NULL};
    rc = rc ? rc : mproc_process_create(&proc, &server_opts);
    rc = rc ? rc : mproc_process_start(proc);
    /* Only the server may hold the report's write end now (the args hold a copy): a server
     * that ends before it reports ends the wait with MPROC_ECLOSED. */
    mproc_pack_destroy(args);
    args = NULL;
    if (writer)
        mproc_conn_destroy(writer);
    rc = rc ? rc : mproc_conn_recv(reader, ready_timeout(opts), &reply);
    mproc_unpacker u;
    int64_t status = 0;
    const char *bound = NULL;
    if (!rc && (mproc_unpack_init(&u, &reply) || mproc_unpack_i64(&u, &status) ||
                mproc_unpack_str(&u, &bound)))
        rc = MPROC_EPROTO;
    rc = rc ? rc : (int)status;
    link *l = NULL;
    rc = rc ? rc : mproc__mgr_link_get(bound, key, key_len, &l);
    mproc_manager *m = NULL;
    rc = rc ? rc : manager_new(ROLE_STARTED, l, &m);
    if (rc) {
        mproc__mgr_link_put(l);
        if (proc) {
            if (mproc_process_is_alive(proc) == 1)
                mproc_process_kill(proc);
            mproc_process_join(proc, 5000);
            mproc_process_destroy(proc);
        }
    } else {
        m->proc = proc;
        *out = m;
    }
    mproc_bytes_free(&reply);
    if (reader)
        mproc_conn_destroy(reader);
    mproc_pack_destroy(args);
    memset(random_key, 0, sizeof random_key);
    return rc ? mproc__fail(rc) : 0;
}

static int check_key(const mproc_manager_opts *o)
{
    return !o || !o->address || !o->authkey || !o->authkey_len ? MPROC_EINVAL : 0;
}

int mproc_manager_serve(mproc_manager **out, const mproc_manager_opts *opts)
{
    if (!out || !opts || !opts->authkey || !opts->authkey_len)
        return mproc__fail(MPROC_EINVAL);
    char address[256];
    int rc = 0;
    if (opts->address)
        snprintf(address, sizeof address, "%s", opts->address);
    else
        rc = local_address(address, sizeof address);
    server *s = NULL;
    rc = rc ? rc
            : mproc__mgr_server_start(&s, address, opts->authkey, opts->authkey_len,
                                      opts->max_message);
    link *l = NULL;
    rc = rc ? rc : mproc__mgr_link_get(s->address, opts->authkey, opts->authkey_len, &l);
    mproc_manager *m = NULL;
    rc = rc ? rc : manager_new(ROLE_SERVING, l, &m);
    if (rc) {
        mproc__mgr_link_put(l);
        if (s) {
            mproc__mgr_server_stop(s);
            mproc__mgr_server_free(s);
        }
        return mproc__fail(rc);
    }
    m->srv = s;
    *out = m;
    return 0;
}

int mproc_manager_connect(mproc_manager **out, const mproc_manager_opts *opts)
{
    if (!out || check_key(opts))
        return mproc__fail(MPROC_EINVAL);
    link *l;
    int rc = mproc__mgr_link_get(opts->address, opts->authkey, opts->authkey_len, &l);
    if (rc)
        return mproc__fail(rc);
    /* Connect now, as Python's connect() does: a wrong key or address fails here. */
    lconn *c;
    rc = mproc__mgr_link_take(l, mproc__deadline(ready_timeout(opts)), &c);
    if (!rc)
        mproc__mgr_link_give_back(l, c, true);
    mproc_manager *m = NULL;
    rc = rc ? rc : manager_new(ROLE_CONNECTED, l, &m);
    if (rc) {
        mproc__mgr_link_put(l);
        return mproc__fail(rc);
    }
    *out = m;
    return 0;
}

const char *mproc_manager_address(const mproc_manager *m)
{
    m = manager_of(m);
    return m ? m->p.link->address : NULL;
}

int64_t mproc_manager_pid(const mproc_manager *m)
{
    m = manager_of(m);
    return m && m->proc ? mproc_process_pid(m->proc) : 0;
}

int mproc_manager_wait(mproc_manager *m, int64_t timeout_ms)
{
    m = manager_of(m);
    if (!m)
        return mproc__fail(MPROC_EINVAL);
    if (m->role != ROLE_SERVING)
        return mproc__fail(MPROC_ESTATE);
    if (m->shut)
        return 0;
    int rc = mproc__mgr_server_wait(m->srv, timeout_ms);
    return rc ? mproc__fail(rc) : 0;
}

static int send_shutdown(mproc_manager *m, int64_t timeout_ms)
{
    call c;
    int rc = mproc__mgr_call_begin(&c, m, K_MANAGER, OP_SHUTDOWN);
    if (rc)
        return rc;
    c.timeout = timeout_ms < 0 ? 0 : timeout_ms;
    c.now = true; /* never part of a batch */
    return mproc__mgr_call_end(&c, 0, OUT_NONE, NULL);
}

int mproc_manager_shutdown(mproc_manager *m, int64_t timeout_ms)
{
    m = manager_of(m);
    if (!m)
        return mproc__fail(MPROC_EINVAL);
    if (m->shut)
        return 0;
    int rc = 0;
    if (m->role == ROLE_CONNECTED) {
        rc = send_shutdown(m, timeout_ms);
        if (rc == MPROC_ECLOSED) /* the server may end before its answer leaves */
            rc = 0;
    } else if (m->role == ROLE_SERVING) {
        mproc__mgr_server_stop(m->srv);
        mproc__mgr_server_free(m->srv);
        m->srv = NULL;
    } else {
        int64_t deadline = mproc__deadline(timeout_ms);
        send_shutdown(m, mproc__remaining(deadline)); /* a dead server is fine here */
        mproc__mgr_link_drop_idle(m->p.link);         /* the server's threads see these end */
        if (mproc_process_join(m->proc, mproc__remaining(deadline)) == MPROC_ETIMEDOUT) {
            mproc_process_kill(m->proc);
            rc = mproc_process_join(m->proc, 5000);
        }
        if (!rc) {
            mproc_process_destroy(m->proc);
            m->proc = NULL;
        }
    }
    if (!rc)
        m->shut = true;
    mproc__mgr_link_drop_idle(m->p.link);
    return rc ? mproc__fail(rc) : 0;
}

void mproc_manager_destroy(mproc_manager *m)
{
    m = manager_of(m);
    if (!m)
        return;
    if (m->role != ROLE_CONNECTED)
        mproc_manager_shutdown(m, 10000);
    if (m->proc) { /* could not be joined: do not leave it running */
        mproc_process_kill(m->proc);
        mproc_process_join(m->proc, 5000);
        mproc_process_destroy(m->proc);
    }
    m->p.magic = 0;
    mproc__mgr_link_put(m->p.link);
    mproc_free(m);
}

/* ---- creating and finding objects -------------------------------------------------------- */
static int create(mproc_manager *m, uint32_t kind, uint32_t flags, int64_t a, int64_t b, void **out)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    if (mproc__mgr_in_batch())
        return mproc__fail(MPROC_ESTATE); /* the proxy is needed now */
    call c;
    int rc = mproc__mgr_call_begin(&c, manager_of(m), K_MANAGER, OP_CREATE);
    if (rc)
        return rc;
    rc = mproc_pack_i64(c.pk, kind);
    rc = rc ? rc : mproc_pack_i64(c.pk, flags);
    rc = rc ? rc : mproc_pack_i64(c.pk, a);
    rc = rc ? rc : mproc_pack_i64(c.pk, b);
    int64_t id = 0;
    rc = mproc__mgr_call_end(&c, rc, OUT_I64, &id);
    if (rc)
        return rc;
    rc = mproc__mgr_proxy_new(m->p.link, kind, flags, (uint64_t)id, out);
    return rc ? mproc__fail(rc) : 0;
}

int mproc_manager_dict(mproc_manager *m, mproc_mdict **out)
{
    return create(m, K_DICT, 0, 0, 0, (void **)out);
}
int mproc_manager_list(mproc_manager *m, mproc_mlist **out)
{
    return create(m, K_LIST, 0, 0, 0, (void **)out);
}
int mproc_manager_namespace(mproc_manager *m, mproc_mns **out)
{
    return create(m, K_NS, 0, 0, 0, (void **)out);
}
int mproc_manager_queue(mproc_manager *m, int64_t maxsize, mproc_mqueue **out)
{
    return create(m, K_QUEUE, 0, maxsize, 0, (void **)out);
}
int mproc_manager_joinable_queue(mproc_manager *m, int64_t maxsize, mproc_mqueue **out)
{
    return create(m, K_QUEUE, F_JOINABLE, maxsize, 0, (void **)out);
}
int mproc_manager_lock(mproc_manager *m, mproc_mlock **out)
{
    return create(m, K_LOCK, 0, 0, 0, (void **)out);
}
int mproc_manager_rlock(mproc_manager *m, mproc_mlock **out)
{
    return create(m, K_LOCK, F_RECURSIVE, 0, 0, (void **)out);
}
int mproc_manager_semaphore(mproc_manager *m, int64_t value, mproc_msem **out)
{
    return value < 0 ? mproc__fail(MPROC_EINVAL) : create(m, K_SEM, 0, value, 0, (void **)out);
}
int mproc_manager_bounded_semaphore(mproc_manager *m, int64_t value, mproc_msem **out)
{
    return value < 0 ? mproc__fail(MPROC_EINVAL)
                     : create(m, K_SEM, F_BOUNDED, value, 0, (void **)out);
}
int mproc_manager_event(mproc_manager *m, mproc_mevent **out)
{
    return create(m, K_EVENT, 0, 0, 0, (void **)out);
}
int mproc_manager_condition(mproc_manager *m, mproc_mlock *lock, mproc_mcond **out)
{
    proxy *lk = lock ? proxy_of(lock, K_LOCK) : NULL;
    if (lock && (!lk || !manager_of(m) || lk->link != m->p.link))
        return mproc__fail(MPROC_EINVAL);
    return create(m, K_COND, 0, lk ? (int64_t)lk->id : 0, 0, (void **)out);
}
int mproc_manager_barrier(mproc_manager *m, int64_t parties, mproc_mbarrier **out)
{
    return parties < 1 ? mproc__fail(MPROC_EINVAL)
                       : create(m, K_BARRIER, 0, parties, 0, (void **)out);
}
int mproc_manager_value(mproc_manager *m, mproc_type type, mproc_mvalue **out)
{
    return mproc_type_size(type) ? create(m, K_VALUE, 0, type, 1, (void **)out)
                                 : mproc__fail(MPROC_EINVAL);
}
int mproc_manager_array(mproc_manager *m, mproc_type type, int64_t length, mproc_marray **out)
{
    return mproc_type_size(type) && length > 0 ? create(m, K_ARRAY, 0, type, length, (void **)out)
                                               : mproc__fail(MPROC_EINVAL);
}

int mproc_manager_register(mproc_manager *m, const char *name, const void *x)
{
    proxy *p = proxy_of(x, 0);
    if (!name || !*name || !p || !manager_of(m) || p->link != m->p.link)
        return mproc__fail(MPROC_EINVAL);
    call c;
    int rc = mproc__mgr_call_begin(&c, m, K_MANAGER, OP_REGISTER);
    if (rc)
        return rc;
    rc = mproc_pack_str(c.pk, name);
    rc = rc ? rc : mproc_pack_i64(c.pk, (int64_t)p->id);
    return mproc__mgr_call_end(&c, rc, OUT_NONE, NULL);
}

static int lookup(mproc_manager *m, const char *name, uint32_t kind, void **out)
{
    if (!name || !out)
        return mproc__fail(MPROC_EINVAL);
    if (mproc__mgr_in_batch())
        return mproc__fail(MPROC_ESTATE); /* the proxy is needed now */
    call c;
    int rc = mproc__mgr_call_begin(&c, manager_of(m), K_MANAGER, OP_LOOKUP);
    if (rc)
        return rc;
    rc = mproc_pack_str(c.pk, name);
    int64_t found[3]; /* id, kind, flags */
    rc = mproc__mgr_call_end(&c, rc, OUT_I64X3, found);
    if (rc)
        return rc;
    if (found[1] != kind)
        return mproc__fail(MPROC_ETYPE);
    rc = mproc__mgr_proxy_new(m->p.link, kind, (uint32_t)found[2], (uint64_t)found[0], out);
    return rc ? mproc__fail(rc) : 0;
}

/* mproc_manager_lookup_dict and the others. */
#define KIND(NAME, CODE, TYPE, LOOKUP)                                                             \
    int mproc_manager_lookup_##LOOKUP(mproc_manager *m, const char *name, mproc_##TYPE **out)      \
    {                                                                                              \
        return lookup(m, name, K_##NAME, (void **)out);                                            \
    }
#include "manager/ops.def"
