/* The case table and main() of a test program, from its case list: a program defines its
 * cases, then ends with
 *     #define HARNESS_CASES "cases/<suite>.txt"
 *     #include "harness_main.h"
 * The list is read twice, as X-macros: once for the wrappers of parametrised cases, once
 * for the CMocka table. tests/meson.build reads the same file for the meson tests and
 * gives the format. A case defined but not listed is an unused static function, which the
 * build refuses (-Werror); one listed but not defined does not compile. */
#ifndef HARNESS_CASES
#error "define HARNESS_CASES (the case list) before including harness_main.h"
#endif

/* The name of an entry: its first argument (the others are meson's timeouts). C11 wants at
 * least one argument for a "...", hence the ~. */
#define HARNESS_NAME_(...) HARNESS_FIRST_(__VA_ARGS__, ~)
#define HARNESS_FIRST_(name, ...) name

/* A wrapper case that calls body(arg). */
#define HARNESS_WRAP_(cname, body, arg)                                                            \
    static void cname(void **state)                                                                \
    {                                                                                              \
        (void)state;                                                                               \
        body(arg);                                                                                 \
    }
#define HARNESS_PER_METHOD_(fn)                                                                    \
    HARNESS_WRAP_(fn##_fork, fn, MPROC_FORK)                                                       \
    HARNESS_WRAP_(fn##_spawn, fn, MPROC_SPAWN)                                                     \
    HARNESS_WRAP_(fn##_forkserver, fn, MPROC_FORKSERVER)
#define HARNESS_PER_KIND_(fn)                                                                      \
    HARNESS_WRAP_(fn##_processes, fn, POOL_PROCESSES)                                              \
    HARNESS_WRAP_(fn##_threads, fn, POOL_THREADS)
#define HARNESS_POOL_(fn) HARNESS_WRAP_(fn##_case_, fn, SUITE_POOL_KIND)
#define HARNESS_POOL_PER_METHOD_(fn)                                                               \
    HARNESS_WRAP_(fn##_fork, fn, POOL_FORK)                                                        \
    HARNESS_WRAP_(fn##_spawn, fn, POOL_SPAWN)                                                      \
    HARNESS_WRAP_(fn##_forkserver, fn, POOL_FORKSERVER)

/* Pass 1: wrappers. */
#define CASE(...)
#define PER_METHOD(...) HARNESS_EXPAND_(HARNESS_PER_METHOD_, HARNESS_NAME_(__VA_ARGS__))
#define PER_KIND(...) HARNESS_EXPAND_(HARNESS_PER_KIND_, HARNESS_NAME_(__VA_ARGS__))
#define POOL(...) HARNESS_EXPAND_(HARNESS_POOL_, HARNESS_NAME_(__VA_ARGS__))
#define POOL_PER_METHOD(...) HARNESS_EXPAND_(HARNESS_POOL_PER_METHOD_, HARNESS_NAME_(__VA_ARGS__))
/* (the name is expanded before ## pastes onto it) */
#define HARNESS_EXPAND_(macro, name) macro(name)
#include HARNESS_CASES
#undef CASE
#undef PER_METHOD
#undef PER_KIND
#undef POOL
#undef POOL_PER_METHOD

/* Pass 2: the table, in the list's order. */
#define HARNESS_UNIT_(name, fn) {#name, fn, NULL, NULL, NULL},
#define HARNESS_CASE_(name) HARNESS_UNIT_(name, name)
#define HARNESS_TRIPLE_(fn)                                                                        \
    HARNESS_UNIT_(fn##_fork, fn##_fork)                                                            \
    HARNESS_UNIT_(fn##_spawn, fn##_spawn) HARNESS_UNIT_(fn##_forkserver, fn##_forkserver)
#define HARNESS_PAIR_(fn)                                                                          \
    HARNESS_UNIT_(fn##_processes, fn##_processes) HARNESS_UNIT_(fn##_threads, fn##_threads)
#define HARNESS_POOL_UNIT_(fn) HARNESS_UNIT_(fn, fn##_case_)
#define CASE(...) HARNESS_EXPAND_(HARNESS_CASE_, HARNESS_NAME_(__VA_ARGS__))
#define PER_METHOD(...) HARNESS_EXPAND_(HARNESS_TRIPLE_, HARNESS_NAME_(__VA_ARGS__))
#define PER_KIND(...) HARNESS_EXPAND_(HARNESS_PAIR_, HARNESS_NAME_(__VA_ARGS__))
#define POOL(...) HARNESS_EXPAND_(HARNESS_POOL_UNIT_, HARNESS_NAME_(__VA_ARGS__))
#define POOL_PER_METHOD(...) HARNESS_EXPAND_(HARNESS_TRIPLE_, HARNESS_NAME_(__VA_ARGS__))
static const struct CMUnitTest harness_cases_[] = {
#include HARNESS_CASES
};
#undef CASE
#undef PER_METHOD
#undef PER_KIND
#undef POOL
#undef POOL_PER_METHOD

/* Runs the program's cases (harness_main); main() calls it, or with HARNESS_OWN_MAIN
 * defined, the program's own main(). */
static int harness_run(int argc, char **argv)
{
    return harness_main(argc, argv, harness_cases_,
                        sizeof harness_cases_ / sizeof harness_cases_[0]);
}

#ifndef HARNESS_OWN_MAIN
int main(int argc, char **argv)
{
    return harness_run(argc, argv);
}
#endif
