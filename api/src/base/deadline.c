/* Deadlines: absolute monotonic times, so that a wait made of several waits keeps one bound. */
#include "base/base.h"

int64_t mproc__deadline(int64_t timeout_ms)
{
    if (timeout_ms < 0)
        return -1;
    int64_t now = mpp_monotonic_ms();
    /* A timeout too large to add (a hostile frame's, say) is as good as forever. */
    if (timeout_ms > INT64_MAX - now)
        return -1;
    return now + timeout_ms;
}

int64_t mproc__remaining(int64_t deadline)
{
    if (deadline < 0)
        return MPROC_FOREVER;
    int64_t left = deadline - mpp_monotonic_ms();
    return left > 0 ? left : 0;
}
