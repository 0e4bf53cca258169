/* Processes, the portable half: validation, names, the registry of children, exit-time
 * joins, the payload a child receives and the child's main. The backend moves the
 * payload and talks to the OS (platform.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/modules.h"

/* How long start() waits for a child to acknowledge its payload. A fresh process under
 * an emulator (Wine, qemu) can take seconds; a healthy one never takes this long. */
#define START_TIMEOUT_MS 60000
/* How long exit-time clean-up waits for a terminated daemon child before killing it. */
#define DAEMON_EXIT_GRACE_MS 1000
/* Payload format version: bump when the fields below change. */
#define PAYLOAD_MAGIC INT64_C(0x6d70726f63000001)

struct mproc_context {
    mproc_start_method method;
};

static mproc_context contexts[] = {
    {MPROC_METHOD_DEFAULT}, {MPROC_FORK}, {MPROC_SPAWN}, {MPROC_FORKSERVER}};

typedef enum { P_CREATED, P_STARTING, P_STARTED, P_ENDED } process_state;

struct mproc_process {
    char *name;
    char *target;
    mproc__buf args;
    mproc__handles handles; /* duplicates of the handles packed in args, owned here */
    bool daemon;
    unsigned number;           /* N of Process-N: also the child's identity */
    mproc_start_method method; /* as asked; resolved at start */
    process_state state;
    int exitcode;
    int64_t pid;
    mpp_child *child;
    struct mproc_process *prev, *next; /* registry of started, not destroyed processes */
    unsigned exit_pins;                /* the exit handler works on it: destroy defers */
    unsigned exit_phase;               /* the last phase of the exit handler that saw it */
    bool destroyed;                    /* destroyed while pinned: the last unpin frees */
    struct mproc_process *holding_prev, *holding_next; /* while `handles` holds copies */
};

/* Processes created but not started whose handles hold copies of pipe ends (a forked
 * child must not keep those open); guarded by mpp_lock. */
static mproc_process *holding;

/* A forked child closes the other not-yet-started processes' copies (its own are the ones
 * in its args, which it received). */
static void forget_holding(void)
{
    for (mproc_process *other = holding; other; other = other->holding_next) {
        for (size_t i = 0; i < other->handles.count; i++)
            if (!mproc__was_received(other->handles.items[i]))
                mpp_handle_close(other->handles.items[i]);
        other->handles.count = 0;
    }
}

static mproc__fork_hook fork_hook = {.fn = forget_holding};

static void holding_add(mproc_process *p)
{
    mproc__at_fork_child(&fork_hook);
    mpp_lock();
    p->holding_next = holding;
    if (holding)
        holding->holding_prev = p;
    holding = p;
    mpp_unlock();
}

/* Closes p's copies and takes it off the list. */
static void holding_close(mproc_process *p)
{
    mpp_lock();
    if (p->holding_prev)
        p->holding_prev->holding_next = p->holding_next;
    else if (holding == p)
        holding = p->holding_next;
    if (p->holding_next)
        p->holding_next->holding_prev = p->holding_prev;
    p->holding_prev = p->holding_next = NULL;
    mpp_unlock();
    mproc__handles_close(&p->handles);
}

/* Per-process state of the library (who this process is: base/identity.c). In a child it
 * is reset from the payload. */
static struct {
    bool initialized;
    bool in_daemon;
    mproc_start_method default_method;
    unsigned counter; /* children created so far, for their names */
    mproc_process *children;
    int64_t exit_join_timeout;
    bool exit_done;
} self = {.exit_join_timeout = MPROC_FOREVER};

/* ---- start methods and contexts -------------------------------------------------- */

static bool method_valid(int method)
{
    return method >= MPROC_METHOD_DEFAULT && method <= MPROC_FORKSERVER;
}

static mproc_start_method resolve_method(mproc_start_method method)
{
    if (method != MPROC_METHOD_DEFAULT)
        return method;
    if (self.default_method != MPROC_METHOD_DEFAULT)
        return self.default_method;
    return (mproc_start_method)mpp_default_method();
}

