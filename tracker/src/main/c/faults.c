/*
 * The fault paths. Every one of them unprotects first and records second (docs/design.md: the other
 * order lets a collector drain the record and re-protect before the late unprotect opens the page
 * again, unrecorded). Nothing here calls into Java, takes a lock, or allocates once a tracker is
 * set up: the code below the "fault paths" line runs in signal handlers on Java threads and in
 * handler threads that a JVM safepoint waits for.
 */
#define _GNU_SOURCE
#include "pagemark.h"
#include "ring.h"

#include <errno.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

/* x86 page-fault error code bit: the access was a write (arch/x86/include/asm/trap_pf.h). */
#define X86_PF_WRITE 0x2

/*
 * Copy-before-unprotect phases. OFF: fault paths only unprotect and record. LIVE: they first copy
 * every UNCOPIED page of their block into the image. PAUSED: new fault paths wait until the phase
 * changes (only while start or stop switch, for as long as protecting the range takes).
 */
enum { COPY_OFF, COPY_PAUSED, COPY_LIVE };

/* One per handler thread, alone on its cache line: the collector polls them while handlers run. */
struct handler_progress {
    _Atomic uint64_t seq; /* odd while the handler is between reading faults and committing their record */
    char pad[56];
};

struct tracker {
    int kind;
    uintptr_t start;
    uint64_t pages;
    int page_shift;
    int uffd;
    int block_log2;              /* the configured block: 2^block_log2 pages per fault */
    _Atomic int granule_log2;    /* the block used now: raised above block_log2 by mprotect near vm.max_map_count */
    _Atomic int largest_log2;    /* the largest granule used since the tracker was created */
    int max_log2;                /* a block of 2^max_log2 pages covers the whole range */
    struct ring ring;
    _Atomic uint64_t faults;
    _Atomic uint64_t degradations;
    _Atomic uint64_t unprotect_retries;
    /*
     * mprotect: one bit per page, set while the page is writable, and the VMA boundaries that makes
     * inside the range (every place a writable page borders a read-only one starts a new VMA).
     */
    uint64_t *writable;
    _Atomic int64_t boundaries;
    /* uffd-sync */
    int handler_count;
    int stop_fd;
    int64_t spin_ns;
    _Atomic int stopping;
    pthread_t handlers[PM_MAX_HANDLERS];
    struct handler_progress progress[PM_MAX_HANDLERS];
    /* copy-before-unprotect (see copy_enter) */
    _Atomic int copy_phase;
    _Atomic int64_t in_fault;     /* fault paths past their phase check and not yet past their unprotect */
    _Atomic int32_t *copy_states; /* one PM_PAGE_* per page; set while PAUSED, read by fault paths that saw LIVE */
    uint8_t *copy_image;
    _Atomic uint64_t pages_copied;
};

/*
 * The ranges the signal handlers claim. A slot goes FREE -> SETUP (owner fills it) -> LIVE (faults
 * handled) -> CLOSED (faults only retried: close() is making the range writable) -> FREE (memory
 * unmapped). Handlers read it without locks; see claim_fault for the ordering.
 */
enum { SLOT_FREE, SLOT_SETUP, SLOT_LIVE, SLOT_CLOSED };

struct claimed_range {
    _Atomic int state;
    _Atomic int users; /* handlers inside the fault path of this range's tracker */
    _Atomic int kind;
    _Atomic uintptr_t start, end;
    struct tracker *_Atomic tracker;
};

static struct claimed_range claimed[PM_MAX_CLAIMED_RANGES];
static _Atomic int claimed_count;
static struct sigaction previous_segv, previous_bus;
static pthread_once_t handlers_installed = PTHREAD_ONCE_INIT;
static int install_error;

/* mprotect's VMA accounting, process wide: every mprotect tracker draws on the same vm.max_map_count. */
static _Atomic int64_t vma_budget = 1L << 30; /* VMAs the trackers may add (pm_set_vma_budget) */
static _Atomic int64_t vma_boundaries;        /* the boundaries of every mprotect tracker: the VMAs they added */

int pm_abi_version(void) {
    return PM_ABI_VERSION;
}

static int ceil_log2(uint64_t n) {
    int log2 = 0;
    while ((1ULL << log2) < n) log2++;
    return log2;
}

