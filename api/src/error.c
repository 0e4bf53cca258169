/* The error table, mproc_strerror and the thread's last OS error. */
#include "internal.h"

static _Thread_local int last_os_error;

const char *mproc_strerror(int code)
{
    switch (code) {
    case MPROC_OK:
        return "success";
#define MPROC_ERROR_TEXT_(name, value, text)                                                 \
    case MPROC_##name:                                                                       \
        return text;
        MPROC_ERROR_TABLE(MPROC_ERROR_TEXT_)
#undef MPROC_ERROR_TEXT_
    default:
        return "unknown error";
    }
}

const char *mproc_errname(int code)
{
    switch (code) {
    case MPROC_OK:
        return "MPROC_OK";
#define MPROC_ERROR_NAME_(name, value, text)                                                 \
    case MPROC_##name:                                                                       \
        return "MPROC_" #name;
        MPROC_ERROR_TABLE(MPROC_ERROR_NAME_)
#undef MPROC_ERROR_NAME_
    default:
        return "MPROC_E?";
    }
}

int mproc_last_os_error(void)
{
    return last_os_error;
}

int mproc__fail_os(int os_error)
{
    last_os_error = os_error;
    return mpp_map_os_error(os_error);
}

int mproc__fail_os_now(void)
{
    return mproc__fail_os(mpp_os_error_now());
}

int mproc__fail(int code)
{
    last_os_error = 0;
    return code;
}

int64_t mproc__deadline(int64_t timeout_ms)
{
    if (timeout_ms < 0)
        return -1;
    return mpp_monotonic_ms() + timeout_ms;
}

int64_t mproc__remaining(int64_t deadline)
{
    if (deadline < 0)
        return MPROC_FOREVER;
    int64_t left = deadline - mpp_monotonic_ms();
    return left > 0 ? left : 0;
}
