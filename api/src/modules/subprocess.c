/* Running external programs: argument checks, environments, pipelines, communicate and
 * run. The backends start programs and move bytes without blocking; every wait and the
 * communicate loop live here. */
#include <string.h>

#include "modules/modules.h"

struct mproc_popen {
    mpp_program *program;
    mpp_stream *pipes[3];
    int64_t pid;
    bool ended;
    int returncode;
};

/* ---- environment ---------------------------------------------------------------------- */

static size_t name_length(const char *entry)
{
    const char *eq = strchr(entry, '=');
    /* Windows keeps per-drive variables such as "=C:=C:\\"; their name includes the '='. */
    if (eq == entry)
        eq = strchr(entry + 1, '=');
    return eq ? (size_t)(eq - entry) : strlen(entry);
}

static bool same_name(const char *a, const char *b, bool ignore_case)
{
    size_t n = name_length(a);
    if (n != name_length(b))
        return false;
    for (size_t i = 0; i < n; i++) {
        char x = a[i], y = b[i];
        if (ignore_case) {
            x = (char)(x >= 'a' && x <= 'z' ? x - 32 : x);
            y = (char)(y >= 'a' && y <= 'z' ? y - 32 : y);
        }
        if (x != y)
            return false;
    }
    return true;
}

int mproc__popen_environment(const mproc_popen_opts *o, char ***out)
{
    *out = NULL;
    if (o->env_mode == MPROC_ENV_INHERIT)
        return 0;
    size_t extra = 0;
    if (o->env)
        for (; o->env[extra]; extra++)
            if (!strchr(o->env[extra], '=') || o->env[extra][0] == '=')
                return mproc__fail(MPROC_EINVAL);
    char **base = NULL;
    size_t base_count = 0;
    if (o->env_mode == MPROC_ENV_EXTEND) {
        base = mpp_environ_copy();
        if (!base)
            return mproc__fail(MPROC_ENOMEM);
        while (base[base_count])
            base_count++;
    }
    /* Pointers into base and o->env; the strings are copied once at the end. */
    const char **merged = mproc_calloc(base_count + extra + 1, sizeof *merged);
    if (!merged) {
        mproc_free(base);
        return mproc__fail(MPROC_ENOMEM);
    }
    size_t count = 0;
    bool ignore_case = mpp_env_ignores_case();
    for (size_t i = 0; i < base_count; i++)
        merged[count++] = base[i];
    for (size_t i = 0; i < extra; i++) {
        size_t j = 0;
        while (j < count && !same_name(merged[j], o->env[i], ignore_case))
            j++;
        merged[j] = o->env[i]; /* a later setting of the same name wins */
        if (j == count)
            count++;
    }
    char **env = mproc__string_array(merged, count);
    mproc_free(merged);
    mproc_free(base);
    if (!env)
        return mproc__fail(MPROC_ENOMEM);
    *out = env;
    return 0;
}

/* ---- Popen ------------------------------------------------------------------------------ */

int mproc_popen_start(mproc_popen **out, const char *const *argv, const mproc_popen_opts *opts)
{
    if (!out || !argv || !argv[0] || !argv[0][0])
        return mproc__fail(MPROC_EINVAL);
    *out = NULL;
    mproc_popen_opts none = {0};
    const mproc_popen_opts *o = opts ? opts : &none;
    if ((unsigned)o->stdin_mode > MPROC_STDIO_FROM ||
        (unsigned)o->stdout_mode > MPROC_STDIO_DEVNULL ||
        (unsigned)o->stderr_mode > MPROC_STDIO_STDOUT || o->stdin_mode == MPROC_STDIO_STDOUT ||
        (unsigned)o->env_mode > MPROC_ENV_EXTEND)
        return mproc__fail(MPROC_EINVAL);
    mpp_stream *from = NULL;
    if (o->stdin_mode == MPROC_STDIO_FROM) {
        if (!o->stdin_from || !o->stdin_from->pipes[MPROC_STDOUT])
            return mproc__fail(MPROC_EINVAL); /* needs a process whose stdout is a pipe */
        from = o->stdin_from->pipes[MPROC_STDOUT];
    } else if (o->stdin_from) {
        return mproc__fail(MPROC_EINVAL);
    }
    mproc_popen *p = mproc_calloc(1, sizeof *p);
    if (!p)
        return mproc__fail(MPROC_ENOMEM);
    char **env = NULL;
    int rc = mproc__popen_environment(o, &env);
    if (rc) {
        mproc_free(p);
        return rc;
    }
    static const char *const empty_env[] = {NULL};
    mpp_program_spec spec = {
        .argv = argv,
        .cwd = o->cwd,
        .env = o->env_mode == MPROC_ENV_INHERIT ? NULL
               : env                            ? (const char *const *)env
                                                : empty_env,
        .stdio = {o->stdin_mode, o->stdout_mode, o->stderr_mode},
        .stdin_from = from,
    };
    rc = mpp_program_start(&p->program, &spec, p->pipes, &p->pid);
    mproc_free(env);
    if (rc) {
        mproc_free(p);
        return rc;
    }
    if (from) { /* the new program owns the read end now (Python's p1.stdout.close()) */
        mpp_stream_close(from);
        o->stdin_from->pipes[MPROC_STDOUT] = NULL;
    }
    *out = p;
    return 0;
}