struct tracker *pm_tracker_new(int kind, uint64_t start, uint64_t pages, uint64_t page_size, int uffd,
                               int block_log2, uint8_t *ring_buffer, int32_t ring_capacity, uint64_t *spill_bitmap) {
    if (kind < PM_KIND_MPROTECT || kind > PM_KIND_UFFD_SYNC || pages == 0 || (page_size & (page_size - 1)) != 0
        || block_log2 < 0 || block_log2 >= (1 << ENTRY_LOG2_BITS) || ring_capacity < RING_MIN_CAPACITY
        || (ring_capacity & (ring_capacity - 1)) != 0) {
        errno = EINVAL;
        return NULL;
    }
    struct tracker *t;
    if (posix_memalign((void **)&t, 64, sizeof *t) != 0) {
        errno = ENOMEM;
        return NULL;
    }
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->start = (uintptr_t)start;
    t->pages = pages;
    t->page_shift = __builtin_ctzll(page_size);
    t->uffd = uffd;
    t->block_log2 = block_log2;
    t->granule_log2 = block_log2;
    t->largest_log2 = block_log2;
    t->max_log2 = ceil_log2(pages) > block_log2 ? ceil_log2(pages) : block_log2;
    t->stop_fd = -1;
    ring_init(&t->ring, ring_buffer, ring_capacity, spill_bitmap, pages);
    if (kind == PM_KIND_MPROTECT && (t->writable = calloc((pages + 63) / 64, sizeof(uint64_t))) == NULL) {
        free(t);
        errno = ENOMEM;
        return NULL;
    }
    return t;
}

uint64_t pm_counter(struct tracker *t, int counter) {
    switch (counter) {
    case PM_COUNTER_FAULTS: return __atomic_load_n(&t->faults, __ATOMIC_RELAXED); /* statistics: relaxed */
    /* Acquire: the collector harvests the spill bitmap after seeing this count change (see ring.c, spill). */
    case PM_COUNTER_SPILLED_ENTRIES: return __atomic_load_n(&t->ring.spills, __ATOMIC_ACQUIRE);
    case PM_COUNTER_FULL_RING_WAITS: return __atomic_load_n(&t->ring.full_waits, __ATOMIC_RELAXED);
    case PM_COUNTER_DEGRADATIONS: return __atomic_load_n(&t->degradations, __ATOMIC_RELAXED);
    case PM_COUNTER_LARGEST_BLOCK_LOG2: return (uint64_t)__atomic_load_n(&t->largest_log2, __ATOMIC_RELAXED);
    case PM_COUNTER_UNPROTECT_RETRIES: return __atomic_load_n(&t->unprotect_retries, __ATOMIC_RELAXED);
    case PM_COUNTER_VMA_BOUNDARIES: return (uint64_t)__atomic_load_n(&t->boundaries, __ATOMIC_RELAXED);
    case PM_COUNTER_PAGES_COPIED: return __atomic_load_n(&t->pages_copied, __ATOMIC_RELAXED);
    default: return 0;
    }
}

