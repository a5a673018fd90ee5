/*
 * The adaptive window (window.c): how many pages a fault unprotects when no fixed block is configured.
 * As the kernel's readahead does for a file, a fault on the page right after a stream's previous window
 * doubles the window (up to WINDOW_MAX_LOG2), and a fault anywhere else starts a stream of one page.
 */
#ifndef PAGEMARK_WINDOW_H
#define PAGEMARK_WINDOW_H

#include <stdint.h>

/* Streams followed at once per tracker; a fault that continues none replaces the one its thread hashes to. */
#define WINDOW_STREAMS 16
/* The largest window: 2^WINDOW_MAX_LOG2 pages. */
#define WINDOW_MAX_LOG2 6

struct fault_windows {
    /*
     * Each stream: (the page right after its last window + 1) << 8 | log2 of that window's size; 0:
     * none. Only a hint of what the next window should be: whatever size it suggests, the fault path
     * records exactly the run it unprotects.
     */
    _Atomic uint64_t streams[WINDOW_STREAMS];
    /* Tests only (pm_window_record_short): record each run this many pages short, the bug the teeth test injects. */
    _Atomic int record_short_by;
};

struct tracker;

/*
 * The run a fault at addr unprotects: the adaptive window when the tracker has one and block_log2 is
 * its configured block (mprotect raises the block to the whole range after ENOMEM: then that block),
 * else the aligned block of 2^block_log2 pages. `thread` identifies the faulting thread (any value
 * that differs between threads; 0 when unknown). Async-signal-safe: no lock, no allocation, no syscall.
 */
void fault_run(struct tracker *t, uintptr_t addr, uint64_t thread, int block_log2, uint64_t *first, uint64_t *count);

/*
 * Writes the ring entries naming exactly pages [first, first + count) and returns how many: one for
 * a window or a block (a power of two, or clipped at the arena's end), at most RING_MAX_ENTRIES.
 */
int fault_run_entries(struct tracker *t, uint64_t first, uint64_t count, uint64_t *entries);

#endif
