/*
 * The uffd-sigbus fault path: the range is registered with UFFD_FEATURE_SIGBUS, so a write to a
 * write-protected page raises SIGBUS on the writing thread, and the signal handler (signal_ranges.c)
 * resolves it here, on that thread, before the store is retried.
 */
#define _GNU_SOURCE
#include "tracker.h"

#include "atomics.h"
#include "uffd_wp.h"

#include <pthread.h>
#include <signal.h>

static void uffd_sigbus_fault(struct tracker *t, uintptr_t addr) {
    uint64_t first, count, entries[RING_MAX_ENTRIES];
    /* pthread_self reads the thread pointer (no TLS lookup, no syscall): the faulting thread's key. */
    fault_run(t, addr, (uint64_t)pthread_self(), load_relaxed(&t->current_block_log2), &first, &count);
    if (copy_enter(t) == COPY_LIVE) copy_block(t, first, count);
    const int record = tracker_recording(t);
    /* DONTWAKE: the only thread waiting for these pages is this one, in its signal handler. */
    uffd_unprotect_in_fault(t, first, count, 1);
    rearm_unprotected(t, first, count);
    copy_leave(t);
    add_relaxed(&t->faults, 1);
    int n = record ? fault_run_entries(t, first, count, entries) : 0;
    if (n > 0) ring_record(&t->ring, entries, n); /* after the unprotect: see tracker.c */
}

static const struct backend uffd_sigbus_backend = {
    .name = "uffd-sigbus",
    .fault_signal = SIGBUS,
    .on_fault = uffd_sigbus_fault,
    .unprotect = uffd_unprotect,
    .protect = uffd_protect,
    .protect_call_pages = UFFD_PROTECT_CALL_PAGES,
};
PM_BACKEND(uffd_sigbus_backend);
