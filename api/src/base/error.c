/* The error table, mproc_strerror and the thread's last OS error. Stands on the C library
 * alone: the OS primitives record their errors here. */
#include "base/base.h"

static _Thread_local int last_os_error;

const char *mproc_strerror(int code)
{
    switch (code) {
    case MPROC_OK: return "success";
#define MPROC_ERROR_TEXT_(name, value, text)                                                       \
    case MPROC_##name: return text;
        MPROC_ERROR_TABLE(MPROC_ERROR_TEXT_)
#undef MPROC_ERROR_TEXT_
    default: return "unknown error";
    }
}

const char *mproc_errname(int code)
{
    switch (code) {
    case MPROC_OK: return "MPROC_OK";
#define MPROC_ERROR_NAME_(name, value, text)                                                       \
    case MPROC_##name: return "MPROC_" #name;
        MPROC_ERROR_TABLE(MPROC_ERROR_NAME_)
#undef MPROC_ERROR_NAME_
    default: return "MPROC_E?";
    }
}

int mproc_last_os_error(void)
{
    return last_os_error;
}

void mproc__record_os_error(int os_error)
{
    last_os_error = os_error;
}

int mproc__fail(int code)
{
    last_os_error = 0;
    return code;
}