int mproc_set_start_method(mproc_start_method method)
{
    if (!method_valid(method))
        return mproc__fail(MPROC_EINVAL);
    if (method != MPROC_METHOD_DEFAULT && !mpp_method_available(method))
        return mproc__fail(MPROC_ENOTSUP);
    self.default_method = method;
    return 0;
}

mproc_start_method mproc_get_start_method(void)
{
    return resolve_method(MPROC_METHOD_DEFAULT);
}

const char *mproc_start_method_name(mproc_start_method method)
{
    switch (method) {
    case MPROC_FORK: return "fork";
    case MPROC_SPAWN: return "spawn";
    case MPROC_FORKSERVER: return "forkserver";
    case MPROC_METHOD_DEFAULT: return mproc_start_method_name(mproc_get_start_method());
    }
    return NULL;
}

int mproc_start_method_available(mproc_start_method method)
{
    if (method == MPROC_METHOD_DEFAULT)
        return 1;
    return method_valid(method) && mpp_method_available(method);
}

int mproc_context_get(mproc_context **out, mproc_start_method method)
{
    if (!out || !method_valid(method))
        return mproc__fail(MPROC_EINVAL);
    if (method != MPROC_METHOD_DEFAULT && !mpp_method_available(method))
        return mproc__fail(MPROC_ENOTSUP);
    *out = &contexts[method];
    return 0;
}

mproc_start_method mproc_context_method(const mproc_context *ctx)
{
    return ctx ? resolve_method(ctx->method) : mproc_get_start_method();
}

/* ---- counts ---------------------------------------------------------------------------- */

int mproc_cpu_count(void)
{
    int n = mpp_cpu_count();
    return n > 0 ? n : 1;
}

int mproc_cpu_count_usable(void)
{
    int n = mpp_cpu_count_usable();
    return n > 0 ? n : 1;
}

int mproc_set_exit_join_timeout(int64_t timeout_ms)
{
    if (timeout_ms < MPROC_FOREVER)
        return mproc__fail(MPROC_EINVAL);
    self.exit_join_timeout = timeout_ms;
    return 0;
}

/* ---- registry ------------------------------------------------------------------------ */

static void registry_add(mproc_process *p)
{
    p->prev = NULL;
    p->next = self.children;
    if (self.children)
        self.children->prev = p;
    self.children = p;
}

static void registry_remove(mproc_process *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else if (self.children == p)
        self.children = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
}

/* Under the lock: reaps p if it ended. Returns true while it still runs. */
static bool poll_locked(mproc_process *p)
{
    if (p->state != P_STARTED)
        return false;
    int code;
    int rc = mpp_child_try_reap(p->child, &code);
    if (rc == 1) {
        p->exitcode = code;
        p->state = P_ENDED;
        mproc_log(MPROC_LOG_DEBUG, "%s ended with exitcode %d", p->name, code);
        /* Killed, it could not release named shared memory it alone held. */
        if (code < 0)
            mpp_named_sweep();
        return false;
    }
    return rc == 0;
}

/* ---- the process object ------------------------------------------------------------------ */

