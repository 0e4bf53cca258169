/* mproc — named tasks and the child entry point.
 *
 * A spawned child is a fresh run of the same executable, so a function pointer cannot
 * be sent to it. Tasks are registered under a name, in every run of the program, before
 * main() (MPROC_TASK) or at the top of main() before mproc_init (mproc_task_register).
 *
 *   MPROC_TASK(square, in, out) {
 *       int64_t x;
 *       if (MPROC_UNPACK(in, &x))                      // the arguments (mproc/values.h)
 *           return mproc_task_fail(out, "wanted one integer");
 *       return MPROC_PACK(out, x * x) ? 1 : 0;          // the result, typed; 0: success
 *   }
 *
 *   int main(int argc, char **argv) {
 *       if (mproc_init(&argc, &argv) != 0) return 1;   // a child never returns from here
 *       ...
 *   }
 *
 * The return value is the exit code of a Process child and, in a pool, success (0) or
 * failure (anything else: MPROC_ETASK). */
#ifndef MPROC_TASK_H
#define MPROC_TASK_H

#include "common.h"
#include "pack.h"

#ifdef __cplusplus
extern "C" {
#endif

/* `in` is the argument pack given to the task (read it with MPROC_UNPACK or an
 * mproc_unpacker). `out` is an empty pack the library gives the task and owns: what the
 * task appends to it (MPROC_PACK(out, ...), raw bytes with MPROC_BYTES(p, n)) is its result,
 * which a pool's caller reads with MPROC_UNPACK. A Process, a Barrier action and a pool
 * initializer have no one to give a result to: their `out` is dropped. A result cannot hold
 * objects with OS handles (locks, queues, pipe ends, ...): a pool fails such a task with
 * MPROC_ENOTSUP. The return value is the exit code of a Process child. */
typedef int (*mproc_task_fn)(const mproc_bytes *in, mproc_pack *out);

/* Longest task name, in bytes, without the NUL. */
#define MPROC_TASK_NAME_MAX 127

/* Registers fn under name (letters, digits, '_', '.', '-', ':'; 1..MPROC_TASK_NAME_MAX).
 * Registering the same name again with another function is MPROC_EEXIST. */
MPROC_API int mproc_task_register(const char *name, mproc_task_fn fn);
/* The function registered under name, or NULL. */
MPROC_API mproc_task_fn mproc_task_lookup(const char *name);

/* For a task that fails: resets `out`, packs the formatted text as one STR (a pool reports
 * it as the task's error text) and returns 1, so a task can end with
 *     return mproc_task_fail(out, "no such file: %s", path);
 * Returns 1 even if the text could not be packed (the failure still counts). A pool's text
 * of a failed task is its STR when `out` holds exactly one STR field, else
 * "task 'name' returned N". */
MPROC_API int mproc_task_fail(mproc_pack *out, const char *fmt, ...) MPROC_PRINTF(2, 3);

/* Initialises the library. Call it first in main(). In the parent it returns 0 (or an
 * error); in a child started by mproc it runs the requested task and exits the process
 * with the task's exit code, never returning. argc/argv may be NULL (then spawn uses the
 * executable's own path). */
MPROC_API int mproc_init(int *argc, char ***argv);

/* Defines `static int name(const mproc_bytes *in, mproc_pack *out)` and registers it
 * under "name" before main() runs. */
#if defined(_MSC_VER)
#pragma section(".CRT$XCU", read)
#define MPROC_TASK_CONSTRUCTOR_(fn)                                                                \
    static void fn(void);                                                                          \
    __declspec(allocate(".CRT$XCU")) void (*fn##_ptr_)(void) = fn;                                 \
    static void fn(void)
#else
#define MPROC_TASK_CONSTRUCTOR_(fn) __attribute__((constructor)) static void fn(void)
#endif

#define MPROC_TASK(name, in, out)                                                                  \
    static int name(const mproc_bytes *in, mproc_pack *out);                                       \
    MPROC_TASK_CONSTRUCTOR_(mproc_task_register_##name##_)                                         \
    {                                                                                              \
        (void)mproc_task_register(#name, name);                                                    \
    }                                                                                              \
    static int name(const mproc_bytes *in, mproc_pack *out)

/* Tasks in a static library. A linker takes an object file out of a static library only
 * when the program refers to something in it, so a file of tasks that nothing calls is
 * left out and its tasks are unknown (MPROC_ENOTASK). Mark such a file once with
 *     MPROC_TASKS_MODULE(geometry);          (in the library's file, at file scope)
 * and refer to it from the program with
 *     MPROC_USE_TASKS(geometry);             (in the program, at file scope)
 * one pair per file of tasks. (Linking the library whole, -Wl,--whole-archive, works too.) */
#define MPROC_TASKS_MODULE(module) const char mproc_tasks_module_##module = 1
#if defined(_MSC_VER)
#define MPROC_USE_TASKS(module)                                                                    \
    __pragma(comment(                                                                              \
        linker,                                                                                    \
        "/include:mproc_tasks_module_" #module)) extern const char mproc_tasks_module_##module
#else
#define MPROC_USE_TASKS(module)                                                                    \
    extern const char mproc_tasks_module_##module;                                                 \
    __attribute__((used)) static const char *const mproc_use_tasks_##module##_ =                   \
        &mproc_tasks_module_##module
#endif

#ifdef __cplusplus
}
#endif
#endif
