/* What the sections share on mproc's side: failing loudly, the children that run a task, the
 * ready/go start of a timed run with children, and the numbered messages of the queue, pipe
 * and manager runs. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mproc.h"

/* Round trips made untimed before a ping-pong's timed ones (the child starting up). */
#define PINGPONG_WARMUP 50

/* Says what failed (rc: an mproc error code, or 0) and exits 1. */
void die(const char *what, int rc);

/* A call to the library that must succeed (the parent's side). */
#define MUST(call)                                                                                 \
    do {                                                                                           \
        int must_rc_ = (call);                                                                     \
        if (must_rc_ != 0)                                                                         \
            die(#call, must_rc_);                                                                  \
    } while (0)

/* The same in a child task: its exit code tells the parent. */
#define CHILD_MUST(call)                                                                           \
    do {                                                                                           \
        int must_rc_ = (call);                                                                     \
        if (must_rc_ != 0) {                                                                       \
            fprintf(stderr, "bench_mproc child: %s failed: %s\n", #call,                           \
                    mproc_strerror(must_rc_));                                                     \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

/* The context of a start method, or NULL where the method is not available. */
mproc_context *method_context(mproc_start_method method);

/* Starts task in a child process with args (the default start method). */
mproc_process *start_task(const char *task, const mproc_pack *args);
/* Joins a child of start_task; exits unless it ended with 0. */
void join_task(mproc_process *p);

/* The start of a timed run with children: each child says it is ready and waits for go, so
 * that the clock runs around the operations only (process start is outside). */
typedef struct start_gate {
    mproc_sem *ready;
    mproc_event *go;
} start_gate;

void start_gate_create(start_gate *gate);
void start_gate_pack(mproc_pack *args, const start_gate *gate);
void start_gate_destroy(start_gate *gate);
/* The parent's side: waits until `children` are ready, notes the time, says go; returns the
 * time noted (µs, as now_us). */
double start_gate_open(start_gate *gate, int children);
/* The child's side: the gate from its args pack; then ready, and the wait for go. */
int start_gate_unpack(mproc_unpacker *u, start_gate *gate);
int start_gate_pass(start_gate *gate);

/* Messages of size bytes (at least 16), each numbered at both ends, so that a receiver can
 * check it has message i, whole. */
uint8_t *new_message(size_t size); /* its bytes written (no zero page); NULL if out of memory */
void number_message(uint8_t *msg, size_t size, int64_t i);
/* Whether message i has size bytes and is numbered i at both ends (else says why). */
bool message_ok(const void *data, size_t len, int64_t i, size_t size);
/* The same, exiting where it is not. */
void check_message(const void *data, size_t len, int64_t i, size_t size);
/* The copy a queue makes for its receiver: message i (len bytes) into a fresh buffer, which
 * is checked and freed. */
void check_fresh_copy(const void *data, size_t len, int64_t i, size_t size);

#endif
