/*
 * The mprotect backend: the range is PROT_READ while armed, a write raises SIGSEGV on the writing
 * thread, and the signal handler (signal_ranges.c) resolves it here, on that thread, by mprotect'ing
 * the faulting run (window or block) writable before the store is retried. Also the VMA accounting that keeps its blocks
 * from splitting the range past vm.max_map_count.
 */
#define _GNU_SOURCE
#include "tracker.h"

#include "atomics.h"
#include "pagemark.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>

/* mprotect's VMA accounting, process wide: every mprotect tracker draws on the same vm.max_map_count. */
static _Atomic int64_t vma_budget = 1L << 30; /* VMAs the trackers may add (pm_set_vma_budget) */
static _Atomic int64_t vma_boundaries;        /* the boundaries of every mprotect tracker: the VMAs they added */

static int page_writable(struct tracker *t, uint64_t page) {
    return (int)((load_relaxed(&t->mprotect.writable[page >> 6]) >> (page & 63)) & 1);
}

/* The boundaries between neighbouring pages of different state among the pairs touching [first, end). */
static int64_t boundaries_around(struct tracker *t, uint64_t first, uint64_t end) {
    uint64_t from = first > 0 ? first : 1, to = end < t->pages ? end : t->pages - 1;
    int64_t n = 0;
    for (uint64_t page = from; page <= to; page++) n += page_writable(t, page - 1) != page_writable(t, page);
    return n;
}

/*
 * Records pages [first, end) as writable or read-only and counts the VMA boundaries that adds or
 * removes. Relaxed atomics: this is an estimate for the budget below, not a correctness matter
 * (concurrent changes next to each other may be counted twice or not at all; arm resets it).
 */
static void record_writable(struct tracker *t, uint64_t first, uint64_t end, int writable) {
    int64_t before = boundaries_around(t, first, end);
    for (uint64_t page = first; page < end;) {
        uint64_t stop = (page | 63) + 1 < end ? (page | 63) + 1 : end;
        uint64_t bits = (stop - page == 64 ? ~0ULL : ((1ULL << (stop - page)) - 1)) << (page & 63);
        if (writable) or_relaxed(&t->mprotect.writable[page >> 6], bits);
        else and_relaxed(&t->mprotect.writable[page >> 6], ~bits);
        page = stop;
    }
    int64_t delta = boundaries_around(t, first, end) - before;
    add_relaxed(&t->mprotect.boundaries, delta);
    add_relaxed(&vma_boundaries, delta);
}

/*
 * Near vm.max_map_count every writable run inside a read-only range is a VMA of its own (random
 * single pages of a large range reach the limit long before every page is written: tracker/README.md).
 * Once three quarters of the budget are drawn, faults unprotect blocks large enough that unprotecting
 * every block of the range could add at most another eighth (2 boundaries per block); a block that
 * covers writable runs merges them.
 */
static int block_for_budget(struct tracker *t, int block_log2) {
    int64_t budget = load_relaxed(&vma_budget);
    if (4 * load_relaxed(&vma_boundaries) < 3 * budget) return block_log2;
    uint64_t blocks_allowed = budget > 256 ? (uint64_t)(budget / 16) : 16;
    int wanted = block_log2;
    while (wanted < t->max_block_log2 && ((t->pages + (1ULL << wanted) - 1) >> wanted) > blocks_allowed) wanted++;
    return wanted;
}

static void raise_block(struct tracker *t, int from, int to) {
    /* Only ever raised between collects; a CAS so that concurrent faults count one degradation. */
    if (to > from && cas_relaxed(&t->current_block_log2, &from, to)) {
        add_relaxed(&t->mprotect.degradations, 1);
        int largest = load_relaxed(&t->largest_block_log2);
        while (largest < to && !cas_relaxed(&t->largest_block_log2, &largest, to)) {
        }
    }
}

