/* The sections of the benchmark, as main.c runs them (--only NAME), one file each. */
#ifndef BENCH_SECTIONS_H
#define BENCH_SECTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "mproc.h"
#include "raw.h"

void bench_start(int reps);   /* start.c: process start+join */
void bench_sync(void);        /* sync.c: Lock, locked Value, Event, Semaphore */
void bench_queue(void);       /* queue.c: Queue, SimpleQueue */
void bench_pipe(void);        /* pipe.c: Pipe one way, and ping-pong */
void bench_pool(int reps);    /* pool.c: Pool */
void bench_threadpool(void);  /* threadpool.c: ThreadPool */
void bench_manager(int reps); /* manager.c: Manager and its dict */

extern size_t queue_ring; /* --queue-ring: the Queue's ring size, 0 for the library's */

/* Shared by the process and thread pool sections (pool.c). */
#define POOL_TIMEOUT_MS 60000 /* a pool call waiting this long means a task was lost */
int usable_workers(void);     /* usable CPUs, at least 1 */
/* Exits saying what failed; the pool's error text, when there is one, is in *result. */
void pool_failed(const char *what, int rc, const mproc_bytes *result);
/* The tiny-task rows (x*x) on a pool of workers: a process pool's, or a thread pool's. */
void bench_tiny_tasks(mproc_pool *pool, int workers, bool threadpool);
void close_pool(mproc_pool *pool); /* close, join, destroy */

/* The raw request/answer exchanges (raw.h) of the pipe ping-pong and the manager. */
extern const raw_exchange pipe_pingpong_exchange; /* pipe.c: echo, 64 bytes each way */
extern const raw_exchange manager_rpc_exchange;   /* manager.c: rpc, 32-byte requests */

#ifdef _WIN32
/* The children of the raw figures: --raw-child KIND ARGS... (main.c). */
int raw_value_child(char **args);    /* sync.c: value MAP MUTEX INDEX N */
int raw_pingpong_child(char **args); /* sync.c: pingpong PING PONG N */
#endif

#endif
