/*
 * mprotect's VMA count (vma_count.c): which pages of a tracker are writable, and exactly how many VMA
 * boundaries that makes inside its range (every place a writable page borders a read-only one starts a
 * new VMA), summed over every mprotect tracker of the process against the budget vm.max_map_count
 * leaves them (pm_set_vma_budget). Async-signal-safe throughout: no lock, no allocation, no syscall.
 */
#ifndef PAGEMARK_VMA_COUNT_H
#define PAGEMARK_VMA_COUNT_H

#include <stdint.h>

struct tracker;

/* Sets up (0 or -ENOMEM) and frees a tracker's page bits; vma_count_release gives its boundaries back. */
int vma_count_init(struct tracker *t);
void vma_count_release(struct tracker *t);

/*
 * Records pages [first, end) as writable (after they were made so) or read-only (before they are made
 * so), and counts exactly the boundaries that adds or removes, concurrent calls included.
 */
void vma_count_mark(struct tracker *t, uint64_t first, uint64_t end, int writable);

/* The boundaries that making pages [first, end) writable would add (negative: remove), from the bits now. */
int64_t vma_count_change_if_writable(struct tracker *t, uint64_t first, uint64_t end);

/* The boundaries the budget still has room for, across every mprotect tracker (negative: over it). */
int64_t vma_count_room(void);

/* The boundaries inside t's range now. */
int64_t vma_count_of(struct tracker *t);

/*
 * The writable page nearest before `page` (or t->pages if there is none), and the first writable page
 * from `page` on (t->pages if none), looking at most `words` bitmap words (64 pages each) away.
 */
uint64_t vma_count_writable_before(struct tracker *t, uint64_t page, uint64_t words);
uint64_t vma_count_writable_from(struct tracker *t, uint64_t page, uint64_t words);

/*
 * A hole: a read-only page between two writable ones, whose unprotect joins their VMAs (two boundaries
 * fewer), looked for in at most `words` bitmap words from where the last search stopped; t->pages if
 * none there.
 */
uint64_t vma_count_find_hole(struct tracker *t, uint64_t words);

#endif
