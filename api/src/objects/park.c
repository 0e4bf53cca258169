/* Waiting on words of shared state: the robust lock word and parking with a short spin
 * (see objects.h), for the sync objects, the queue and cancel tokens.
 *
 * A lock word is 0 when free, else the holder's pid, with CONTENDED set once someone
 * waits. Waiters check every slice whether the holder still lives; the first to find it
 * dead takes the lock over and reports MPROC_EOWNERDEAD. (Kernel robust futex lists would
 * find the death sooner but are absent where we also run: qemu-user, Windows, macOS.) */
#include "objects/objects.h"

#define CONTENDED 0x80000000u
/* How long a waiter sleeps before it looks again on its own (dead holders, lost wakes). */
#define SLICE_MS 20

static uint32_t self_word(void)
{
    return (uint32_t)mpp_getpid() & ~CONTENDED;
}

/* The next sleep: what is left of the deadline, at most one slice (0: it passed). */
int64_t mproc__next_slice(int64_t deadline)
{
    int64_t left = mproc__remaining(deadline);
    return left < 0 || left > SLICE_MS ? SLICE_MS : left;
}

/* Sleeps on word while it equals expected, counting itself in *waiters meanwhile. */
/* A waker on another core usually comes within microseconds: look for up to ~20-50 µs
 * before paying for a sleep and a wake-up (two system calls, two context switches). An
 * Event ping-pong between two processes went from 54 k to 1.6 M round trips/s with it. */
#define SPIN_LOOKS 1000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

void mproc__park_counted(mpp_handle park, uint32_t *word, uint32_t expected, uint32_t *waiters,
                         int64_t ms)
{
    static int known_cpus; /* 0: not known yet; on one CPU the waker cannot run while we spin */
    int cpus = mproc__load_relaxed(&known_cpus);
    if (cpus == 0) {
        cpus = mpp_cpu_count() > 1 ? 2 : 1;
        mproc__store_relaxed(&known_cpus, cpus);
    }
    for (int i = 0; cpus > 1 && i < SPIN_LOOKS; i++) {
        if (mproc__load_acquire(word) != expected)
            return;
        cpu_relax();
    }
    mproc__add(waiters, 1);
    mpp_park_wait(park, word, expected, ms);
    mproc__sub(waiters, 1);
}

/* Wakes everyone counted in *waiters. */
void mproc__wake_all(mpp_handle park, uint32_t *word, uint32_t *waiters)
{
    uint32_t n = mproc__load(waiters);
    if (n)
        mpp_park_wake(park, word, n);
}

mpp_handle mproc__park_of(const mproc__shared *o, uint32_t i)
{
    return i < o->nparks ? o->parks[i] : MPP_NO_HANDLE;
}

/* ---- the lock word ------------------------------------------------------------------------ */

int mproc__word_lock(uint32_t *word, mpp_handle park, int64_t timeout_ms)
{
    uint32_t me = self_word(), w = 0;
    if (mproc__cas_acq_rel(word, &w, me))
        return 0;
    int64_t deadline = mproc__deadline(timeout_ms);
    for (;;) {
        w = mproc__load_acquire(word);
        if (w == 0) {
            /* Others may be parked: keep CONTENDED so our release wakes one. */
            if (mproc__cas_acq_rel(word, &w, me | CONTENDED))
                return 0;
            continue;
        }
        int64_t ms = mproc__next_slice(deadline);
        if (ms > 0 && !(w & CONTENDED)) {
            uint32_t marked = w | CONTENDED;
            if (!mproc__cas_acq_rel(word, &w, marked))
                continue;
            w = marked;
        }
        if (ms > 0)
            mpp_park_wait(park, word, w, ms);
        /* Unchanged after a whole slice (or a poll): is the holder still there? */
        if (mproc__load_acquire(word) == w && !mpp_pid_alive((int64_t)(w & ~CONTENDED))) {
            if (mproc__cas_acq_rel(word, &w, me | CONTENDED))
                return MPROC_EOWNERDEAD;
            continue;
        }
        if (ms == 0 || mproc__remaining(deadline) == 0)
            return MPROC_ETIMEDOUT;
    }
}

bool mproc__word_held_here(const uint32_t *word)
{
    return (mproc__load_acquire(word) & ~CONTENDED) == self_word();
}

bool mproc__word_holder_alive(const uint32_t *word)
{
    uint32_t w = mproc__load_acquire(word);
    return w == 0 || mpp_pid_alive((int64_t)(w & ~CONTENDED));
}

int mproc__word_unlock(uint32_t *word, mpp_handle park)
{
    uint32_t w = mproc__exchange_release(word, 0);
    if (w == 0)
        return MPROC_ESTATE;
    if (w & CONTENDED)
        mpp_park_wake(park, word, 1);
    return 0;
}
