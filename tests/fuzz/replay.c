/* Runs a fuzz target over files, without libFuzzer: each argument is a file or a directory
 * (its files, not recursively). The meson tests pass the target's corpus directory as a
 * relative path from the corpus folder, which Wine resolves like a native build does.
 * Exit status 0 when every input ran; a broken property aborts inside the target. */
#include "fuzz.h"

#include <string.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <dirent.h>
#include <sys/stat.h>
#endif

static int runs;

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *data = malloc(cap);
    for (size_t got = 1; data && got;) {
        if (len == cap) {
            uint8_t *grown = realloc(data, cap * 2);
            if (!grown) {
                free(data);
                data = NULL;
                break;
            }
            data = grown, cap *= 2;
        }
        got = fread(data + len, 1, cap - len, f);
        len += got;
    }
    fclose(f);
    if (!data) {
        fprintf(stderr, "replay: out of memory reading %s\n", path);
        return 1;
    }
    /* A copy of exactly len bytes, so that a read past the input is caught by ASan. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(data);
        return 1;
    }
    memcpy(exact, data, len);
    free(data);
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    runs++;
    return 0;
}

static int is_directory(const char *path)
{
#ifdef _WIN32
    DWORD attrs = GetFileAttributesA(path);
    return attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY);
#else
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
#endif
}

static int run_directory(const char *dir)
{
    char path[4096];
    int failed = 0;
#ifdef _WIN32
    WIN32_FIND_DATAA found;
    snprintf(path, sizeof path, "%s\\*", dir);
    HANDLE h = FindFirstFileA(path, &found);
    if (h == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "replay: cannot list %s\n", dir);
        return 1;
    }
    do {
        if (found.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
            continue;
        snprintf(path, sizeof path, "%s\\%s", dir, found.cFileName);
        failed |= run_file(path);
    } while (FindNextFileA(h, &found));
    FindClose(h);
#else
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: cannot list %s\n", dir);
        return 1;
    }
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_name[0] == '.' || is_directory(path))
            continue;
        failed |= run_file(path);
    }
    closedir(d);
#endif
    return failed;
}

int main(int argc, char **argv)
{
    int failed = 0;
    for (int i = 1; i < argc; i++)
        failed |= is_directory(argv[i]) ? run_directory(argv[i]) : run_file(argv[i]);
    /* An empty corpus proves nothing: a missing or empty directory fails the test. */
    if (!runs) {
        fprintf(stderr, "replay: no input ran\n");
        return 1;
    }
    fprintf(stderr, "replay: %d inputs, %s\n", runs, failed ? "some unreadable" : "all passed");
    return failed;
}
