/* The subprocess environment builder (mproc_popen_opts' env_mode and env): the first byte
 * picks the mode, the rest are "NAME=value" entries split at NULs. Properties, stated
 * apart from the builder's own loop: an entry without a name or '=' is MPROC_EINVAL; else
 * every name appears once (compared as the platform compares them), with the value of
 * its last setting (or the inherited one), the names in the order they first appear
 * (the inherited environment first), each string a copy. */
#include "fuzz.h"

#include <string.h>

#include "modules/modules.h"

#define MAX_ENTRIES 64

static size_t name_len(const char *e)
{
    const char *eq = strchr(e[0] == '=' ? e + 1 : e, '='); /* "=C:=C:\" is named "=C:" */
    return eq ? (size_t)(eq - e) : strlen(e);
}

static bool same_name(const char *a, const char *b, bool ignore_case)
{
    size_t n = name_len(a);
    if (n != name_len(b))
        return false;
    for (size_t i = 0; i < n; i++) {
        int x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (ignore_case && x >= 'a' && x <= 'z')
            x -= 'a' - 'A';
        if (ignore_case && y >= 'a' && y <= 'z')
            y -= 'a' - 'A';
        if (x != y)
            return false;
    }
    return true;
}

/* The last of the n entries named as e, or NULL. */
static const char *last_setting(const char *const *entries, size_t n, const char *e, bool ic)
{
    const char *last = NULL;
    for (size_t i = 0; i < n; i++)
        if (same_name(entries[i], e, ic))
            last = entries[i];
    return last;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    mproc_popen_opts o = {.env_mode = (mproc_env_mode)(data[0] % 3)};
    char text[4097];
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    const char *entries[MAX_ENTRIES + 1];
    size_t n = 0;
    bool valid = true;
    for (char *p = text; n < MAX_ENTRIES && p < text + size - 1; p += strlen(p) + 1) {
        entries[n++] = p;
        valid = valid && p[0] != '=' && strchr(p, '=');
    }
    entries[n] = NULL;
    o.env = entries;
    char **env = (char **)entries; /* must be replaced */
    int rc = mproc__popen_environment(&o, &env);
    if (o.env_mode == MPROC_ENV_INHERIT) {
        FUZZ_CHECK(rc == 0 && env == NULL);
        return 0;
    }
    if (!valid) {
        FUZZ_CHECK(rc == MPROC_EINVAL && env == NULL);
        return 0;
    }
    FUZZ_CHECK(rc == 0 && env != NULL);

    /* All the settings in order: the inherited ones (extend), then the entries. */
    char **base = o.env_mode == MPROC_ENV_EXTEND ? mpp_environ_copy() : NULL;
    size_t nbase = 0;
    while (base && base[nbase])
        nbase++;
    const char **all = malloc((nbase + n + 1) * sizeof *all);
    FUZZ_CHECK(all != NULL);
    for (size_t i = 0; i < nbase; i++)
        all[i] = base[i];
    memcpy(all + nbase, entries, n * sizeof *entries);
    size_t nall = nbase + n;
    bool ic = mpp_env_ignores_case();

    size_t count = 0;
    for (; env[count]; count++) {
        const char *e = env[count];
        const char *want = last_setting(all, nall, e, ic);
        FUZZ_CHECK(want != NULL && !strcmp(e, want) && e != want); /* its last value, copied */
        for (size_t j = 0; j < count; j++)
            FUZZ_CHECK(!same_name(env[j], e, ic)); /* once */
    }
    /* Every name is there, in the order of its first setting. */
    size_t next = 0;
    for (size_t i = 0; i < nall; i++) {
        bool first = true;
        for (size_t j = 0; j < i && first; j++)
            first = !same_name(all[j], all[i], ic);
        if (!first)
            continue;
        FUZZ_CHECK(next < count && same_name(env[next], all[i], ic));
        next++;
    }
    FUZZ_CHECK(next == count);
    free(all);
    mproc_free(base);
    mproc_free(env);
    return 0;
}
