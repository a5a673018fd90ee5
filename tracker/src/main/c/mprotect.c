/*
 * The mprotect backend: the range is PROT_READ while armed, a write raises SIGSEGV on the writing
 * thread, and the signal handler (signal_ranges.c) resolves it here, on that thread, by mprotect'ing
 * the faulting run (window or block) writable before the store is retried, joined to a writable
 * neighbour near vm.max_map_count (the VMA count itself: vma_count.c).
 */
#define _GNU_SOURCE
#include "tracker.h"

#include "atomics.h"
#include "pagemark.h"
#include "vma_count.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>

/* How far a fault near the budget looks for a writable neighbour to join or a hole to fill: bitmap words of 64 pages. */
#define JOIN_SEARCH_WORDS 64

/*
 * Near vm.max_map_count. Every writable run inside the read-only range is a VMA of its own (random
 * single pages of a large range reach the limit long before every page is written: tracker/README.md),
 * and vma_count.c counts them exactly. A fault whose run would make more boundaries than the budget has
 * room for makes it cost none instead, unprotecting (and so reporting) as few pages nobody wrote as it can:
 *  - a run one read-only page away from a writable neighbour takes that page too: it joins the
 *    neighbour's VMA, one page more;
 *  - else a hole elsewhere (a read-only page between two writable ones) is unprotected too: one page
 *    more, and the two VMAs it joins pay for the run's two;
 *  - else the run is extended to its nearest writable neighbour within JOIN_SEARCH_WORDS;
 *  - else it stays as it is, and the kernel decides (ENOMEM: mprotect_fault).
 * allow_hole 0: the run alone must add no boundary (after ENOMEM), no hole. Returns the pages added to
 * the run; *hole is the hole to unprotect too, or t->pages.
 */
static uint64_t fit_budget(struct tracker *t, uint64_t *first, uint64_t *count, uint64_t *hole, int allow_hole) {
    *hole = t->pages;
    const uint64_t end = *first + *count;
    const int64_t room = allow_hole ? vma_count_room() : 0;
    const int64_t change = vma_count_change_if_writable(t, *first, end);
    if (change <= room) return 0;
    const uint64_t left = vma_count_writable_before(t, *first, JOIN_SEARCH_WORDS);
    const uint64_t right = vma_count_writable_from(t, end, JOIN_SEARCH_WORDS);
    const uint64_t froms[3] = {left + 1, *first, left + 1}, ends[3] = {end, right, right};
    const int usable[3] = {left < t->pages, right < t->pages, left < t->pages && right < t->pages};
    uint64_t best = 3, best_cost = UINT64_MAX;
    for (int i = 0; i < 3; i++) {
        uint64_t cost = (*first - froms[i]) + (ends[i] - end);
        if (usable[i] && cost < best_cost && vma_count_change_if_writable(t, froms[i], ends[i]) <= room) {
            best = (uint64_t)i;
            best_cost = cost;
        }
    }
    if (best_cost > 1 && allow_hole) {
        uint64_t found = vma_count_find_hole(t, JOIN_SEARCH_WORDS);
        /* Not next to the run or in it: there the two changes would not add up (and a join covers it). */
        if (found < t->pages && (found + 1 < *first || found > end) && change + vma_count_change_if_writable(t, found, found + 1) <= room) {
            *hole = found;
            return 0;
        }
    }
    if (best == 3) return 0;
    *first = froms[best];
    *count = ends[best] - froms[best];
    return best_cost;
}