static int pipe_of(mproc_popen *p, int stream, mpp_stream **s)
{
    if (!p || stream < MPROC_STDIN || stream > MPROC_STDERR)
        return mproc__fail(MPROC_EINVAL);
    *s = p->pipes[stream];
    return *s ? 0 : mproc__fail(MPROC_ESTATE);
}

int mproc_popen_write(mproc_popen *p, const void *data, size_t len, int64_t timeout_ms,
                      size_t *written)
{
    mpp_stream *s;
    if (written)
        *written = 0;
    if (!data && len)
        return mproc__fail(MPROC_EINVAL);
    int rc = pipe_of(p, MPROC_STDIN, &s);
    if (rc)
        return rc;
    int64_t deadline = mproc__deadline(timeout_ms);
    size_t total = 0;
    while (total < len) {
        size_t done = 0;
        rc = mpp_stream_write(s, (const char *)data + total, len - total, &done);
        if (rc)
            break;
        total += done;
        if (total == len)
            break;
        int64_t left = mproc__remaining(deadline);
        if (left == 0) {
            rc = mproc__fail(MPROC_ETIMEDOUT);
            break;
        }
        bool ready;
        rc = mpp_stream_wait(&s, 1, left, &ready);
        if (rc)
            break;
    }
    if (written)
        *written = total;
    return rc;
}

int mproc_popen_read(mproc_popen *p, int stream, int64_t timeout_ms, void *buf, size_t cap,
                     size_t *got)
{
    mpp_stream *s;
    if (got)
        *got = 0;
    if (!buf || !cap || !got || stream == MPROC_STDIN)
        return mproc__fail(MPROC_EINVAL);
    int rc = pipe_of(p, stream, &s);
    if (rc)
        return rc;
    int64_t deadline = mproc__deadline(timeout_ms);
    for (;;) {
        rc = mpp_stream_read(s, buf, cap, got);
        if (rc || *got)
            return rc;
        int64_t left = mproc__remaining(deadline);
        if (left == 0)
            return mproc__fail(MPROC_ETIMEDOUT);
        bool ready;
        rc = mpp_stream_wait(&s, 1, left, &ready);
        if (rc)
            return rc;
    }
}

int mproc_popen_close_stream(mproc_popen *p, int stream)
{
    mpp_stream *s;
    int rc = pipe_of(p, stream, &s);
    if (rc)
        return rc;
    mpp_stream_close(s);
    p->pipes[stream] = NULL;
    return 0;
}

/* Appends what a read stream has now; true at its end. */
static int drain(mpp_stream *s, mproc__buf *into, bool *ended)
{
    for (;;) {
        if (mproc__buf_reserve(into, 65536))
            return mproc__fail(MPROC_ENOMEM);
        size_t got = 0;
        int rc = mpp_stream_read(s, into->data + into->len, into->cap - into->len, &got);
        if (rc == MPROC_ECLOSED) {
            *ended = true;
            return 0;
        }
        if (rc)
            return rc;
        if (!got)
            return 0;
        into->len += got;
    }
}

