/*
 * pagemark's native library: what must not run as Java code (docs/design.md, "Native rules").
 *  - the uffd-sync fault loop (handler pthreads reading a userfaultfd): uffd_sync.c,
 *  - the SIGSEGV (mprotect) and SIGBUS (uffd-sigbus) handlers, chained in front of the JVM's:
 *    signal_ranges.c, with the fault paths in mprotect.c and uffd_sigbus.c,
 *  - copy-before-write's part of every fault path: copy_before_write.c,
 *  - the producer side of the fault-record ring: ring.c.
 * tracker.c holds what every backend shares and the one place that picks a backend, by its name.
 * Everything else (opening the userfaultfd, arming, collecting, mapping memory) is Java (FFM).
 *
 * The exported functions are called through FFM by io.pagemark.nativelib.FaultPaths; the
 * constants below are mirrored there and checked when the library loads (pm_constant), as is the
 * ring's layout (pm_ring_layout).
 */
#ifndef PAGEMARK_H
#define PAGEMARK_H

#include <stdint.h>

#define PM_EXPORT __attribute__((visibility("default")))

/* Bumped whenever an exported signature or constant changes; the Java loader refuses a mismatch. */
#define PM_ABI_VERSION 10

/* Indexes for pm_counter. */
#define PM_COUNTER_FAULTS 0            /* faults resolved (one per unprotected block) */
#define PM_COUNTER_SPILLED_ENTRIES 1   /* entries that went to the spill bitmap because the ring stayed full */
#define PM_COUNTER_FULL_RING_WAITS 2   /* records that found the ring full at first */
#define PM_COUNTER_DEGRADATIONS 3      /* mprotect: faults that unprotected more than their run near vm.max_map_count */
#define PM_COUNTER_LARGEST_BLOCK_LOG2 4 /* log2 of the largest block (fixed, or the whole range after mprotect's ENOMEM) used; adaptive windows aside */
#define PM_COUNTER_UNPROTECT_RETRIES 5 /* unprotects that failed and were retried (mprotect ENOMEM at the largest block) */
#define PM_COUNTER_VMA_BOUNDARIES 6    /* mprotect: VMA boundaries the writable pages make inside the range now (vma_count.c) */
#define PM_COUNTER_PAGES_COPIED 7      /* copy-before-write: pages a fault path copied into the image */
#define PM_COUNTER_JOINED_PAGES 8      /* mprotect: pages unprotected (and reported) beyond the faults' runs near vm.max_map_count */
#define PM_COUNTER_COUNT 9

/*
 * Copy-before-write: one int32 state per page of the range, shared with the Java side
 * (io.pagemark.CopyBeforeWrite), moving only forward while copying is on:
 *   UNCOPIED -> COPYING -> COPIED_BY_FAULT   a fault path copied the page into the image
 *   UNCOPIED -> TAKEN_BY_CALLER              the Java caller's own copy, made before its CAS, is valid
 * A fault path unprotects a page only once its state has left UNCOPIED and is not COPYING, so a
 * page in UNCOPIED has been write-protected, unchanged, since copying was switched on.
 */
#define PM_PAGE_UNCOPIED 0
#define PM_PAGE_COPYING 1
#define PM_PAGE_COPIED_BY_FAULT 2
#define PM_PAGE_TAKEN_BY_CALLER 3

/* Indexes for pm_ring_layout: the ring's layout as ring.h defines it. */
#define PM_RING_TRAILER_LENGTH 0
#define PM_RING_TAIL_OFFSET 1
#define PM_RING_HEAD_CACHE_OFFSET 2
#define PM_RING_HEAD_OFFSET 3
#define PM_RING_RECORD_HEADER_LENGTH 4
#define PM_RING_RECORD_ALIGNMENT 5
#define PM_RING_PADDING_TYPE 6
#define PM_RING_FAULT_RECORD_TYPE 7
#define PM_RING_ENTRY_LOG2_BITS 8
#define PM_RING_MAX_ENTRIES 9
#define PM_RING_MIN_CAPACITY 10
#define PM_RING_FIELD_COUNT 11

#define PM_MAX_HANDLERS 16
#define PM_MAX_SIGNAL_RANGES 64