static void mprotect_fault(struct tracker *t, uintptr_t addr) {
    int block_log2 = load_relaxed(&t->current_block_log2);
    int wanted = block_for_budget(t, block_log2);
    raise_block(t, block_log2, wanted);
    block_log2 = wanted;
    uint64_t first, count, entries[RING_MAX_ENTRIES];
    const int copy = copy_enter(t) == COPY_LIVE;
    const int record = tracker_recording(t);
    for (;;) {
        /* pthread_self reads the thread pointer (no TLS lookup, no syscall): the faulting thread's key. */
        fault_run(t, addr, (uint64_t)pthread_self(), block_log2, &first, &count);
        if (copy) copy_block(t, first, count); /* again if the run grew: pages already copied are skipped */
        if (mprotect(tracker_page(t, first), count << t->page_shift, PROT_READ | PROT_WRITE) == 0) {
            record_writable(t, first, first + count, 1);
            rearm_unprotected(t, first, count);
            break;
        }
        /*
         * ENOMEM: the split would pass vm.max_map_count (our estimate was short: other code maps too).
         * A larger block needs fewer splits, the whole range none; at the whole range, another thread's
         * close or the collector's re-protect is what frees VMAs: yield and retry, never give up.
         */
        if (block_log2 < t->max_block_log2) {
            raise_block(t, block_log2, t->max_block_log2);
            block_log2 = t->max_block_log2;
        } else {
            add_relaxed(&t->mprotect.unprotect_retries, 1);
            sched_yield();
        }
    }
    copy_leave(t);
    add_relaxed(&t->faults, 1);
    int n = record ? fault_run_entries(t, first, count, entries) : 0;
    if (n > 0) ring_record(&t->ring, entries, n); /* after the unprotect: see tracker.c */
}

void pm_set_vma_budget(int64_t vmas) {
    store_relaxed(&vma_budget, vmas);
}

/* Before re-protecting [first, first + count): see mprotect_protect. */
static void mprotect_protecting(struct tracker *t, uint64_t first, uint64_t count) {
    /* Before the mprotect: no fault can set these bits again until it is done (the pages are still writable). */
    record_writable(t, first, first + count, 0);
    /* Far from the limit again: back to the configured block, for precision. */
    if (4 * load_relaxed(&vma_boundaries) < load_relaxed(&vma_budget)) {
        store_relaxed(&t->current_block_log2, t->block_log2);
    }
}

static void mprotect_protecting_all(struct tracker *t) {
    for (uint64_t word = 0; word < (t->pages + 63) / 64; word++) store_relaxed(&t->mprotect.writable[word], 0);
    sub_relaxed(&vma_boundaries, exchange_relaxed(&t->mprotect.boundaries, 0));
    store_relaxed(&t->current_block_log2, t->block_log2);
}

static int mprotect_init(struct tracker *t) {
    t->mprotect.writable = calloc((t->pages + 63) / 64, sizeof(uint64_t));
    return t->mprotect.writable != NULL ? 0 : -ENOMEM;
}

static void mprotect_release(struct tracker *t) {
    /* Its VMAs merge back when the range is made writable as a whole: give back what it held. */
    sub_relaxed(&vma_boundaries, load_relaxed(&t->mprotect.boundaries));
    free(t->mprotect.writable);
}

static int mprotect_unprotect(struct tracker *t, uint64_t first, uint64_t count) {
    if (mprotect(tracker_page(t, first), count << t->page_shift, PROT_READ | PROT_WRITE) != 0) return -errno;
    record_writable(t, first, first + count, 1);
    return 0;
}

static int mprotect_protect_all(struct tracker *t) {
    mprotect_protecting_all(t);
    return mprotect(tracker_page(t, 0), t->pages << t->page_shift, PROT_READ) == 0 ? 0 : -errno;
}

/*
 * Making a run read-only can split a writable VMA (when writable pages border it on both sides)
 * and fail with ENOMEM at vm.max_map_count; then the whole range is protected instead, which needs
 * no split. That is safe: every writable page has a record pending or drained, so protecting it
 * early costs at most a fault, never a write.
 */
static int mprotect_protect(struct tracker *t, uint64_t first, uint64_t count) {
    if (first == 0 && count == t->pages) return mprotect_protect_all(t);
    mprotect_protecting(t, first, count);
    if (mprotect(tracker_page(t, first), count << t->page_shift, PROT_READ) == 0) return 0;
    if (errno != ENOMEM) return -errno;
    int result = mprotect_protect_all(t);
    return result == 0 ? 1 : result;
}

static const struct backend mprotect_backend = {
    .name = "mprotect",
    .fault_signal = SIGSEGV,
    .on_fault = mprotect_fault,
    .init = mprotect_init,
    .release = mprotect_release,
    .unprotect = mprotect_unprotect,
    .protect = mprotect_protect,
    .protect_call_pages = 32,
    .protect_all_skips_protected = 1, /* mprotect_fixup returns at once for a VMA that has the flags already: docs/cuts.md, "Re-arm" */
};
PM_BACKEND(mprotect_backend);
