/* Windows command-line quoting (core, so every platform tests it). */
#ifndef MPROC_CMDLINE_H
#define MPROC_CMDLINE_H

#include "base/base.h"

/* Appends arg, quoted for CommandLineToArgvW when needed (no separator, no NUL). */
int mproc__win_quote_arg(mproc__buf *out, const char *arg);
/* Builds a whole NUL-terminated command line: argv[0] is a program path (no '"'),
 * the rest any UTF-8 strings. */
int mproc__win_build_cmdline(mproc__buf *out, const char *const *argv);

#endif