/* Indexes for pm_constant: the constants above that the Java side mirrors, checked when it loads the library. */
#define PM_CONSTANT_COUNTER_COUNT 0
#define PM_CONSTANT_PAGE_UNCOPIED 1
#define PM_CONSTANT_PAGE_COPYING 2
#define PM_CONSTANT_PAGE_COPIED_BY_FAULT 3
#define PM_CONSTANT_PAGE_TAKEN_BY_CALLER 4
#define PM_CONSTANT_MAX_HANDLERS 5
#define PM_CONSTANT_MAX_SIGNAL_RANGES 6
#define PM_CONSTANT_WINDOW_MAX_PAGES 7 /* the adaptive window's largest size, in pages */
#define PM_CONSTANT_BLOCK_ADAPTIVE 8

/* pm_tracker_new's block_log2 for an adaptive window (window.h) instead of a fixed block. */
#define PM_BLOCK_ADAPTIVE (-1)

struct tracker;

PM_EXPORT int pm_abi_version(void);
/* The ring layout's field (PM_RING_*), or -1 for an unknown one. */
PM_EXPORT int32_t pm_ring_layout(int field);
/* The constant PM_CONSTANT_* names, or -1 for an unknown one. */
PM_EXPORT int32_t pm_constant(int which);

/*
 * A tracker for the `pages` pages at `start`, whose faults the backend named `backend` resolves
 * ("mprotect": SIGSEGV on a PROT_READ page; "uffd-sigbus": SIGBUS from a userfaultfd registered with
 * UFFD_FEATURE_SIGBUS; "uffd-sync": uffd_msg read by handler threads). `uffd` is the registered userfaultfd
 * (-1 for mprotect). Each fault unprotects the aligned block of 2^block_log2 pages holding the address,
 * or, with block_log2 = PM_BLOCK_ADAPTIVE, a window from the faulting page that doubles while a stream
 * of faults continues (up to PM_CONSTANT_WINDOW_MAX_PAGES pages) and is one page otherwise.
 * The ring (capacity bytes + trailer) and the spill bitmap (one bit per page) are the caller's
 * memory, zeroed, and must outlive the tracker. Returns NULL with errno set on failure.
 */
PM_EXPORT struct tracker *pm_tracker_new(const char *backend, uint64_t start, uint64_t pages, uint64_t page_size, int uffd,
                                         int block_log2, uint8_t *ring_buffer, int32_t ring_capacity,
                                         uint64_t *spill_bitmap);
PM_EXPORT uint64_t pm_counter(struct tracker *t, int counter);
/* Tests only: from now on every fault path records its run `pages` pages short (the bug a teeth test injects); 0 undoes it. */
PM_EXPORT void pm_window_record_short(struct tracker *t, int pages);
/* Frees the tracker. Its handler threads must be stopped and its signal range stopped. */
PM_EXPORT void pm_tracker_free(struct tracker *t);

/*
 * mprotect and uffd-sigbus: installs the chained signal handlers (once per process) and adds the
 * tracker's range to those they handle. Returns the range's slot (>= 0), which outlives the
 * tracker, or -errno (-EINVAL for a tracker whose faults do not arrive as signals).
 */
PM_EXPORT int pm_signal_range_add(struct tracker *t);
/*
 * Stops handling the slot's faults and makes the range writable (the backend's unprotect) before it
 * returns: a store that faulted meanwhile is retried until then, and no handler touches the tracker after.
 */
PM_EXPORT void pm_signal_range_stop(int slot);
/*
 * 1 if no signal handler is inside the slot's fault path at this instant: every fault path that
 * unprotected a page of it before this call has recorded that page (uffd-sigbus, docs/discards.md).
 */
PM_EXPORT int pm_signal_range_idle(int slot);
/* Forgets the slot's range once its memory is unmapped and no thread can still be on its way into a handler for it. */
PM_EXPORT void pm_signal_range_remove(int slot);
/* Signal ranges now (live or stopped): for tests. */
PM_EXPORT int pm_signal_ranges(void);