static int hand_over(mproc__buf *from, mproc_bytes *to)
{
    if (!to) {
        mproc__buf_free(from);
        return 0;
    }
    mproc_bytes_free(to);
    to->data = from->data;
    to->len = from->len;
    if (!to->data) /* an empty result is still a valid (empty) buffer */
        return mproc_bytes_copy(to, "", 0);
    *from = (mproc__buf){0};
    return 0;
}

int mproc_popen_communicate(mproc_popen *p, const void *input, size_t input_len, int64_t timeout_ms,
                            mproc_bytes *out, mproc_bytes *err)
{
    if (!p || (!input && input_len))
        return mproc__fail(MPROC_EINVAL);
    if (input_len && !p->pipes[MPROC_STDIN])
        return mproc__fail(MPROC_ESTATE);
    int64_t deadline = mproc__deadline(timeout_ms);
    /* Keep what an earlier, timed-out call returned: the caller passes it back. */
    mproc__buf collected[3] = {{0}};
    mproc_bytes *results[3] = {NULL, out, err};
    for (int i = 1; i <= 2; i++)
        if (results[i] && results[i]->data && results[i]->len &&
            mproc__buf_append(&collected[i], results[i]->data, results[i]->len))
            return mproc__fail(MPROC_ENOMEM);
    size_t input_done = 0;
    int rc = 0;
    for (;;) {
        mpp_stream *waiting[3];
        size_t n = 0;
        mpp_stream *in = p->pipes[MPROC_STDIN];
        if (in) {
            size_t done = 0;
            rc = input_done < input_len ? mpp_stream_write(in, (const char *)input + input_done,
                                                           input_len - input_done, &done)
                                        : 0;
            input_done += done;
            if (rc == MPROC_ECLOSED) { /* the program does not read: not an error here */
                input_done = input_len;
                rc = 0;
            }
            if (rc)
                break;
            bool flushed = false;
            if (input_done == input_len) { /* close once the last bytes are gone */
                bool ready = false;
                mpp_stream_wait(&in, 1, 0, &ready);
                flushed = ready;
            }
            if (flushed) {
                mpp_stream_close(in);
                p->pipes[MPROC_STDIN] = NULL;
            } else {
                waiting[n++] = in;
            }
        }
        for (int i = 1; i <= 2; i++) {
            if (!p->pipes[i])
                continue;
            bool ended = false;
            rc = drain(p->pipes[i], &collected[i], &ended);
            if (rc)
                break;
            if (ended) {
                mpp_stream_close(p->pipes[i]);
                p->pipes[i] = NULL;
            } else {
                waiting[n++] = p->pipes[i];
            }
        }
        if (rc || n == 0)
            break;
        int64_t left = mproc__remaining(deadline);
        if (left == 0) {
            rc = mproc__fail(MPROC_ETIMEDOUT);
            break;
        }
        bool ready[3];
        rc = mpp_stream_wait(waiting, n, left, ready);
        if (rc)
            break;
    }
    if (!rc) {
        int code;
        rc = mproc_popen_wait(p, mproc__remaining(deadline), &code);
    }
    int rc2 = hand_over(&collected[1], out);
    int rc3 = hand_over(&collected[2], err);
    return rc ? rc : rc2 ? rc2 : rc3;
}

int mproc_popen_poll(mproc_popen *p, int *returncode)
{
    int rc = mproc_popen_wait(p, 0, returncode);
    return rc == 0 ? 1 : rc == MPROC_ETIMEDOUT ? 0 : rc;
}

int mproc_popen_wait(mproc_popen *p, int64_t timeout_ms, int *returncode)
{
    if (!p)
        return mproc__fail(MPROC_EINVAL);
    if (!p->ended) {
        int rc = mpp_program_wait(p->program, timeout_ms, &p->returncode);
        if (rc)
            return rc;
        p->ended = true;
    }
    if (returncode)
        *returncode = p->returncode;
    return 0;
}

int mproc_popen_terminate(mproc_popen *p)
{
    if (!p)
        return mproc__fail(MPROC_EINVAL);
    return p->ended ? 0 : mpp_program_signal(p->program, false);
}

