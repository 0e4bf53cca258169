/* Small helpers shared by the seed examples (not part of the library). */
#ifndef MPROC_EXAMPLE_H
#define MPROC_EXAMPLE_H

/* nanosleep and clock_gettime are POSIX, not C11: a strict C library (musl) shows them only
 * when asked. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mproc.h"

#ifdef _WIN32
#include <windows.h>
static inline void sleep_ms(long ms)
{
    Sleep((DWORD)ms);
}
static inline double now_s(void)
{
    return (double)GetTickCount64() / 1000.0;
}
#else
#include <unistd.h>
static inline void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}
static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
#endif

/* Python flushes print() per line on a terminal; do the same for pipes, so lines of several
 * processes come out in the order they were printed. Call first in main(): spawned
 * children pass through here too before mproc_init runs their task. */
static inline void line_buffered_stdout(void)
{
#ifdef _WIN32
    setvbuf(stdout, NULL, _IONBF, 0); /* the Windows CRT has no line buffering */
#else
    setvbuf(stdout, NULL, _IOLBF, 0);
#endif
}

#ifdef _WIN32
#include <stdarg.h>
/* The Windows CRT has no line buffering, and unbuffered printf writes a few bytes at a
 * time, so lines of a parent and a child printing at once mix mid-character. Python writes
 * each print() whole; so do the examples on Windows: one write per printf call. */
static inline int example_printf(const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0)
        fwrite(line, 1, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1, stdout);
    return n;
}
#define printf example_printf
#endif

/* Seed 000's child work: counting data**3 down to zero. CPython needs about 50 ms for
 * data = 100; C is about 100 times faster, which would let the child finish before the
 * parent prints and change what the daemon and join examples show. So count 100 times
 * as far. */
static inline void count_down_like_python(int64_t data)
{
    volatile int64_t res = data * data * data * 100;
    while (res > 0)
        res -= 1;
}

#endif
