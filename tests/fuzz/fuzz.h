/* What the fuzz targets share. Each target is one LLVMFuzzerTestOneInput: libFuzzer calls it
 * in a -Dfuzz=true build, replay.c over a corpus directory in every other build. A broken
 * property aborts, which both drivers report as a crash. */
#ifndef MPROC_FUZZ_H
#define MPROC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline _Noreturn void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: property broken: %s\n", file, line, what);
    fflush(stderr);
    abort();
}

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_fail(__FILE__, __LINE__, #cond);                                                  \
    } while (0)

#endif
