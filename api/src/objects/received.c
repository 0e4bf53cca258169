/* The handles a child received with its arguments (see objects.h). */
#include "objects/objects.h"

static mproc__handles received;
static bool *received_taken;

void mproc__set_received(const mpp_handle *handles, size_t n)
{
    received_taken = mproc_calloc(n ? n : 1, sizeof *received_taken);
    for (size_t i = 0; i < n && received_taken; i++)
        if (mproc__handles_push(&received, handles[i]) != 0)
            break;
}

void mproc__received_end(bool close_untaken)
{
    mpp_lock();
    for (size_t i = 0; i < received.count; i++)
        if (close_untaken && received_taken && !received_taken[i])
            mpp_handle_close(received.items[i]);
    received.count = 0;
    mproc_free(received_taken);
    received_taken = NULL;
    mpp_unlock();
}

bool mproc__take_received(mpp_handle h)
{
    bool took = false;
    mpp_lock();
    for (size_t i = 0; i < received.count && !took; i++)
        if (received.items[i] == h && !received_taken[i])
            took = received_taken[i] = true;
    mpp_unlock();
    return took;
}

bool mproc__was_received(mpp_handle h)
{
    for (size_t i = 0; i < received.count; i++)
        if (received.items[i] == h)
            return true;
    return false;
}