/* mprotect: the VMAs the trackers may add (each writable run inside a read-only range is two more); faults join runs rather than pass it. */
PM_EXPORT void pm_set_vma_budget(int64_t vmas);

/*
 * Re-protecting (rearm.h). pm_protect_pages: the collector's re-protect of the pages set in `words`
 * (a bitmap of the range, as it was on return), run by run, adjacent runs merged, or the whole range
 * where that costs less; the fault paths keep running. pm_rearm: arm's, with the fault paths paused
 * meanwhile, of every page unprotected since the last re-arm and those set in `also` (a bitmap of the
 * range, or NULL: pages that changed without a fault path, which the collector found). Both return the number of times the
 * whole range was protected instead after ENOMEM (mprotect near vm.max_map_count), or -errno.
 */
PM_EXPORT int pm_protect_pages(struct tracker *t, uint64_t *words);
PM_EXPORT int pm_rearm(struct tracker *t, uint64_t *also);
/* Teeth for the tests: with skip != 0, every re-protect leaves one of its pages writable (a lost write). */
PM_EXPORT void pm_test_rearm_skips_one_page(struct tracker *t, int skip);

/*
 * Copy-before-write on: stops the fault paths (those in flight finish, new ones wait), protects
 * what is writable (pm_rearm's re-arm: after it the whole range is protected), then has every fault
 * path copy each UNCOPIED page of the block it is about to unprotect into `image` (same offset)
 * first. states (one int32 per page) and image (the range's size) are the caller's and must stay
 * valid until pm_copy_before_write_stop. A snapshot (delta NULL) passes every state UNCOPIED. A cut
 * passes a bitmap of the range as delta, which receives the pages unprotected since the previous cut
 * (all of them at the first), and states TAKEN_BY_CALLER except for those, which this sets UNCOPIED.
 * Returns >= 0 (pm_rearm's count), -EBUSY if already on, or -errno of the protecting syscall
 * (copying stays off then).
 */
PM_EXPORT int pm_copy_before_write_start(struct tracker *t, int32_t *states, uint8_t *image, uint64_t *delta);
/* Copy-before-write off: when this returns no fault path uses states or image any more. Idempotent. */
PM_EXPORT void pm_copy_before_write_stop(struct tracker *t);
/*
 * Whether the fault paths record what they unprotect in the ring (on from an arm until a disarm: the
 * records are a collector's; a cut or a snapshot of an arena nobody collects needs only the re-arm's
 * marks). Off for a new tracker. Switch it on before pm_rearm: the pages a fault path unprotected
 * without recording before that are re-protected by it.
 */
PM_EXPORT void pm_set_recording(struct tracker *t, int on);
/* Unprotects pages [first, first + count) outside a fault (waking uffd-sync writers waiting on them). 0 or -errno. */
PM_EXPORT int pm_unprotect(struct tracker *t, uint64_t first, uint64_t count);

/*
 * uffd-sync and uffd-sigbus: starts `count` handler threads reading the tracker's userfaultfd. They
 * resolve its page faults (uffd-sync; under uffd-sigbus none arrive as messages) and read its
 * UFFD_EVENT_REMOVE events, setting the removed pages' bits in `discards` (one bit per page, the
 * caller's zeroed memory, outliving the threads): a madvise that empties registered memory waits
 * until such an event is read, so a descriptor with EVENT_REMOVE needs a reader. spin_ns > 0: poll
 * the uffd that long before blocking; pin_to_cpus: handler i runs only on the i-th CPU this process
 * may run on (modulo their number). 0 or -errno.
 */
PM_EXPORT int pm_handlers_start(struct tracker *t, int count, int64_t spin_ns, int pin_to_cpus, uint64_t *discards);
/* Stops and joins the handler threads. */
PM_EXPORT void pm_handlers_stop(struct tracker *t);
/* Copies each handler's progress counter (odd from a read until what it read is recorded) into snapshot. */
PM_EXPORT void pm_handlers_snapshot(struct tracker *t, uint64_t *snapshot);
/* 1 when every handler that was mid-batch at the snapshot has recorded that batch since. */
PM_EXPORT int pm_handlers_passed(struct tracker *t, const uint64_t *snapshot);

#endif
