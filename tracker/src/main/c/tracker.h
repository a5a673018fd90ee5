/*
 * The native tracker: what every backend's fault path shares (the range, the block size, the ring,
 * the fault count), each backend's own state, and struct backend, the table of what differs between
 * them. Internal to the library; the exported API is pagemark.h.
 *
 * Where a fault goes: the signal handler (signal_ranges.c) or a uffd-sync handler thread
 * (uffd_sync.c) finds the tracker, the backend's fault path (mprotect.c, uffd_sigbus.c, uffd_sync.c)
 * takes the run of pages to unprotect (fault_run, window.h: an adaptive window or the aligned block), copies it first if copy-before-write is on
 * (copy_before_write.h), unprotects it, and only then records it in the ring (ring.h).
 */
#ifndef PAGEMARK_TRACKER_H
#define PAGEMARK_TRACKER_H

#include "copy_before_write.h"
#include "mprotect.h"
#include "rearm.h"
#include "ring.h"
#include "uffd_sync.h"
#include "window.h"

#include <stdint.h>

struct tracker;

/*
 * What differs between the backends: one constant instance per backend, defined in the backend's own
 * file and registered there with PM_BACKEND; pm_tracker_new finds it by name (backend_named,
 * tracker.c), the one place a backend is picked. Code that needs to know how a tracker behaves asks
 * its backend, never which backend it is.
 */
struct backend {
    /* The backend's name, as the Java side (io.pagemark.Backend) spells it. */
    const char *name;
    /* The signal its write faults arrive as (SIGSEGV, SIGBUS), or 0: they arrive as uffd messages to handler threads. */
    int fault_signal;
    /* fault_signal != 0: resolves the write fault at addr, in the signal handler on the faulting thread. */
    void (*on_fault)(struct tracker *t, uintptr_t addr);
    /* Sets up the backend's own state of a new tracker (NULL: none); 0 or -errno. */
    int (*init)(struct tracker *t);
    /* Frees the backend's own state (NULL: none). */
    void (*release)(struct tracker *t);
    /* Makes pages [first, first + count) writable outside a fault, waking writers waiting on them; 0 or -errno. */
    int (*unprotect)(struct tracker *t, uint64_t first, uint64_t count);
    /*
     * Write-protects pages [first, first + count) (the whole range included) outside a fault; 0, 1
     * when it had to protect the whole range instead (mprotect at vm.max_map_count), or -errno.
     */
    int (*protect)(struct tracker *t, uint64_t first, uint64_t count);
    /*
     * What one protect call costs beyond its pages, in pages of a whole-range protect: runs closer
     * than this are merged, and the whole range is protected when the runs would cost more (rearm.c).
     */
    uint64_t protect_call_pages;
    /*
     * 1: a whole-range protect costs what is unprotected, not the range's size (mprotect passes over
     * the VMAs that already have the protection), so re-protecting any runs is one whole-range call.
     */
    int protect_all_skips_protected;
};

struct tracker {
    const struct backend *backend;
    uintptr_t start;
    uint64_t pages;
    int page_shift;
    int uffd;
    int block_log2;                   /* the configured block: 2^block_log2 pages per fault (0 with an adaptive window) */
    int adaptive;                     /* 1: faults unprotect an adaptive window (window.h) while the block is block_log2 */
    _Atomic int current_block_log2;   /* the block used now: the whole range after mprotect's ENOMEM, until the next re-protect */
    _Atomic int largest_block_log2;   /* the largest block used since the tracker was created */
    int max_block_log2;               /* a block of 2^max_block_log2 pages covers the whole range */
    struct ring ring;
    /*
     * 1 while a collector consumes the ring (from an arm to a disarm, pm_set_recording): only then do
     * fault paths record; otherwise the re-arm marks (rearm.h) alone say what to protect. A fault path
     * reads it after copy_enter: see tracker.c, pm_set_recording.
     */
    _Atomic int recording;
    _Atomic uint64_t faults;
    struct mprotect_state mprotect;   /* mprotect.h */
    struct handler_threads handlers;  /* uffd_sync.h */
    struct copy_before_write copy;    /* copy_before_write.h */
    struct fault_windows windows;     /* window.h */
    struct rearm rearm;               /* rearm.h */
};

/* The aligned block of 2^block_log2 pages holding addr, clipped to the range: its first page and page count, and its ring entry. */
static inline uint64_t tracker_block(const struct tracker *t, uintptr_t addr, int block_log2, uint64_t *first, uint64_t *count) {
    uint64_t page = (addr - t->start) >> t->page_shift;
    *first = page & ~((1ULL << block_log2) - 1);
    *count = 1ULL << block_log2;
    if (*first + *count > t->pages) *count = t->pages - *first;
    return (*first << ENTRY_LOG2_BITS) | (uint64_t)block_log2;
}

/* Whether a fault path that has entered (copy_enter) records what it unprotects: pm_set_recording. */
int tracker_recording(struct tracker *t);

/* The address of page `page` of the range. */
static inline void *tracker_page(const struct tracker *t, uint64_t page) {
    return (void *)(t->start + (page << t->page_shift));
}

/*
 * Registers a backend: puts a pointer to it into the pm_backends section, which the linker gathers
 * from every file and brackets with __start_pm_backends and __stop_pm_backends (as the kernel's
 * initcalls are gathered), so adding a backend is adding its file, with no list to edit.
 */
#define PM_BACKEND(instance) \
    static const struct backend *registered_##instance __attribute__((used, section("pm_backends"))) = &(instance)

#endif
