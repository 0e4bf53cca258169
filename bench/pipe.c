/* Pipe: one way, and ping-pong.
 * One way: mproc_pipe(duplex=false); the writer (a child, given the sending end) says it is
 * ready, waits for go, sends n messages of `size` bytes, each numbered at both ends, and
 * closes its end; the reader (the parent) starts the clock, says go, receives the n messages,
 * checking each one's length and both numbers, and stops the clock when it has the last;
 * then it must see the end (MPROC_ECLOSED). Raw: the framed stream over a socketpair
 * (raw.h). Ping-pong: a duplex pipe; the parent sends a 64-byte message numbered i, the child
 * receives and checks it and sends it back, and the parent receives and checks it:
 * PINGPONG_WARMUP round trips untimed (the child starting up), then n timed. The child then
 * must see the end. Raw: an echo over a bare socketpair (raw.h's exchange). */
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "raw.h"
#include "sections.h"
#include "timing.h"

#define PIPE_SMALL 64
#define PIPE_LARGE (1 << 20)
#define PIPE_TIMEOUT_MS 20000 /* a send or recv waiting this long means a message was lost */

/* Receives message i of n on c and checks it; exits saying what failed. */
static void pipe_recv_checked(mproc_conn *c, int64_t i, int64_t n, size_t size)
{
    mproc_bytes b;
    int rc = mproc_conn_recv(c, PIPE_TIMEOUT_MS, &b);
    if (rc != 0) {
        fprintf(stderr,
                "bench_mproc: receiving message %lld of %lld (%zu bytes) from a Pipe failed: "
                "%s\n",
                (long long)i, (long long)n, size, mproc_strerror(rc));
        exit(1);
    }
    check_message(b.data, b.len, i, size);
    mproc_bytes_free(&b);
}

/* After the last message, a recv must give MPROC_ECLOSED (the other end closed). */
static int pipe_recv_end(mproc_conn *c)
{
    mproc_bytes b;
    int rc = mproc_conn_recv(c, PIPE_TIMEOUT_MS, &b);
    if (rc == 0) {
        fprintf(stderr, "bench_mproc: a Pipe gave a message of %zu bytes after the last\n", b.len);
        mproc_bytes_free(&b);
        return -1;
    }
    if (rc != MPROC_ECLOSED) {
        fprintf(stderr, "bench_mproc: after the last message a Pipe gave %s, not its end\n",
                mproc_strerror(rc));
        return rc;
    }
    return 0;
}

MPROC_TASK(bench_pipe_writer, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_conn *w;
    start_gate gate;
    int64_t n, size;
    CHILD_MUST(mproc_unpack_init(&u, in));
    CHILD_MUST(mproc_unpack_conn(&u, &w));
    CHILD_MUST(start_gate_unpack(&u, &gate));
    CHILD_MUST(mproc_unpack_i64(&u, &n));
    CHILD_MUST(mproc_unpack_i64(&u, &size));
    uint8_t *msg = new_message((size_t)size);
    if (!msg)
        return 1;
    CHILD_MUST(start_gate_pass(&gate));
    for (int64_t i = 0; i < n; i++) {
        number_message(msg, (size_t)size, i);
        CHILD_MUST(mproc_conn_send(w, msg, (size_t)size, PIPE_TIMEOUT_MS));
    }
    free(msg);
    mproc_conn_destroy(w);
    start_gate_destroy(&gate);
    return 0;
}

static double mproc_pipe_oneway_run(int64_t n, size_t size)
{
    mproc_conn *r, *w;
    start_gate gate;
    mproc_pack *args;
    MUST(mproc_pipe(&r, &w, false)); /* r reads, w writes */
    start_gate_create(&gate);
    MUST(mproc_pack_create(&args));
    MUST(mproc_pack_handle(args, w));
    start_gate_pack(args, &gate);
    MUST(mproc_pack_i64(args, n));
    MUST(mproc_pack_i64(args, (int64_t)size));
    mproc_process *child = start_task("bench_pipe_writer", args);
    mproc_conn_destroy(w); /* the child's end: only the child's copy is left */
    mproc_pack_destroy(args);
    double start = start_gate_open(&gate, 1);
    for (int64_t i = 0; i < n; i++)
        pipe_recv_checked(r, i, n, size);
    double elapsed = now_us() - start;
    MUST(pipe_recv_end(r));
    join_task(child);
    mproc_conn_destroy(r);
    start_gate_destroy(&gate);
    return elapsed;
}