int mproc_process_create(mproc_process **out, const mproc_process_opts *opts)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    if (!opts || !opts->target || !method_valid(opts->ctx ? (int)opts->ctx->method : 0))
        return mproc__fail(MPROC_EINVAL);
    if (!mproc_task_lookup(opts->target))
        return mproc__fail(MPROC_ENOTASK);
    if (opts->name && strlen(opts->name) >= MPROC__NAME_MAX)
        return mproc__fail(MPROC_ETOOBIG);

    mproc_process *p = mproc_calloc(1, sizeof *p);
    if (!p)
        return mproc__fail(MPROC_ENOMEM);
    p->exitcode = MPROC_EXIT_RUNNING;
    p->daemon = opts->daemon;
    p->method = opts->ctx ? opts->ctx->method : MPROC_METHOD_DEFAULT;
    p->target = mproc_strdup(opts->target);

    mpp_lock();
    p->number = ++self.counter;
    mpp_unlock();
    const char *identity = mproc__identity();
    char generated[MPROC__NAME_MAX + 32];
    if (!opts->name)
        snprintf(generated, sizeof generated, "Process-%s%s%u", identity, identity[0] ? ":" : "",
                 p->number);
    p->name = mproc_strdup(opts->name ? opts->name : generated);

    int rc = 0;
    if (opts->args) {
        mproc__packed args;
        rc = mproc__pack_open(opts->args, &args);
        if (rc) {
            mproc_process_destroy(p);
            return rc;
        }
        rc = mproc__buf_append(&p->args, args.bytes.data, args.bytes.len);
        /* Objects in the pack stay usable for the child even if the caller destroys
         * them (and the pack) before start. */
        if (!rc && mproc__pack_dup_handles(p->args.data, p->args.len, &p->handles) != 0) {
            int err = mproc_last_os_error();
            mproc__pack_close(&args);
            mproc_process_destroy(p);
            return err ? mproc__fail_os(err) : mproc__fail(MPROC_EINVAL);
        }
        mproc__pack_close(&args);
        if (!rc && p->handles.count)
            holding_add(p);
    }
    if (rc || !p->target || !p->name) {
        mproc_process_destroy(p);
        return mproc__fail(MPROC_ENOMEM);
    }
    *out = p;
    return 0;
}

/* The payload: everything a child needs to become Process-N and run its task. */
static int build_payload(const mproc_process *p, mproc_pack *pack)
{
    const char *identity = mproc__identity();
    char child_identity[MPROC__NAME_MAX + 16];
    int n = snprintf(child_identity, sizeof child_identity, "%s%s%u", identity,
                     identity[0] ? ":" : "", p->number);
    if (n < 0 || (size_t)n >= MPROC__NAME_MAX)
        return MPROC_ETOOBIG; /* nested too deep to name */
    int rc = 0;
    rc = rc ? rc : mproc_pack_i64(pack, PAYLOAD_MAGIC);
    rc = rc ? rc : mproc_pack_str(pack, p->target);
    rc = rc ? rc : mproc_pack_str(pack, p->name);
    rc = rc ? rc : mproc_pack_str(pack, child_identity);
    rc = rc ? rc : mproc_pack_str(pack, mproc_current_name());
    rc = rc ? rc : mproc_pack_i64(pack, mproc_log_level());
    rc = rc ? rc : mproc_pack_i64(pack, p->daemon);
    rc = rc ? rc : mproc_pack_i64(pack, mpp_getpid());
    rc = rc ? rc : mproc_pack_bytes(pack, p->args.data, p->args.len);
    return rc;
}

int mproc_process_start(mproc_process *p)
{
    if (!p)
        return mproc__fail(MPROC_EINVAL);
    if (!self.initialized)
        return mproc__fail(MPROC_ENOTINIT);
    if (self.in_daemon)
        return mproc__fail(MPROC_EDAEMON);
    mproc_start_method method = resolve_method(p->method);
    if (!mpp_method_available(method))
        return mproc__fail(MPROC_ENOTSUP);

    mpp_lock();
    bool fresh = p->state == P_CREATED;
    if (fresh)
        p->state = P_STARTING;
    mpp_unlock();
    if (!fresh)
        return mproc__fail(MPROC_ESTATE);

    mproc_pack *payload = NULL;
    mpp_child *child = NULL;
    int64_t pid = 0;
    /* Buffered output written before start must come out once (a forked child would
     * copy the buffer) and before the child's. */
    fflush(NULL);
    int rc = mproc_pack_create(&payload);
    rc = rc ? rc : build_payload(p, payload);
    if (!rc) {
        mproc_bytes bytes;
        mproc_pack_view(payload, &bytes);
        rc = mpp_child_start(&child, method, &bytes, p->handles.items, p->handles.count,
                             START_TIMEOUT_MS, &pid);
    }
    mproc_pack_destroy(payload);
    if (rc) {
        mpp_lock();
        p->state = P_CREATED;
        mpp_unlock();
        mproc_log(MPROC_LOG_DEBUG, "starting %s (%s) failed: %s", p->name,
                  mproc_start_method_name(method), mproc_strerror(rc));
        return rc;
    }
    /* The child has its own copies now: ours would only keep pipe ends open here. */
    holding_close(p);
    mpp_lock();
    p->child = child;
    p->pid = pid;
    p->method = method;
    p->state = P_STARTED;
    registry_add(p);
    mpp_unlock();
    mproc_log(MPROC_LOG_DEBUG, "started %s, pid %lld, with %s", p->name, (long long)pid,
              mproc_start_method_name(method));
    return 0;
}