/* Unprotects the hole fit_budget found, copied first under copy-before-write; *hole = t->pages if the kernel refused. */
static void unprotect_hole(struct tracker *t, uint64_t *hole, int copy) {
    if (copy) copy_block(t, *hole, 1);
    if (mprotect(tracker_page(t, *hole), 1ULL << t->page_shift, PROT_READ | PROT_WRITE) != 0) {
        *hole = t->pages;
        return;
    }
    vma_count_mark(t, *hole, *hole + 1, 1);
    rearm_unprotected(t, *hole, 1);
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
    uint64_t first, count, hole, entries[RING_MAX_ENTRIES];
    const int copy = copy_enter(t) == COPY_LIVE;
    const int record = tracker_recording(t);
    /* pthread_self reads the thread pointer (no TLS lookup, no syscall): the faulting thread's key. */
    fault_run(t, addr, (uint64_t)pthread_self(), block_log2, &first, &count);
    uint64_t added = fit_budget(t, &first, &count, &hole, 1);
    if (hole < t->pages) unprotect_hole(t, &hole, copy); /* first: the VMAs it joins make room for the run's */
    int joined_after_refusal = 0;
    for (;;) {
        if (copy) copy_block(t, first, count); /* again if the run grew: pages already copied are skipped */
        if (mprotect(tracker_page(t, first), count << t->page_shift, PROT_READ | PROT_WRITE) == 0) {
            vma_count_mark(t, first, first + count, 1);
            rearm_unprotected(t, first, count);
            break;
        }
        /*
         * ENOMEM: the split would pass vm.max_map_count (the budget was short: other code maps too).
         * The run joined to a writable neighbour adds no VMA; the whole range needs no split; at the
         * whole range, another thread's close or the collector's re-protect is what frees VMAs: yield
         * and retry, never give up.
         */
        if (!joined_after_refusal) {
            joined_after_refusal = 1;
            uint64_t no_hole;
            added += fit_budget(t, &first, &count, &no_hole, 0);
        } else if (block_log2 < t->max_block_log2) {
            raise_block(t, block_log2, t->max_block_log2);
            block_log2 = t->max_block_log2;
            fault_run(t, addr, (uint64_t)pthread_self(), block_log2, &first, &count);
        } else {
            add_relaxed(&t->mprotect.unprotect_retries, 1);
            sched_yield();
        }
    }
    copy_leave(t);
    add_relaxed(&t->faults, 1);
    if (added > 0 || hole < t->pages) {
        add_relaxed(&t->mprotect.degradations, 1);
        add_relaxed(&t->mprotect.joined_pages, added + (hole < t->pages));
    }
    int n = record ? fault_run_entries(t, first, count, entries) : 0;
    if (record && hole < t->pages) n += fault_run_entries(t, hole, 1, entries + n);
    if (n > 0) ring_record(&t->ring, entries, n); /* after the unprotects: see tracker.c */
}

/* Before re-protecting [first, first + count): see mprotect_protect. */
static void mprotect_protecting(struct tracker *t, uint64_t first, uint64_t count) {
    /*
     * Before the mprotect: a fault on these pages meanwhile sets its bits again after its own unprotect,
     * so no bit stays clear while its page is writable (one left set while the page is read-only again
     * is off from the kernel's VMAs by at most two boundaries until the next re-protect: the budget's
     * headroom covers that, the kernel's ENOMEM the rest).
     */
    vma_count_mark(t, first, first + count, 0);
    /* A whole-range block was the kernel's refusal (mprotect_fault): after a re-protect, try the configured block again. */
    store_relaxed(&t->current_block_log2, t->block_log2);
}

static int mprotect_unprotect(struct tracker *t, uint64_t first, uint64_t count) {
    if (mprotect(tracker_page(t, first), count << t->page_shift, PROT_READ | PROT_WRITE) != 0) return -errno;
    vma_count_mark(t, first, first + count, 1);
    return 0;
}

static int mprotect_protect_all(struct tracker *t) {
    mprotect_protecting(t, 0, t->pages);
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
    .init = vma_count_init,
    .release = vma_count_release,
    .unprotect = mprotect_unprotect,
    .protect = mprotect_protect,
    .protect_call_pages = 32,
    .protect_all_skips_protected = 1, /* mprotect_fixup returns at once for a VMA that has the flags already: docs/cuts.md, "Re-arm" */
};
PM_BACKEND(mprotect_backend);
