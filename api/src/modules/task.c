/* The task registry: name -> function. Tasks are registered by constructors before main()
 * and by mproc_task_register at run time; lookups happen at start and in children. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "modules/modules.h"

typedef struct task_entry {
    char name[MPROC_TASK_NAME_MAX + 1];
    mproc_task_fn fn;
} task_entry;

/* Not locked: registration happens in constructors (before any thread exists) or at the
 * top of main() before mproc_init, as documented in task.h. */
static task_entry *tasks;
static size_t task_count, task_cap;

static bool valid_name(const char *name)
{
    size_t n = 0;
    for (const char *c = name; *c; c++, n++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' || *c == '-' || *c == ':';
        if (!ok || n >= MPROC_TASK_NAME_MAX)
            return false;
    }
    return n > 0;
}

static task_entry *find(const char *name)
{
    for (size_t i = 0; i < task_count; i++)
        if (strcmp(tasks[i].name, name) == 0)
            return &tasks[i];
    return NULL;
}

int mproc_task_register(const char *name, mproc_task_fn fn)
{
    if (!name || !fn || !valid_name(name))
        return mproc__fail(MPROC_EINVAL);
    task_entry *known = find(name);
    if (known)
        return known->fn == fn ? 0 : mproc__fail(MPROC_EEXIST);
    if (task_count == task_cap) {
        size_t cap = task_cap ? task_cap * 2 : 32;
        task_entry *grown = mproc_realloc(tasks, cap * sizeof *grown);
        if (!grown)
            return mproc__fail(MPROC_ENOMEM);
        tasks = grown;
        task_cap = cap;
    }
    task_entry *e = &tasks[task_count++];
    memcpy(e->name, name, strlen(name) + 1);
    e->fn = fn;
    return 0;
}

mproc_task_fn mproc_task_lookup(const char *name)
{
    if (!name)
        return NULL;
    task_entry *e = find(name);
    return e ? e->fn : NULL;
}

int mproc_task_fail(mproc_pack *out, const char *fmt, ...)
{
    if (!out || !fmt || mproc_pack_reset(out) != 0)
        return 1;
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char small[256], *text = small;
    if (n >= 0 && (size_t)n >= sizeof small)
        text = mproc_malloc((size_t)n + 1);
    if (n >= 0 && text) {
        vsnprintf(text, (size_t)n + 1, fmt, again);
        (void)mproc_pack_str(out, text); /* without it, the pool's text is the fallback */
    }
    if (text != small)
        mproc_free(text);
    va_end(again);
    return 1;
}