int mproc_process_start_new(mproc_process **out, const mproc_process_opts *opts)
{
    if (!out)
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    mproc_process *p;
    int rc = mproc_process_create(&p, opts);
    if (rc)
        return rc;
    rc = mproc_process_start(p);
    if (rc) {
        mproc_process_destroy(p); /* not started: nothing runs */
        return rc;
    }
    *out = p;
    return 0;
}

int mproc_process_run(const mproc_process_opts *opts, int64_t timeout_ms, int *exitcode)
{
    if (exitcode)
        *exitcode = MPROC_EXIT_RUNNING;
    if (timeout_ms < MPROC_FOREVER)
        return mproc__fail(MPROC_EINVAL);
    mproc_process *p;
    int rc = mproc_process_start_new(&p, opts);
    if (rc)
        return rc;
    rc = mproc_process_join(p, timeout_ms);
    if (rc == MPROC_ETIMEDOUT) { /* as subprocess.run: the child does not outlive the call */
        mproc_process_kill(p);
        mproc_process_join(p, MPROC_FOREVER);
    }
    int code = MPROC_EXIT_RUNNING;
    mproc_process_exitcode(p, &code);
    if (exitcode)
        *exitcode = code;
    mproc_process_destroy(p);
    return rc ? mproc__fail(rc) : 0;
}

int mproc_process_join(mproc_process *p, int64_t timeout_ms)
{
    if (!p || timeout_ms < MPROC_FOREVER)
        return mproc__fail(MPROC_EINVAL);
    if (p->state == P_CREATED || p->state == P_STARTING)
        return mproc__fail(MPROC_ESTATE);
    int64_t deadline = mproc__deadline(timeout_ms);
    for (;;) {
        mpp_lock();
        bool running = poll_locked(p);
        mpp_unlock();
        if (!running)
            return 0;
        int64_t left = mproc__remaining(deadline);
        if (left == 0)
            return mproc__fail(MPROC_ETIMEDOUT);
        mpp_child_wait_hint(p->child, left);
    }
}

int mproc_process_is_alive(mproc_process *p)
{
    if (!p)
        return mproc__fail(MPROC_EINVAL);
    mpp_lock();
    bool running = poll_locked(p);
    mpp_unlock();
    return running ? 1 : 0;
}

mpp_child *mproc__process_child(mproc_process *p)
{
    mpp_lock();
    mpp_child *c = p && p->state == P_STARTED ? p->child : NULL;
    mpp_unlock();
    return c;
}

int mproc__process_sentinel(mproc_process *p, mpp_handle *sentinel)
{
    if (!p)
        return MPROC_EINVAL;
    mpp_lock();
    int rc;
    if (p->state == P_CREATED || p->state == P_STARTING)
        rc = MPROC_ESTATE;
    else if (!poll_locked(p))
        rc = 1;
    else {
        *sentinel = mpp_child_sentinel(p->child);
        rc = 0;
    }
    mpp_unlock();
    return rc;
}

static int send_signal(mproc_process *p, bool force)
{
    if (!p)
        return mproc__fail(MPROC_EINVAL);
    int rc = 0;
    mpp_lock();
    if (p->state == P_CREATED || p->state == P_STARTING)
        rc = MPROC_ESTATE;
    else if (poll_locked(p))
        rc = mpp_child_signal(p->child, force);
    mpp_unlock();
    return rc;
}

int mproc_process_terminate(mproc_process *p)
{
    return send_signal(p, false);
}

int mproc_process_kill(mproc_process *p)
{
    return send_signal(p, true);
}

int mproc_process_exitcode(mproc_process *p, int *exitcode)
{
    if (!p || !exitcode)
        return mproc__fail(MPROC_EINVAL);
    mpp_lock();
    poll_locked(p);
    *exitcode = p->state == P_ENDED ? p->exitcode : MPROC_EXIT_RUNNING;
    mpp_unlock();
    return 0;
}

