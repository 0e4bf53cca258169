/* The hooks registry (see base.h): after-fork hooks, and the core's child entry. */
#include <stdlib.h>

#include "base/base.h"

static mproc__fork_hook *first_hook, *last_hook;
static mproc__child_entry_fn child_entry;

void mproc__at_fork_child(mproc__fork_hook *h)
{
    mpp_lock();
    if (!h->registered) {
        h->registered = true;
        h->next = NULL;
        if (last_hook)
            last_hook->next = h;
        else
            first_hook = h;
        last_hook = h;
    }
    mpp_unlock();
}

void mproc__run_fork_hooks(void)
{
    for (mproc__fork_hook *h = first_hook; h; h = h->next)
        h->fn();
}

void mproc__set_child_entry(mproc__child_entry_fn fn)
{
    child_entry = fn;
}

_Noreturn void mproc__enter_child(mproc_bytes *payload, const mpp_handle *handles, size_t nhandles)
{
    if (child_entry)
        child_entry(payload, handles, nhandles);
    /* The entry ends the process; without one (mproc_init not called) nothing can run. */
    static const char msg[] = "mproc: a child started before mproc_init\n";
    mpp_write_stderr(msg, sizeof msg - 1);
    _Exit(70);
}