void pm_tracker_free(struct tracker *t) {
    /* Its VMAs merge back when the range is made writable as a whole: give back what it held. */
    __atomic_fetch_sub(&vma_boundaries, __atomic_load_n(&t->boundaries, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
    free(t->writable);
    free(t);
}

/* ---------------------------------------------------------------------------------------------
 * fault paths: async-signal-safe, lock-free, no allocation
 * ------------------------------------------------------------------------------------------- */

/* The aligned block holding addr at the current granule: its first page and its ring entry. */
static uint64_t block_entry(struct tracker *t, uintptr_t addr, int granule_log2, uint64_t *first, uint64_t *count) {
    uint64_t page = (addr - t->start) >> t->page_shift;
    *first = page & ~((1ULL << granule_log2) - 1);
    *count = 1ULL << granule_log2;
    if (*first + *count > t->pages) *count = t->pages - *first;
    return (*first << ENTRY_LOG2_BITS) | (uint64_t)granule_log2;
}

/* UFFDIO_WRITEPROTECT on [first, first + count) with `mode`: 0 or -errno (never EAGAIN or EINTR: those are retried). */
static int uffd_write_protect(struct tracker *t, uint64_t first, uint64_t count, uint64_t mode) {
    struct uffdio_writeprotect wp = {
        .range = {.start = t->start + (first << t->page_shift), .len = count << t->page_shift},
        .mode = mode,
    };
    /* EAGAIN: the mm is changing under a non-cooperative event. */
    while (ioctl(t->uffd, UFFDIO_WRITEPROTECT, &wp) != 0) {
        if (errno != EAGAIN && errno != EINTR) return -errno;
    }
    return 0;
}

/* Clears WP on [first, first + count): wakes the threads blocked on it unless dont_wake. */
static void uffd_unprotect(struct tracker *t, uint64_t first, uint64_t count, int dont_wake) {
    /* ENOENT: close() unregistered the range; nothing left to do. */
    (void)uffd_write_protect(t, first, count, dont_wake ? UFFDIO_WRITEPROTECT_MODE_DONTWAKE : 0);
}

/*
 * Every fault path runs between copy_enter and copy_leave from before it decides what to do until
 * after its unprotect. copy_enter returns the phase it saw, OFF or LIVE, never PAUSED: while
 * PAUSED it steps out and waits. The increment and the phase load are both sequentially
 * consistent, as are pause's phase store and its loads of in_fault: so either pause sees this
 * fault path inside (and waits for it to unprotect and leave), or this fault path sees PAUSED
 * (Dekker). Hence once pause returns, no fault path is between a decision taken in the old phase
 * and its unprotect, and none starts one until the phase changes.
 */
static int copy_enter(struct tracker *t) {
    for (;;) {
        __atomic_fetch_add(&t->in_fault, 1, __ATOMIC_SEQ_CST);
        int phase = __atomic_load_n(&t->copy_phase, __ATOMIC_SEQ_CST);
        if (phase != COPY_PAUSED) return phase;
        __atomic_fetch_sub(&t->in_fault, 1, __ATOMIC_RELEASE);
        /* Acquire: a LIVE seen here was stored after copy_states and copy_image (see pm_copy_before_unprotect_start). */
        while (__atomic_load_n(&t->copy_phase, __ATOMIC_ACQUIRE) == COPY_PAUSED) sched_yield();
    }
}

static void copy_leave(struct tracker *t) {
    /* Release: our uses of the states and the image happen before pause sees the count drop. */
    __atomic_fetch_sub(&t->in_fault, 1, __ATOMIC_RELEASE);
}

/*
 * Phase LIVE: every page of [first, first + count) leaves UNCOPIED before the caller unprotects it.
 * An UNCOPIED page has been protected and unchanged since copying started, so the bytes copied are
 * those of that moment. A page another fault path is copying is waited for: one page copy, by
 * native code that waits for nothing (never for Java: a Java thread stopped at a safepoint while
 * this Java thread is stopped in a fault would deadlock the JVM, see docs/design.md).
 */
static void copy_block(struct tracker *t, uint64_t first, uint64_t count) {
    _Atomic int32_t *states = __atomic_load_n(&t->copy_states, __ATOMIC_RELAXED); /* ordered by copy_enter's load of LIVE */
    const size_t page_size = (size_t)1 << t->page_shift;
    for (uint64_t page = first; page < first + count; page++) {
        int32_t state = PM_PAGE_UNCOPIED;
        /*
         * Acquire-release on success: the copy below cannot start before the claim. Acquire on
         * failure: when the Java caller's CAS (volatile, so release) took the page, its reads of the
         * page happened before ours, hence before our unprotect and the writes that follow it.
         */
        if (__atomic_compare_exchange_n(&states[page], &state, PM_PAGE_COPYING, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            memcpy(t->copy_image + page * page_size, (const void *)(t->start + page * page_size), page_size);
            __atomic_fetch_add(&t->pages_copied, 1, __ATOMIC_RELAXED);
            /* Release: the image bytes are visible to whoever loads COPIED_BY_FAULT with acquire (CopyBeforeWrite.awaitCopy). */
            __atomic_store_n(&states[page], PM_PAGE_COPIED_BY_FAULT, __ATOMIC_RELEASE);
            continue;
        }
        /* Another fault path is copying it: unprotecting now would let a write in before that copy ends. */
        while (state == PM_PAGE_COPYING) {
            sched_yield();
            state = __atomic_load_n(&states[page], __ATOMIC_ACQUIRE);
        }
    }
}

static int page_writable(struct tracker *t, uint64_t page) {
    return (int)((__atomic_load_n(&t->writable[page >> 6], __ATOMIC_RELAXED) >> (page & 63)) & 1);
}

/* The boundaries between neighbouring pages of different state among the pairs touching [first, end). */
static int64_t boundaries_around(struct tracker *t, uint64_t first, uint64_t end) {
    uint64_t from = first > 0 ? first : 1, to = end < t->pages ? end : t->pages - 1;
    int64_t n = 0;
    for (uint64_t page = from; page <= to; page++) n += page_writable(t, page - 1) != page_writable(t, page);
    return n;
}

/*
 * mprotect: records pages [first, end) as writable or read-only and counts the VMA boundaries that
 * adds or removes. Relaxed atomics: this is an estimate for the budget below, not a correctness
 * matter (concurrent changes next to each other may be counted twice or not at all; arm resets it).
 */
static void record_writable(struct tracker *t, uint64_t first, uint64_t end, int writable) {
    int64_t before = boundaries_around(t, first, end);
    for (uint64_t page = first; page < end;) {
        uint64_t stop = (page | 63) + 1 < end ? (page | 63) + 1 : end;
        uint64_t bits = (stop - page == 64 ? ~0ULL : ((1ULL << (stop - page)) - 1)) << (page & 63);
        if (writable) __atomic_fetch_or(&t->writable[page >> 6], bits, __ATOMIC_RELAXED);
        else __atomic_fetch_and(&t->writable[page >> 6], ~bits, __ATOMIC_RELAXED);
        page = stop;
    }
    int64_t delta = boundaries_around(t, first, end) - before;
    __atomic_add_fetch(&t->boundaries, delta, __ATOMIC_RELAXED);
    __atomic_add_fetch(&vma_boundaries, delta, __ATOMIC_RELAXED);
}

/*
 * mprotect near vm.max_map_count: every writable run inside a read-only range is a VMA of its own
 * (random single pages of 1 GiB reach 65530 after about 38,000). Once three quarters of the budget
 * are drawn, faults unprotect blocks large enough that unprotecting every block of the range could
 * add at most another eighth (2 boundaries per block); a block that covers writable runs merges them.
 */
static int granule_for_budget(struct tracker *t, int granule_log2) {
    int64_t budget = __atomic_load_n(&vma_budget, __ATOMIC_RELAXED);
    if (4 * __atomic_load_n(&vma_boundaries, __ATOMIC_RELAXED) < 3 * budget) return granule_log2;
    uint64_t blocks_allowed = budget > 256 ? (uint64_t)(budget / 16) : 16;
    int wanted = granule_log2;
    while (wanted < t->max_log2 && ((t->pages + (1ULL << wanted) - 1) >> wanted) > blocks_allowed) wanted++;
    return wanted;
}

static void raise_granule(struct tracker *t, int from, int to) {
    /* Only ever raised between collects; a CAS so that concurrent faults count one degradation. */
    if (to > from && __atomic_compare_exchange_n(&t->granule_log2, &from, to, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        __atomic_fetch_add(&t->degradations, 1, __ATOMIC_RELAXED);
        int largest = __atomic_load_n(&t->largest_log2, __ATOMIC_RELAXED);
        while (largest < to && !__atomic_compare_exchange_n(&t->largest_log2, &largest, to, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        }
    }
}

static void mprotect_fault(struct tracker *t, uintptr_t addr) {
    int granule = __atomic_load_n(&t->granule_log2, __ATOMIC_RELAXED);
    int wanted = granule_for_budget(t, granule);
    raise_granule(t, granule, wanted);
    granule = wanted;
    uint64_t first, count, entry;
    const int copy = copy_enter(t) == COPY_LIVE;
    for (;;) {
        entry = block_entry(t, addr, granule, &first, &count);
        if (copy) copy_block(t, first, count); /* again if the block grew: pages already copied are skipped */
        if (mprotect((void *)(t->start + (first << t->page_shift)), count << t->page_shift, PROT_READ | PROT_WRITE) == 0) {
            record_writable(t, first, first + count, 1);
            break;
        }
        /*
         * ENOMEM: the split would pass vm.max_map_count (our estimate was short: other code maps too).
         * A larger block needs fewer splits, the whole range none; at the whole range, another thread's
         * close or the collector's re-protect is what frees VMAs: yield and retry, never give up.
         */
        if (granule < t->max_log2) {
            raise_granule(t, granule, t->max_log2);
            granule = t->max_log2;
        } else {
            __atomic_fetch_add(&t->unprotect_retries, 1, __ATOMIC_RELAXED);
            sched_yield();
        }
    }
    copy_leave(t);
    __atomic_fetch_add(&t->faults, 1, __ATOMIC_RELAXED);
    ring_record(&t->ring, &entry, 1); /* after the unprotect: see the top of this file */
}

static void uffd_sigbus_fault(struct tracker *t, uintptr_t addr) {
    uint64_t first, count;
    uint64_t entry = block_entry(t, addr, __atomic_load_n(&t->granule_log2, __ATOMIC_RELAXED), &first, &count);
    if (copy_enter(t) == COPY_LIVE) copy_block(t, first, count);
    /* DONTWAKE: the only thread waiting for this page is this one, in its signal handler. */
    uffd_unprotect(t, first, count, 1);
    copy_leave(t);
    __atomic_fetch_add(&t->faults, 1, __ATOMIC_RELAXED);
    ring_record(&t->ring, &entry, 1);
}

/*
 * 1 if the fault is a write to a claimed range (handled, or to be retried because the range is
 * closing), 0 if it belongs to someone else (the JVM: null checks, safepoint polls, stack banging).
 */
static int claim_fault(int sig, siginfo_t *info, ucontext_t *context) {
    if (__atomic_load_n(&claimed_count, __ATOMIC_ACQUIRE) == 0) return 0;
    if (sig == SIGSEGV ? info->si_code != SEGV_ACCERR : info->si_code != BUS_ADRERR) return 0;
    if ((context->uc_mcontext.gregs[REG_ERR] & X86_PF_WRITE) == 0) return 0;
    const int kind = sig == SIGSEGV ? PM_KIND_MPROTECT : PM_KIND_UFFD_SIGBUS;
    const uintptr_t addr = (uintptr_t)info->si_addr;
    int closing = 0;
rescan:
    for (int i = 0; i < PM_MAX_CLAIMED_RANGES; i++) {
        struct claimed_range *range = &claimed[i];
        /* Acquire: the owner stored kind, start and end before publishing LIVE with release. */
        int state = __atomic_load_n(&range->state, __ATOMIC_ACQUIRE);
        if (state != SLOT_LIVE && state != SLOT_CLOSED) continue;
        if (__atomic_load_n(&range->kind, __ATOMIC_RELAXED) != kind
            || addr < __atomic_load_n(&range->start, __ATOMIC_RELAXED)
            || addr >= __atomic_load_n(&range->end, __ATOMIC_RELAXED)) continue;
        if (state == SLOT_CLOSED) {
            closing = 1; /* unless a live range holds it too (its memory was mapped again), retry the store */
            continue;
        }
        /*
         * Enter, then re-check that the range is still live, both sequentially consistent; close()
         * stores CLOSED, then reads users, both sequentially consistent. So either close() sees us
         * inside and waits, or we see CLOSED and never touch the tracker (Dekker).
         */
        __atomic_fetch_add(&range->users, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&range->state, __ATOMIC_SEQ_CST) != SLOT_LIVE
            || addr < __atomic_load_n(&range->start, __ATOMIC_RELAXED)
            || addr >= __atomic_load_n(&range->end, __ATOMIC_RELAXED)) {
            __atomic_fetch_sub(&range->users, 1, __ATOMIC_RELEASE);
            goto rescan; /* it changed under us: look again (it is closing, or now another range) */
        }
        struct tracker *t = __atomic_load_n(&range->tracker, __ATOMIC_RELAXED);
        if (kind == PM_KIND_MPROTECT) mprotect_fault(t, addr); else uffd_sigbus_fault(t, addr);
        /* Release: our last use of the tracker happens before close() sees users drop (acquire). */
        __atomic_fetch_sub(&range->users, 1, __ATOMIC_RELEASE);
        return 1;
    }
    return closing; /* a closing range: close() is about to make it writable, so the retried store succeeds */
}

static void forward(int sig, siginfo_t *info, void *context, const struct sigaction *previous) {
    if (previous->sa_flags & SA_SIGINFO) {
        previous->sa_sigaction(sig, info, context);
    } else if (previous->sa_handler == SIG_DFL) {
        /* Nobody else wanted it: restore the default action; the fault repeats on return and takes it. */
        signal(sig, SIG_DFL);
    } else if (previous->sa_handler != SIG_IGN) {
        previous->sa_handler(sig);
    }
}

static void on_fault_signal(int sig, siginfo_t *info, void *context) {
    int saved_errno = errno; /* the interrupted code may be between a call and its errno check */
    int ours = claim_fault(sig, info, context);
    errno = saved_errno;
    if (!ours) forward(sig, info, context, sig == SIGSEGV ? &previous_segv : &previous_bus);
}

/* ---------------------------------------------------------------------------------------------
 * claiming ranges for the signal handlers
 * ------------------------------------------------------------------------------------------- */

static void install_handlers(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_fault_signal;
    /* As HotSpot installs its own: every signal blocked while we run, except the synchronous error signals. */
    sigfillset(&action.sa_mask);
    sigdelset(&action.sa_mask, SIGSEGV);
    sigdelset(&action.sa_mask, SIGBUS);
    sigdelset(&action.sa_mask, SIGILL);
    sigdelset(&action.sa_mask, SIGFPE);
    sigdelset(&action.sa_mask, SIGTRAP);
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    /*
     * Read the previous handlers first, install ours second: with one sigaction call doing both,
     * glibc copies the old action out only after the kernel installed the new one, and a JVM fault
     * on another thread in between would be forwarded to a zeroed (default) action and kill the
     * process. The JVM installs its handlers at startup and does not replace them later.
     */
    if (sigaction(SIGSEGV, NULL, &previous_segv) != 0 || sigaction(SIGBUS, NULL, &previous_bus) != 0
        || sigaction(SIGSEGV, &action, NULL) != 0 || sigaction(SIGBUS, &action, NULL) != 0) {
        install_error = errno;
    }
}

int pm_claim_range(struct tracker *t) {
    if (t->kind == PM_KIND_UFFD_SYNC) return -EINVAL;
    pthread_once(&handlers_installed, install_handlers);
    if (install_error != 0) return -install_error;
    for (int i = 0; i < PM_MAX_CLAIMED_RANGES; i++) {
        int expected = SLOT_FREE;
        struct claimed_range *range = &claimed[i];
        if (!__atomic_compare_exchange_n(&range->state, &expected, SLOT_SETUP, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) continue;
        __atomic_store_n(&range->kind, t->kind, __ATOMIC_RELAXED);
        __atomic_store_n(&range->start, t->start, __ATOMIC_RELAXED);
        __atomic_store_n(&range->end, t->start + (t->pages << t->page_shift), __ATOMIC_RELAXED);
        __atomic_store_n(&range->tracker, t, __ATOMIC_RELAXED);
        __atomic_add_fetch(&claimed_count, 1, __ATOMIC_RELEASE);
        /*
         * Release publishes the fields above. The range is protected only after this returns, and a
         * fault can only follow that protecting syscall, so no fault in the range can miss the slot.
         */
        __atomic_store_n(&range->state, SLOT_LIVE, __ATOMIC_SEQ_CST);
        return i;
    }
    return -ENOSPC;
}

void pm_stop_handling(int slot) {
    if (slot < 0 || slot >= PM_MAX_CLAIMED_RANGES) return;
    struct claimed_range *range = &claimed[slot];
    if (__atomic_load_n(&range->state, __ATOMIC_ACQUIRE) != SLOT_LIVE) return;
    __atomic_store_n(&range->state, SLOT_CLOSED, __ATOMIC_SEQ_CST); /* Dekker with claim_fault, see there */
    /* Acquire pairs with the handlers' release decrement: their last use of the tracker is over. */
    while (__atomic_load_n(&range->users, __ATOMIC_SEQ_CST) != 0) sched_yield();
    __atomic_store_n(&range->tracker, NULL, __ATOMIC_RELAXED);
}

void pm_release_range(int slot) {
    if (slot < 0 || slot >= PM_MAX_CLAIMED_RANGES) return;
    struct claimed_range *range = &claimed[slot];
    pm_stop_handling(slot);
    if (__atomic_load_n(&range->state, __ATOMIC_ACQUIRE) != SLOT_CLOSED) return;
    __atomic_sub_fetch(&claimed_count, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&range->state, SLOT_FREE, __ATOMIC_RELEASE);
}

int pm_claimed_ranges(void) {
    return __atomic_load_n(&claimed_count, __ATOMIC_ACQUIRE);
}

void pm_set_vma_budget(int64_t vmas) {
    __atomic_store_n(&vma_budget, vmas, __ATOMIC_RELAXED);
}

void pm_mprotect_protecting(struct tracker *t, uint64_t first, uint64_t count) {
    /* Before the mprotect: no fault can set these bits again until it is done (the pages are still writable). */
    record_writable(t, first, first + count, 0);
    /* Far from the limit again: back to the configured block, for precision. */
    if (4 * __atomic_load_n(&vma_boundaries, __ATOMIC_RELAXED) < __atomic_load_n(&vma_budget, __ATOMIC_RELAXED)) {
        __atomic_store_n(&t->granule_log2, t->block_log2, __ATOMIC_RELAXED);
    }
}

void pm_mprotect_protecting_all(struct tracker *t) {
    for (uint64_t word = 0; word < (t->pages + 63) / 64; word++) __atomic_store_n(&t->writable[word], 0, __ATOMIC_RELAXED);
    __atomic_fetch_sub(&vma_boundaries, __atomic_exchange_n(&t->boundaries, 0, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
    __atomic_store_n(&t->granule_log2, t->block_log2, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------------------------------------
 * copy-before-unprotect: switching it on and off, unprotecting outside a fault
 * ------------------------------------------------------------------------------------------- */

/* Stops new fault paths and waits for those in flight to unprotect and leave (see copy_enter). */
static void copy_pause(struct tracker *t) {
    __atomic_store_n(&t->copy_phase, COPY_PAUSED, __ATOMIC_SEQ_CST);
    /* Fault paths arriving now step out and wait, so the count only drops: bounded by the slowest one in flight. */
    while (__atomic_load_n(&t->in_fault, __ATOMIC_SEQ_CST) != 0) sched_yield();
}

/*
 * Write-protects the whole range, as the Java side's arm does (this copy runs while the fault paths
 * are paused: Java code there could stop at a safepoint that waits for the paused writers).
 */
static int protect_all(struct tracker *t) {
    if (t->kind != PM_KIND_MPROTECT) return uffd_write_protect(t, 0, t->pages, UFFDIO_WRITEPROTECT_MODE_WP);
    pm_mprotect_protecting_all(t);
    return mprotect((void *)t->start, t->pages << t->page_shift, PROT_READ) == 0 ? 0 : -errno;
}

int pm_copy_before_unprotect_start(struct tracker *t, int32_t *states, uint8_t *image) {
    int expected = COPY_OFF;
    /* Only the Java owner switches (under the arena's lock); the CAS just refuses a second start. */
    if (!__atomic_compare_exchange_n(&t->copy_phase, &expected, COPY_PAUSED, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) return -EBUSY;
    copy_pause(t);
    __atomic_store_n(&t->copy_states, (_Atomic int32_t *)states, __ATOMIC_RELAXED);
    t->copy_image = image;
    /*
     * No fault path is between a decision and its unprotect, and none starts one: once this returns,
     * every page is protected and none can be unprotected without first leaving UNCOPIED. That
     * moment is the snapshot's.
     */
    int result = protect_all(t);
    /* Sequentially consistent (so release): a fault path that sees LIVE sees the states and the image. */
    __atomic_store_n(&t->copy_phase, result == 0 ? COPY_LIVE : COPY_OFF, __ATOMIC_SEQ_CST);
    return result;
}

void pm_copy_before_unprotect_stop(struct tracker *t) {
    int phase = __atomic_load_n(&t->copy_phase, __ATOMIC_ACQUIRE);
    if (phase == COPY_OFF) return;
    copy_pause(t);
    __atomic_store_n(&t->copy_states, NULL, __ATOMIC_RELAXED);
    t->copy_image = NULL;
    __atomic_store_n(&t->copy_phase, COPY_OFF, __ATOMIC_SEQ_CST);
}

int pm_unprotect(struct tracker *t, uint64_t first, uint64_t count) {
    if (first > t->pages || count > t->pages - first) return -EINVAL;
    if (t->kind != PM_KIND_MPROTECT) return uffd_write_protect(t, first, count, 0); /* 0: clear WP and wake */
    if (mprotect((void *)(t->start + (first << t->page_shift)), count << t->page_shift, PROT_READ | PROT_WRITE) != 0) return -errno;
    record_writable(t, first, first + count, 1);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * uffd-sync handler threads
 * ------------------------------------------------------------------------------------------- */

struct handler_start {
    struct tracker *t;
    int index;
};

/* Resolves a batch of faults: every one unprotected (waking its thread) before the one record of them all. */
static void resolve(struct tracker *t, struct handler_progress *progress, const struct uffd_msg *msgs, int n) {
    uint64_t entries[RING_MAX_ENTRIES];
    int recorded = 0;
    /*
     * Odd from before the first unprotect until after the commit. Sequentially consistent, and the
     * ioctl below is a full barrier anyway: a writer can only resume (and tell a collector it wrote)
     * after this store is visible, so a collector that started later sees us mid-batch and waits.
     */
    __atomic_add_fetch(&progress->seq, 1, __ATOMIC_SEQ_CST);
    int granule = __atomic_load_n(&t->granule_log2, __ATOMIC_RELAXED);
    const int copy = copy_enter(t) == COPY_LIVE;
    for (int i = 0; i < n; i++) {
        if (msgs[i].event != UFFD_EVENT_PAGEFAULT) continue;
        uint64_t first, count;
        entries[recorded++] = block_entry(t, (uintptr_t)msgs[i].arg.pagefault.address, granule, &first, &count);
        if (copy) copy_block(t, first, count);
        __atomic_fetch_add(&t->faults, 1, __ATOMIC_RELAXED); /* before the wake, so a writer that resumed sees itself counted */
        uffd_unprotect(t, first, count, 0);
    }
    copy_leave(t);
    if (recorded > 0) ring_record(&t->ring, entries, recorded);
    /* Release: the commit above happens before a collector sees the even count (acquire). */
    __atomic_add_fetch(&progress->seq, 1, __ATOMIC_RELEASE);
}

static int64_t monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000L + now.tv_nsec;
}

static void *handler_main(void *arg) {
    struct handler_start start = *(struct handler_start *)arg;
    free(arg);
    struct tracker *t = start.t;
    struct handler_progress *progress = &t->progress[start.index];
    struct uffd_msg msgs[RING_MAX_ENTRIES];
    struct pollfd fds[2] = {{.fd = t->uffd, .events = POLLIN}, {.fd = t->stop_fd, .events = POLLIN}};
    int64_t idle_since = -1;
    while (!__atomic_load_n(&t->stopping, __ATOMIC_ACQUIRE)) {
        /* The uffd is non-blocking: several handlers may race for the same message, losers get EAGAIN. */
        ssize_t got = read(t->uffd, msgs, sizeof msgs);
        if (got > 0) {
            resolve(t, progress, msgs, (int)(got / (ssize_t)sizeof msgs[0]));
            idle_since = -1;
            continue;
        }
        if (got < 0 && errno != EAGAIN && errno != EINTR) break; /* the uffd is gone: nothing left to serve */
        if (t->spin_ns > 0) {
            /* Spin a while before sleeping: a fault arriving meanwhile costs no wake-up. */
            int64_t now = monotonic_ns();
            if (idle_since < 0) idle_since = now;
            if (now - idle_since < t->spin_ns) continue;
        }
        idle_since = -1;
        if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
    }
    return NULL;
}

int pm_handlers_start(struct tracker *t, int count, int64_t spin_ns, int pin_to_cpus) {
    if (t->kind != PM_KIND_UFFD_SYNC || count < 1 || count > PM_MAX_HANDLERS || t->handler_count != 0) return -EINVAL;
    t->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (t->stop_fd < 0) return -errno;
    t->spin_ns = spin_ns;
    /* Handler threads take no asynchronous signals: those are the JVM's, for its own threads. */
    pthread_attr_t attr;
    sigset_t all;
    sigfillset(&all);
    pthread_attr_init(&attr);
    pthread_attr_setsigmask_np(&attr, &all);
    /* Pinning picks among the CPUs this process may run on (a container's cpuset, taskset), in order. */
    cpu_set_t allowed;
    int allowed_cpus[CPU_SETSIZE], cpus = 0;
    if (pin_to_cpus && sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
        for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) if (CPU_ISSET(cpu, &allowed)) allowed_cpus[cpus++] = cpu;
    }
    int error = 0;
    for (int i = 0; i < count && error == 0; i++) {
        struct handler_start *start = malloc(sizeof *start);
        if (start == NULL) {
            error = ENOMEM;
            break;
        }
        start->t = t;
        start->index = i;
        if (cpus > 0) {
            cpu_set_t cpu;
            CPU_ZERO(&cpu);
            CPU_SET(allowed_cpus[i % cpus], &cpu);
            pthread_attr_setaffinity_np(&attr, sizeof cpu, &cpu);
        }
        error = pthread_create(&t->handlers[i], &attr, handler_main, start);
        if (error != 0) {
            free(start);
        } else {
            pthread_setname_np(t->handlers[i], "pagemark-uffd");
            t->handler_count++;
        }
    }
    pthread_attr_destroy(&attr);
    if (error != 0) {
        pm_handlers_stop(t);
        return -error;
    }
    return 0;
}

void pm_handlers_stop(struct tracker *t) {
    __atomic_store_n(&t->stopping, 1, __ATOMIC_RELEASE);
    if (t->stop_fd >= 0) {
        uint64_t one = 1;
        while (write(t->stop_fd, &one, sizeof one) < 0 && errno == EINTR) {
        }
    }
    for (int i = 0; i < t->handler_count; i++) pthread_join(t->handlers[i], NULL);
    t->handler_count = 0;
    if (t->stop_fd >= 0) close(t->stop_fd);
    t->stop_fd = -1;
}

void pm_handlers_snapshot(struct tracker *t, uint64_t *snapshot) {
    for (int i = 0; i < t->handler_count; i++) snapshot[i] = __atomic_load_n(&t->progress[i].seq, __ATOMIC_ACQUIRE);
}

int pm_handlers_passed(struct tracker *t, const uint64_t *snapshot) {
    for (int i = 0; i < t->handler_count; i++) {
        /* Acquire: a changed count means the batch it was in is committed to the ring. */
        if ((snapshot[i] & 1) != 0 && __atomic_load_n(&t->progress[i].seq, __ATOMIC_ACQUIRE) == snapshot[i]) return 0;
    }
    return 1;
}