int64_t mproc_process_pid(const mproc_process *p)
{
    return p ? p->pid : 0;
}

const char *mproc_process_name(const mproc_process *p)
{
    return p ? p->name : "";
}

int mproc_process_daemon(const mproc_process *p)
{
    return p && p->daemon;
}

static void process_free(mproc_process *p)
{
    if (p->child)
        mpp_child_free(p->child);
    mproc__buf_free(&p->args);
    holding_close(p);
    mproc_free(p->name);
    mproc_free(p->target);
    mproc_free(p);
}

int mproc_process_destroy(mproc_process *p)
{
    if (!p)
        return 0;
    mpp_lock();
    if (poll_locked(p) || p->state == P_STARTING) {
        mpp_unlock();
        return mproc__fail(MPROC_EBUSY);
    }
    if (p->state != P_CREATED)
        registry_remove(p);
    bool pinned = p->exit_pins > 0;
    p->destroyed = true;
    mpp_unlock();
    if (!pinned)
        process_free(p);
    return 0;
}

int mproc_active_children(mproc_process **out, size_t cap)
{
    if (!out && cap)
        return mproc__fail(MPROC_EINVAL);
    int alive = 0;
    mpp_lock();
    for (mproc_process *p = self.children; p; p = p->next) {
        if (!poll_locked(p))
            continue;
        if ((size_t)alive < cap)
            out[alive] = p;
        if (alive < INT32_MAX)
            alive++;
    }
    mpp_unlock();
    return alive;
}

/* ---- exit ---------------------------------------------------------------------------------- */

/* Joins p within timeout_ms; kills it if it is still alive then. */
static void join_or_kill(mproc_process *p, int64_t timeout_ms)
{
    if (mproc_process_join(p, timeout_ms) == MPROC_ETIMEDOUT) {
        mproc_log(MPROC_LOG_WARNING, "%s did not end in time; killing it", p->name);
        mproc_process_kill(p);
        mproc_process_join(p, MPROC_FOREVER);
    }
}

/* The exit handler walks the registry while other threads (a pool's result thread
 * replacing workers) may still remove and destroy processes: it takes one child at a time
 * under the lock and pins it, so that a destroy meanwhile only marks it, and the unpin
 * frees it. */
static mproc_process *pin_next(unsigned phase)
{
    mpp_lock();
    mproc_process *p = self.children;
    while (p && p->exit_phase >= phase)
        p = p->next;
    if (p) {
        p->exit_phase = phase;
        p->exit_pins++;
    }
    mpp_unlock();
    return p;
}

static void unpin(mproc_process *p)
{
    mpp_lock();
    bool free_now = --p->exit_pins == 0 && p->destroyed;
    mpp_unlock();
    if (free_now)
        process_free(p);
}

static void exit_children(void)
{
    if (self.exit_done)
        return;
    self.exit_done = true;
    mproc_log(MPROC_LOG_INFO, "process shutting down");
    mproc_process *p;
    while ((p = pin_next(1))) {
        if (p->daemon && mproc_process_is_alive(p) == 1) {
            mproc_log(MPROC_LOG_INFO, "calling terminate() for daemon %s", p->name);
            mproc_process_terminate(p);
        }
        unpin(p);
    }
    while ((p = pin_next(2))) {
        if (mproc_process_is_alive(p) == 1) {
            mproc_log(MPROC_LOG_INFO, "calling join() for process %s", p->name);
            join_or_kill(p, p->daemon ? DAEMON_EXIT_GRACE_MS : self.exit_join_timeout);
        }
        unpin(p);
    }
}

static void at_exit(void)
{
    exit_children();
}

/* ---- the child's side ----------------------------------------------------------------------- */

/* The args field of a payload, for rewriting its handles in place. */
static int locate_args(mproc_bytes *payload, uint8_t **args, size_t *len)
{
    mproc_unpacker u;
    int rc = mproc_unpack_init(&u, payload);
    for (int i = 0; i < 8 && !rc; i++)
        rc = mproc_unpack_skip(&u);
    const void *data = NULL;
    rc = rc ? rc : mproc_unpack_bytes(&u, &data, len);
    *args = (uint8_t *)data;
    return rc;
}

