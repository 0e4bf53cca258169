/* The one wrapper over atomic operations. Shared state lives in plain integers inside
 * shared segments (C11 _Atomic objects cannot be placed there portably), so the core uses
 * the GCC/Clang builtins, which every supported compiler (gcc, clang, mingw-w64) has.
 * A port to another compiler changes this file alone. */
#ifndef MPROC_BASE_ATOMICS_H
#define MPROC_BASE_ATOMICS_H

#if !defined(__GNUC__) && !defined(__clang__)
#error "mproc needs the __atomic builtins of GCC or Clang (base/atomics.h)"
#endif

/* Sequentially consistent unless the name says otherwise. */
#define mproc__load(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define mproc__load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define mproc__load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define mproc__store(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define mproc__store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define mproc__store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
/* Both return the new value. */
#define mproc__add(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define mproc__add_relaxed(p, v) __atomic_add_fetch((p), (v), __ATOMIC_RELAXED)
#define mproc__sub(p, v) __atomic_sub_fetch((p), (v), __ATOMIC_SEQ_CST)
/* Return the old value. */
#define mproc__exchange(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define mproc__exchange_acq_rel(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)
#define mproc__exchange_release(p, v) __atomic_exchange_n((p), (v), __ATOMIC_RELEASE)
/* Strong compare-and-swap: true if *p was *expected (now desired); else *expected = *p. */
#define mproc__cas(p, expected, desired)                                                           \
    __atomic_compare_exchange_n((p), (expected), (desired), false, __ATOMIC_SEQ_CST,               \
                                __ATOMIC_SEQ_CST)
#define mproc__cas_acq_rel(p, expected, desired)                                                   \
    __atomic_compare_exchange_n((p), (expected), (desired), false, __ATOMIC_ACQ_REL,               \
                                __ATOMIC_ACQUIRE)

#endif