int mproc_popen_kill(mproc_popen *p)
{
    if (!p)
        return mproc__fail(MPROC_EINVAL);
    return p->ended ? 0 : mpp_program_signal(p->program, true);
}

int64_t mproc_popen_pid(const mproc_popen *p)
{
    return p ? p->pid : 0; /* an accessor (common.h): 0 for no process, as mproc_process_pid */
}

int mproc_popen_returncode(mproc_popen *p, int *returncode)
{
    if (!p || !returncode)
        return mproc__fail(MPROC_EINVAL);
    int rc = mproc_popen_poll(p, returncode);
    return rc == 1 ? 0 : rc == 0 ? mproc__fail(MPROC_ESTATE) : rc;
}

int mproc_popen_destroy(mproc_popen *p)
{
    if (!p)
        return mproc__fail(MPROC_EINVAL);
    int code;
    int rc = mproc_popen_poll(p, &code);
    if (rc == 0)
        return mproc__fail(MPROC_EBUSY);
    for (int i = 0; i < 3; i++)
        if (p->pipes[i])
            mpp_stream_close(p->pipes[i]);
    mpp_program_free(p->program);
    mproc_free(p);
    return 0;
}

/* ---- run -------------------------------------------------------------------------------- */

int mproc_run(const char *const *argv, const mproc_run_opts *opts, mproc_run_result *result)
{
    if (!result)
        return mproc__fail(MPROC_EINVAL);
    *result = (mproc_run_result){0};
    mproc_run_opts none = {0};
    const mproc_run_opts *o = opts ? opts : &none;
    if (!o->input && o->input_len)
        return mproc__fail(MPROC_EINVAL);
    mproc_popen_opts popts = o->popen_opts;
    if (o->capture) {
        if (popts.stdout_mode != MPROC_STDIO_INHERIT || popts.stderr_mode != MPROC_STDIO_INHERIT)
            return mproc__fail(MPROC_EINVAL); /* as Python: capture_output or stdout/stderr */
        popts.stdout_mode = popts.stderr_mode = MPROC_STDIO_PIPE;
    }
    if (o->input) {
        if (popts.stdin_mode != MPROC_STDIO_INHERIT)
            return mproc__fail(MPROC_EINVAL);
        popts.stdin_mode = MPROC_STDIO_PIPE;
    }
    mproc_popen *p;
    int rc = mproc_popen_start(&p, argv, &popts);
    if (rc)
        return rc;
    int64_t timeout = o->timeout_ms > 0 ? o->timeout_ms : MPROC_FOREVER;
    rc = mproc_popen_communicate(p, o->input, o->input_len, timeout, &result->out, &result->err);
    if (rc == MPROC_ETIMEDOUT) {
        mproc_popen_kill(p);
        /* Once the program is dead, take what the pipes already hold (0 = no waiting): a
         * child of the program may keep them open long after it, as Python's run() does
         * not wait for either. */
        int code;
        mproc_popen_wait(p, 5000, &code);
        mproc_popen_communicate(p, NULL, 0, 0, &result->out, &result->err);
        rc = MPROC_ETIMEDOUT;
    } else if (rc) {
        mproc_popen_kill(p);
    }
    if (mproc_popen_wait(p, rc ? 5000 : MPROC_FOREVER, &result->returncode) != 0)
        result->returncode = MPROC_EXIT_RUNNING;
    if (mproc_popen_destroy(p) != 0) /* still running after a kill: cannot happen in 5 s */
        mproc_log(MPROC_LOG_ERROR, "program %s did not end after SIGKILL", argv[0]);
    if (!rc && o->check && result->returncode != 0)
        rc = mproc__fail(MPROC_ENONZERO);
    return rc;
}

void mproc_run_result_free(mproc_run_result *result)
{
    if (!result)
        return;
    mproc_bytes_free(&result->out);
    mproc_bytes_free(&result->err);
    result->returncode = 0;
}

int mproc_run_check_returncode(const mproc_run_result *result)
{
    if (!result)
        return mproc__fail(MPROC_EINVAL);
    return result->returncode == 0 ? 0 : mproc__fail(MPROC_ENONZERO);
}