/* The child's main (the backend enters it through mproc__enter_child): the payload and
 * the handles the parent sent (handles NULL: the parent's values hold, as after fork).
 * Runs the task and ends the process. */
static _Noreturn void child_main(mproc_bytes *payload, const mpp_handle *handles, size_t nhandles)
{
    mpp_lock_reset();
    /* What this process inherited from a forked parent is not its own. */
    self.children = NULL;
    self.counter = 0;
    self.exit_done = false;
    self.initialized = true;

    mproc_unpacker u;
    int64_t magic = 0, level = 0, daemon = 0, parent_pid = 0;
    const char *target = NULL, *name = NULL, *identity = NULL, *parent_name = NULL;
    const void *args = NULL;
    size_t args_len = 0;
    uint8_t *packed_args;
    size_t packed_len;
    int rc = locate_args(payload, &packed_args, &packed_len);
    /* The handles in the args become the copies this process received. */
    if (!rc && handles)
        rc = mproc__pack_set_handles(packed_args, packed_len, handles, nhandles);
    if (!rc && handles) {
        mproc__set_received(handles, nhandles);
    } else if (!rc) {
        /* Forked: the args hold the parent's copies made for us; everything else of the
         * parent's pipe ends and packs is closed here, as a spawned child never had it. */
        mproc__handles inherited = {0};
        rc = mproc__pack_list_handles(packed_args, packed_len, &inherited);
        mproc__set_received(inherited.items, inherited.count);
        mproc_free(inherited.items);
        mproc__run_fork_hooks();
    }
    rc = rc ? rc : mproc_unpack_init(&u, payload);
    rc = rc ? rc : mproc_unpack_i64(&u, &magic);
    rc = rc ? rc : (magic == PAYLOAD_MAGIC ? 0 : MPROC_EPROTO);
    rc = rc ? rc : mproc_unpack_str(&u, &target);
    rc = rc ? rc : mproc_unpack_str(&u, &name);
    rc = rc ? rc : mproc_unpack_str(&u, &identity);
    rc = rc ? rc : mproc_unpack_str(&u, &parent_name);
    rc = rc ? rc : mproc_unpack_i64(&u, &level);
    rc = rc ? rc : mproc_unpack_i64(&u, &daemon);
    rc = rc ? rc : mproc_unpack_i64(&u, &parent_pid);
    rc = rc ? rc : mproc_unpack_bytes(&u, &args, &args_len);
    if (!rc && !mproc__set_identity(name, identity, parent_name, parent_pid))
        rc = MPROC_EPROTO;
    if (rc) {
        mpp_child_ack(MPROC_EPROTO);
        mpp_exit(1);
    }
    mproc_task_fn fn = mproc_task_lookup(target);
    if (!fn) {
        mpp_child_ack(MPROC_ENOTASK);
        mpp_exit(1);
    }
    /* The task's result has no one to go to: its pack is dropped. */
    mproc_pack *out = NULL;
    if (mproc_pack_create(&out) != 0) {
        mpp_child_ack(MPROC_ENOMEM);
        mpp_exit(1);
    }
    self.in_daemon = daemon != 0;
    mproc_log_to_stderr((int)level);
    mpp_child_ack(0);

    mproc_log(MPROC_LOG_INFO, "child process calling self.run()");
    mproc_bytes in = {(void *)args, args_len};
    int code = fn(&in, out);
    mproc_pack_destroy(out);
    exit_children();
    mproc_log(MPROC_LOG_INFO, "process exiting with exitcode %d", code);
    mpp_exit(code);
}

/* ---- start-up ---------------------------------------------------------------------------------- */

int mproc_init(int *argc, char ***argv)
{
    if (self.initialized)
        return 0;
    mproc__set_child_entry(child_main);
    int rc = mpp_init(argc, argv); /* a spawned child never comes back from here */
    if (rc)
        return rc;
    self.initialized = true;
    atexit(at_exit);
    return 0;
}
