/*
 * What every backend shares: creating and freeing a native tracker, its counters, unprotecting
 * outside a fault, the ring layout's export, and backend_named, the one place that picks the
 * backend that implements a tracker (tracker.h, struct backend).
 *
 * Every fault path unprotects first and records second (docs/design.md: the other order lets a
 * collector drain the record and re-protect before the late unprotect opens the page again,
 * unrecorded). Nothing in a fault path calls into Java, takes a lock, or allocates once a tracker is
 * set up: they run in signal handlers on Java threads and in handler threads that a JVM safepoint
 * waits for.
 */
#define _GNU_SOURCE
#include "tracker.h"

#include "atomics.h"
#include "pagemark.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int pm_abi_version(void) {
    return PM_ABI_VERSION;
}

int32_t pm_ring_layout(int field) {
    switch (field) {
    case PM_RING_TRAILER_LENGTH: return RING_TRAILER_LENGTH;
    case PM_RING_TAIL_OFFSET: return RING_TAIL_OFFSET;
    case PM_RING_HEAD_CACHE_OFFSET: return RING_HEAD_CACHE_OFFSET;
    case PM_RING_HEAD_OFFSET: return RING_HEAD_OFFSET;
    case PM_RING_RECORD_HEADER_LENGTH: return RING_RECORD_HEADER;
    case PM_RING_RECORD_ALIGNMENT: return RING_RECORD_ALIGNMENT;
    case PM_RING_PADDING_TYPE: return RING_PADDING_TYPE;
    case PM_RING_FAULT_RECORD_TYPE: return FAULT_RECORD_TYPE;
    case PM_RING_ENTRY_LOG2_BITS: return ENTRY_LOG2_BITS;
    case PM_RING_MAX_ENTRIES: return RING_MAX_ENTRIES;
    case PM_RING_MIN_CAPACITY: return RING_MIN_CAPACITY;
    default: return -1;
    }
}

/* The registered backends (PM_BACKEND), gathered by the linker; hidden: not part of the library's exports. */
extern const struct backend *__start_pm_backends[] __attribute__((visibility("hidden")));
extern const struct backend *__stop_pm_backends[] __attribute__((visibility("hidden")));

int32_t pm_constant(int which) {
    switch (which) {
    case PM_CONSTANT_COUNTER_COUNT: return PM_COUNTER_COUNT;
    case PM_CONSTANT_PAGE_UNCOPIED: return PM_PAGE_UNCOPIED;
    case PM_CONSTANT_PAGE_COPYING: return PM_PAGE_COPYING;
    case PM_CONSTANT_PAGE_COPIED_BY_FAULT: return PM_PAGE_COPIED_BY_FAULT;
    case PM_CONSTANT_PAGE_TAKEN_BY_CALLER: return PM_PAGE_TAKEN_BY_CALLER;
    case PM_CONSTANT_MAX_HANDLERS: return PM_MAX_HANDLERS;
    case PM_CONSTANT_MAX_SIGNAL_RANGES: return PM_MAX_SIGNAL_RANGES;
    case PM_CONSTANT_WINDOW_MAX_PAGES: return 1 << WINDOW_MAX_LOG2;
    case PM_CONSTANT_BLOCK_ADAPTIVE: return PM_BLOCK_ADAPTIVE;
    default: return -1;
    }
}

/* The one place a backend is picked: by its name, among those registered. */
static const struct backend *backend_named(const char *name) {
    for (const struct backend **backend = __start_pm_backends; backend < __stop_pm_backends; backend++) {
        if (strcmp((*backend)->name, name) == 0) return *backend;
    }
    return NULL;
}

static int ceil_log2(uint64_t n) {
    int log2 = 0;
    while ((1ULL << log2) < n) log2++;
    return log2;
}

