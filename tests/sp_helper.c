/* A small program for the subprocess tests, the same on every platform:
 *   sp_helper args A B …      prints each argument (as the OS gave it) on its own line
 *   sp_helper cat             copies stdin to stdout
 *   sp_helper echo-lines      answers each line of stdin with "echo: <line>" at once
 *   sp_helper emit N          writes N bytes to stdout and N to stderr, interleaved
 *   sp_helper exit N          exits with N
 *   sp_helper env NAME        prints NAME's value, or "(unset)"
 *   sp_helper exists PATH     prints "yes" or "no"
 *   sp_helper both            prints "out" to stdout, then "err" to stderr
 *   sp_helper sleep MS        prints "started", then sleeps
 *   sp_helper grandchild MS   starts "sp_helper sleep MS" on the same stdout and stderr,
 *                             then does the same itself (its child outlives a kill of it)
 *   sp_helper lines N         prints the numbers 1..N, one per line
 *   sp_helper grep TEXT       prints the lines of stdin that contain TEXT */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#include <windows.h>
#include <shellapi.h>
#else
#include <time.h>
#include <unistd.h>
#endif

static void sleep_ms(long ms)
{
#ifdef _WIN32
    Sleep((DWORD)ms);
#else
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
#endif
}

/* Starts "self sleep ms" with this program's stdout and stderr, and leaves it running. */
static void start_sleeper(const char *self, const char *ms)
{
#ifdef _WIN32
    char line[1024];
    snprintf(line, sizeof line, "\"%s\" sleep %s", self, ms);
    STARTUPINFOA si = {.cb = sizeof si, .dwFlags = STARTF_USESTDHANDLES};
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = GetStdHandle(STD_OUTPUT_HANDLE);
    si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    SetHandleInformation(si.hStdOutput, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
    SetHandleInformation(si.hStdError, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
    PROCESS_INFORMATION pi;
    if (CreateProcessA(NULL, line, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
        CloseHandle(pi.hThread);
        CloseHandle(pi.hProcess);
    }
#else
    if (fork() == 0) {
        execl(self, self, "sleep", ms, (char *)NULL);
        _exit(127);
    }
#endif
}

/* The byte at offset i of what "emit" writes to a stream (stdout 0, stderr 1). */
static unsigned char pattern(size_t i, int stream)
{
    return (unsigned char)((i * 7 + (size_t)stream * 13) % 251);
}

int main(int argc, char **argv)
{
#ifdef _WIN32
    _setmode(_fileno(stdin), _O_BINARY);
    _setmode(_fileno(stdout), _O_BINARY);
    _setmode(_fileno(stderr), _O_BINARY);
    /* The arguments as CommandLineToArgvW splits them, in UTF-8. */
    int wargc = 0;
    wchar_t **wargv = CommandLineToArgvW(GetCommandLineW(), &wargc);
    char **utf8 = calloc((size_t)wargc + 1, sizeof *utf8);
    for (int i = 0; i < wargc; i++) {
        int n = WideCharToMultiByte(CP_UTF8, 0, wargv[i], -1, NULL, 0, NULL, NULL);
        utf8[i] = malloc((size_t)n);
        WideCharToMultiByte(CP_UTF8, 0, wargv[i], -1, utf8[i], n, NULL, NULL);
    }
    argc = wargc;
    argv = utf8;
#endif
    if (argc < 2)
        return 100;
    const char *mode = argv[1];
    if (strcmp(mode, "args") == 0) {
        for (int i = 2; i < argc; i++)
            printf("[%s]\n", argv[i]);
    } else if (strcmp(mode, "cat") == 0) {
        char buf[65536];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
            fwrite(buf, 1, n, stdout);
    } else if (strcmp(mode, "echo-lines") == 0) {
        char line[4096];
        while (fgets(line, sizeof line, stdin)) {
            line[strcspn(line, "\r\n")] = '\0';
            printf("echo: %s\n", line);
            fflush(stdout);
        }
    } else if (strcmp(mode, "emit") == 0 && argc > 2) {
        size_t total = (size_t)strtoull(argv[2], NULL, 10);
        static unsigned char chunk[2][65536];
        for (size_t off = 0; off < total; off += sizeof chunk[0]) {
            size_t n = total - off < sizeof chunk[0] ? total - off : sizeof chunk[0];
            for (int s = 0; s < 2; s++) {
                for (size_t i = 0; i < n; i++)
                    chunk[s][i] = pattern(off + i, s);
                if (fwrite(chunk[s], 1, n, s ? stderr : stdout) != n)
                    return 101;
            }
        }
    } else if (strcmp(mode, "exit") == 0 && argc > 2) {
        return atoi(argv[2]);
    } else if (strcmp(mode, "env") == 0 && argc > 2) {
#ifdef _WIN32
        wchar_t name[256], value[4096];
        MultiByteToWideChar(CP_UTF8, 0, argv[2], -1, name, 256);
        DWORD n = GetEnvironmentVariableW(name, value, 4096);
        if (n == 0 || n >= 4096) {
            printf("(unset)\n");
        } else {
            char text[8192];
            WideCharToMultiByte(CP_UTF8, 0, value, -1, text, sizeof text, NULL, NULL);
            printf("%s\n", text);
        }
#else
        const char *v = getenv(argv[2]);
        printf("%s\n", v ? v : "(unset)");
#endif
    } else if (strcmp(mode, "exists") == 0 && argc > 2) {
        FILE *f = fopen(argv[2], "rb");
        printf("%s\n", f ? "yes" : "no");
        if (f)
            fclose(f);
    } else if (strcmp(mode, "both") == 0) {
        printf("out\n");
        fflush(stdout);
        fprintf(stderr, "err\n");
    } else if (strcmp(mode, "sleep") == 0 && argc > 2) {
        printf("started\n");
        fflush(stdout);
        sleep_ms(atol(argv[2]));
    } else if (strcmp(mode, "grandchild") == 0 && argc > 2) {
        start_sleeper(argv[0], argv[2]);
        printf("started\n");
        fflush(stdout);
        sleep_ms(atol(argv[2]));
    } else if (strcmp(mode, "lines") == 0 && argc > 2) {
        for (int i = 1; i <= atoi(argv[2]); i++)
            printf("%d\n", i);
    } else if (strcmp(mode, "grep") == 0 && argc > 2) {
        char line[4096];
        while (fgets(line, sizeof line, stdin))
            if (strstr(line, argv[2]))
                fputs(line, stdout);
    } else {
        return 100;
    }
    return 0;
}
