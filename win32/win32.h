/* Private to the Windows backend. */
#ifndef MPROC_WIN32_H
#define MPROC_WIN32_H

#include <windows.h>

#include "../api/src/internal.h"

/* UTF-8 <-> UTF-16; results from mproc_malloc, NULL on failure. */
wchar_t *w32_utf16(const char *utf8);
char *w32_utf8(const wchar_t *utf16);

#endif
