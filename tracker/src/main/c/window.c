/*
 * The adaptive window (window.h) and the ring entries of a fault's run.
 *
 * Streams are found by address, not by thread: a fault continues a stream when it hits the page right
 * after that stream's last window, whoever took it (so a uffd-sync handler thread, which is not the
 * writer, needs no per-thread state, and no signal handler touches thread-local storage, which a
 * dlopen'ed library's first access may allocate). A fault that continues no stream replaces the
 * stream its thread hashes to, so one thread's random writes do not evict the sequential streams of
 * others.
 */
#define _GNU_SOURCE
#include "window.h"

#include "atomics.h"
#include "pagemark.h"
#include "tracker.h"

static unsigned stream_of_thread(uint64_t thread) {
    return (unsigned)((thread * 0x9E3779B97F4A7C15ULL) >> 60) % WINDOW_STREAMS;
}

void fault_run(struct tracker *t, uintptr_t addr, uint64_t thread, int block_log2, uint64_t *first, uint64_t *count) {
    if (!t->adaptive || block_log2 != t->block_log2) {
        (void)tracker_block(t, addr, block_log2, first, count);
        return;
    }
    struct fault_windows *w = &t->windows;
    const uint64_t page = (addr - t->start) >> t->page_shift;
    unsigned slot = stream_of_thread(thread);
    int log2 = 0;
    for (unsigned i = 0; i < WINDOW_STREAMS; i++) {
        /*
         * Relaxed, here and in the store below: the streams are a hint only. A race between two
         * faults (a stale or overwritten stream) changes the size of a window, never what is
         * recorded: each fault path records the run it unprotects, whatever its size.
         */
        uint64_t stream = load_relaxed(&w->streams[i]);
        if (stream != 0 && (stream >> 8) - 1 == page) {
            slot = i;
            log2 = (int)(stream & 0xff) + 1;
            if (log2 > WINDOW_MAX_LOG2) log2 = WINDOW_MAX_LOG2;
            break;
        }
    }
    *first = page;
    *count = 1ULL << log2;
    if (*count > t->pages - page) *count = t->pages - page; /* never past the arena's end */
    store_relaxed(&w->streams[slot], ((page + *count + 1) << 8) | (uint64_t)log2);
}

int fault_run_entries(struct tracker *t, uint64_t first, uint64_t count, uint64_t *entries) {
    uint64_t end = first + count;
    int shorter = load_relaxed(&t->windows.record_short_by); /* tests only: 0 otherwise */
    end = (uint64_t)shorter < count ? end - (uint64_t)shorter : first;
    int n = 0;
    /* Greedy: the largest power of two that fits; a run ending at the arena's end is one clipped entry. */
    while (first < end) {
        int log2 = 63 - __builtin_clzll(end - first);
        if (end == t->pages && (1ULL << log2) < end - first) log2++;
        if (log2 >= (1 << ENTRY_LOG2_BITS)) log2 = (1 << ENTRY_LOG2_BITS) - 1;
        entries[n++] = (first << ENTRY_LOG2_BITS) | (uint64_t)log2;
        first += 1ULL << log2;
    }
    return n;
}

void pm_window_record_short(struct tracker *t, int pages) {
    store_relaxed(&t->windows.record_short_by, pages);
}
