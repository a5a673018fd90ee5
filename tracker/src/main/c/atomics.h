/*
 * Named atomic accesses, in the spirit of JCTools' lv/so/cas: the name says the ordering, so a reader
 * sees at each access which one was chosen, and the comment next to it says why. Macros over GCC's
 * __atomic builtins, so that they work on every width the code uses.
 *
 * On x86-64 (the only target) a relaxed, acquire or release load/store is a plain MOV, a sequentially
 * consistent store is an XCHG, and every read-modify-write is a LOCK-prefixed instruction: the
 * orderings below constrain the compiler as much as the CPU. They are the same instructions the Java
 * side's VarHandle / Agrona accesses compile to (getAcquire, setRelease, compareAndSet), so one side's
 * release pairs with the other side's acquire.
 */
#ifndef PAGEMARK_ATOMICS_H
#define PAGEMARK_ATOMICS_H

#define load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define load_seq_cst(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)

#define store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define store_seq_cst(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)

/* Read-modify-writes; each returns the value before. */
#define add_relaxed(p, n) __atomic_fetch_add((p), (n), __ATOMIC_RELAXED)
#define add_release(p, n) __atomic_fetch_add((p), (n), __ATOMIC_RELEASE)
#define add_seq_cst(p, n) __atomic_fetch_add((p), (n), __ATOMIC_SEQ_CST)
#define sub_relaxed(p, n) __atomic_fetch_sub((p), (n), __ATOMIC_RELAXED)
#define sub_release(p, n) __atomic_fetch_sub((p), (n), __ATOMIC_RELEASE)
#define or_relaxed(p, bits) __atomic_fetch_or((p), (bits), __ATOMIC_RELAXED)
#define or_release(p, bits) __atomic_fetch_or((p), (bits), __ATOMIC_RELEASE)
#define or_seq_cst(p, bits) __atomic_fetch_or((p), (bits), __ATOMIC_SEQ_CST)
#define and_relaxed(p, bits) __atomic_fetch_and((p), (bits), __ATOMIC_RELAXED)
#define and_seq_cst(p, bits) __atomic_fetch_and((p), (bits), __ATOMIC_SEQ_CST)
#define exchange_relaxed(p, v) __atomic_exchange_n((p), (v), __ATOMIC_RELAXED)

/*
 * Compare-and-set: 1 if *p was *expected and is now desired; else 0 with *expected set to what *p
 * holds. The suffix names the ordering on success; on failure the load is relaxed, acquire and
 * sequentially consistent respectively (the strongest a failed load may have under each).
 */
#define cas_relaxed(p, expected, desired) \
    __atomic_compare_exchange_n((p), (expected), (desired), 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)
#define cas_acq_rel(p, expected, desired) \
    __atomic_compare_exchange_n((p), (expected), (desired), 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
#define cas_seq_cst(p, expected, desired) \
    __atomic_compare_exchange_n((p), (expected), (desired), 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)

#define fence_release() __atomic_thread_fence(__ATOMIC_RELEASE)

#endif
