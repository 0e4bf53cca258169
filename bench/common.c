/* What the sections share on mproc's side (see common.h). */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timing.h"

void die(const char *what, int rc)
{
    fprintf(stderr, "bench_mproc: %s failed%s%s\n", what, rc ? ": " : "",
            rc ? mproc_strerror(rc) : "");
    exit(1);
}

mproc_context *method_context(mproc_start_method method)
{
    mproc_context *ctx;
    if (!mproc_start_method_available(method) || mproc_context_get(&ctx, method) != 0)
        return NULL;
    return ctx;
}

mproc_process *start_task(const char *task, const mproc_pack *args)
{
    mproc_process *p;
    MUST(mproc_process_create(&p, &(mproc_process_opts){.target = task, .args = args}));
    MUST(mproc_process_start(p));
    return p;
}

void join_task(mproc_process *p)
{
    int code = -1;
    MUST(mproc_process_join(p, 120000));
    MUST(mproc_process_exitcode(p, &code));
    if (code != 0) {
        fprintf(stderr, "bench_mproc: child %s ended with %d\n", mproc_process_name(p), code);
        exit(1);
    }
    mproc_process_destroy(p);
}

void start_gate_create(start_gate *gate)
{
    MUST(mproc_sem_create(&gate->ready, 0));
    MUST(mproc_event_create(&gate->go));
}

void start_gate_pack(mproc_pack *args, const start_gate *gate)
{
    MUST(mproc_pack_handle(args, gate->ready));
    MUST(mproc_pack_handle(args, gate->go));
}

void start_gate_destroy(start_gate *gate)
{
    mproc_event_destroy(gate->go);
    mproc_sem_destroy(gate->ready);
}

double start_gate_open(start_gate *gate, int children)
{
    for (int i = 0; i < children; i++)
        MUST(mproc_sem_acquire(gate->ready, 60000));
    double start = now_us();
    MUST(mproc_event_set(gate->go));
    return start;
}

int start_gate_unpack(mproc_unpacker *u, start_gate *gate)
{
    int rc = mproc_unpack_sem(u, &gate->ready);
    return rc ? rc : mproc_unpack_event(u, &gate->go);
}

int start_gate_pass(start_gate *gate)
{
    int rc = mproc_sem_release(gate->ready);
    return rc ? rc : mproc_event_wait(gate->go, MPROC_FOREVER);
}

uint8_t *new_message(size_t size)
{
    uint8_t *msg = malloc(size);
    if (msg)
        memset(msg, 0xa5, size);
    return msg;
}

void number_message(uint8_t *msg, size_t size, int64_t i)
{
    memcpy(msg, &i, sizeof i);
    memcpy(msg + size - sizeof i, &i, sizeof i);
}

bool message_ok(const void *data, size_t len, int64_t i, size_t size)
{
    int64_t first, last;
    if (len != size || !data) {
        fprintf(stderr, "bench_mproc: message %lld has %zu bytes, not %zu\n", (long long)i, len,
                size);
        return false;
    }
    memcpy(&first, data, sizeof first);
    memcpy(&last, (const uint8_t *)data + size - sizeof last, sizeof last);
    if (first != i || last != i) {
        fprintf(stderr,
                "bench_mproc: message %lld came numbered %lld at its start, %lld at its end\n",
                (long long)i, (long long)first, (long long)last);
        return false;
    }
    return true;
}

void check_message(const void *data, size_t len, int64_t i, size_t size)
{
    if (!message_ok(data, len, i, size))
        exit(1);
}

/* The copies into fresh buffers go through this, so the compiler cannot drop them (it may
 * drop a malloc + memcpy + free whose bytes it can see are never read). */
static void *(*volatile copy_bytes)(void *, const void *, size_t) = memcpy;

void check_fresh_copy(const void *data, size_t len, int64_t i, size_t size)
{
    uint8_t *fresh = malloc(len ? len : 1);
    if (!fresh)
        exit(1);
    copy_bytes(fresh, data, len);
    check_message(fresh, len, i, size);
    free(fresh);
}