struct tracker *pm_tracker_new(const char *backend_name, uint64_t start, uint64_t pages, uint64_t page_size, int uffd,
                               int block_log2, uint8_t *ring_buffer, int32_t ring_capacity, uint64_t *spill_bitmap) {
    const struct backend *backend = backend_name != NULL ? backend_named(backend_name) : NULL;
    if (backend == NULL || pages == 0 || (page_size & (page_size - 1)) != 0
        || block_log2 < PM_BLOCK_ADAPTIVE || block_log2 >= (1 << ENTRY_LOG2_BITS) || ring_capacity < RING_MIN_CAPACITY
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
    t->backend = backend;
    t->start = (uintptr_t)start;
    t->pages = pages;
    t->page_shift = __builtin_ctzll(page_size);
    t->uffd = uffd;
    t->adaptive = block_log2 == PM_BLOCK_ADAPTIVE;
    if (t->adaptive) block_log2 = 0;
    t->block_log2 = block_log2;
    t->current_block_log2 = block_log2;
    t->largest_block_log2 = block_log2;
    t->max_block_log2 = ceil_log2(pages) > block_log2 ? ceil_log2(pages) : block_log2;
    t->handlers.stop_fd = -1;
    ring_init(&t->ring, ring_buffer, ring_capacity, spill_bitmap, pages);
    int error = rearm_init(t);
    if (error == 0 && backend->init != NULL && (error = backend->init(t)) != 0) rearm_release(t);
    if (error != 0) {
        free(t);
        errno = -error;
        return NULL;
    }
    return t;
}

uint64_t pm_counter(struct tracker *t, int counter) {
    switch (counter) {
    case PM_COUNTER_FAULTS: return load_relaxed(&t->faults); /* statistics: relaxed */
    /* Acquire: the collector harvests the spill bitmap after seeing this count change (see ring.c, spill). */
    case PM_COUNTER_SPILLED_ENTRIES: return load_acquire(&t->ring.spills);
    case PM_COUNTER_FULL_RING_WAITS: return load_relaxed(&t->ring.full_waits);
    case PM_COUNTER_DEGRADATIONS: return load_relaxed(&t->mprotect.degradations);
    case PM_COUNTER_LARGEST_BLOCK_LOG2: return (uint64_t)load_relaxed(&t->largest_block_log2);
    case PM_COUNTER_UNPROTECT_RETRIES: return load_relaxed(&t->mprotect.unprotect_retries);
    case PM_COUNTER_VMA_BOUNDARIES: return (uint64_t)load_relaxed(&t->mprotect.boundaries);
    case PM_COUNTER_PAGES_COPIED: return load_relaxed(&t->copy.pages_copied);
    case PM_COUNTER_JOINED_PAGES: return load_relaxed(&t->mprotect.joined_pages);
    default: return 0;
    }
}

void pm_tracker_free(struct tracker *t) {
    if (t->backend->release != NULL) t->backend->release(t);
    rearm_release(t);
    free(t);
}

/*
 * Records are wanted from an arm (which forgets those before it) until a disarm; a cut or a snapshot
 * of an arena nobody collects wants the re-arm marks only. Switched on before arm's re-arm pause
 * (pm_rearm): a fault path reads the flag after copy_enter, so one that entered after the pause saw
 * the phase stored after this store (sequentially consistent both) and records; one that read 0 was in
 * flight before the pause, which waits for it, and its pages are marked, so the pause re-protects them.
 * A record of such a page made anyway is one more report, never a lost one.
 */
void pm_set_recording(struct tracker *t, int on) {
    store_seq_cst(&t->recording, on != 0);
}

/* Acquire (after copy_enter): see pm_set_recording. */
int tracker_recording(struct tracker *t) {
    return load_acquire(&t->recording);
}

int pm_unprotect(struct tracker *t, uint64_t first, uint64_t count) {
    if (first > t->pages || count > t->pages - first) return -EINVAL;
    rearm_unprotected(t, first, count); /* before: marking a page that stays protected costs a protect, never a write */
    return t->backend->unprotect(t, first, count);
}