static double mproc_pipe_small_trial(int64_t n)
{
    return mproc_pipe_oneway_run(n, PIPE_SMALL);
}

static double mproc_pipe_large_trial(int64_t n)
{
    return mproc_pipe_oneway_run(n, PIPE_LARGE);
}

static double raw_pipe_small_trial(int64_t n)
{
    return raw_stream_run(n, PIPE_SMALL, true);
}

static double raw_pipe_large_trial(int64_t n)
{
    return raw_stream_run(n, PIPE_LARGE, true);
}

MPROC_TASK(bench_pipe_echo, in, out)
{
    (void)out;
    mproc_unpacker u;
    mproc_conn *c;
    int64_t n;
    CHILD_MUST(mproc_unpack_init(&u, in));
    CHILD_MUST(mproc_unpack_conn(&u, &c));
    CHILD_MUST(mproc_unpack_i64(&u, &n));
    for (int64_t i = 0; i < n; i++) {
        mproc_bytes b;
        CHILD_MUST(mproc_conn_recv(c, PIPE_TIMEOUT_MS, &b));
        if (!message_ok(b.data, b.len, i, PIPE_SMALL))
            return 1;
        CHILD_MUST(mproc_conn_send(c, b.data, b.len, PIPE_TIMEOUT_MS));
        mproc_bytes_free(&b);
    }
    CHILD_MUST(pipe_recv_end(c));
    mproc_conn_destroy(c);
    return 0;
}

static double mproc_pipe_pingpong_trial(int64_t n)
{
    mproc_conn *a, *b;
    mproc_pack *args;
    MUST(mproc_pipe(&a, &b, true));
    MUST(mproc_pack_create(&args));
    MUST(mproc_pack_handle(args, b));
    MUST(mproc_pack_i64(args, PINGPONG_WARMUP + n));
    mproc_process *child = start_task("bench_pipe_echo", args);
    mproc_conn_destroy(b);
    mproc_pack_destroy(args);
    uint8_t *msg = new_message(PIPE_SMALL);
    if (!msg)
        exit(1);
    double start = 0;
    for (int64_t i = 0; i < PINGPONG_WARMUP + n; i++) {
        if (i == PINGPONG_WARMUP)
            start = now_us();
        number_message(msg, PIPE_SMALL, i);
        int rc = mproc_conn_send(a, msg, PIPE_SMALL, PIPE_TIMEOUT_MS);
        if (rc != 0)
            die("mproc_conn_send (ping)", rc);
        pipe_recv_checked(a, i, PINGPONG_WARMUP + n, PIPE_SMALL);
    }
    double elapsed = now_us() - start;
    free(msg);
    mproc_conn_destroy(a); /* the child's last recv sees the end */
    join_task(child);
    return elapsed;
}

/* Raw ping-pong: 64 bytes each way, echoed (Windows: a duplex named pipe, synchronous). */
const raw_exchange pipe_pingpong_exchange = {
    .kind = "echo",
    .request = PIPE_SMALL,
    .answer = PIPE_SMALL,
    .bound_ms = 0,
    .what = "raw ping-pong write/read",
};

static double raw_pipe_pingpong_trial(int64_t n)
{
    return raw_exchange_run(&pipe_pingpong_exchange, PINGPONG_WARMUP + n, PINGPONG_WARMUP);
}

void bench_pipe(void)
{
    bench_rate("Pipe 64-byte messages, one way, writer -> reader process", "messages/s", "pipe64",
               1, mproc_pipe_small_trial, raw_pipe_small_trial, NULL);
    bench_rate("Pipe 1 MiB messages, one way, writer -> reader process", "MB/s", "pipe1m",
               PIPE_LARGE / 1e6, mproc_pipe_large_trial, raw_pipe_large_trial, NULL);
    bench_rate("Pipe ping-pong, 64-byte messages, duplex, 2 processes", "round trips/s",
               "pipepingpong", 1, mproc_pipe_pingpong_trial, raw_pipe_pingpong_trial, NULL);
}
