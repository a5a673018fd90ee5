/*
 * Incremental re-arm (rearm.c): which pages are writable, so that arming, a snapshot's start and a
 * cut re-protect only those, not the whole range. Every path that unprotects pages marks them here
 * (fault paths between copy_enter and copy_leave, pm_unprotect before its syscall, a handler that
 * reads a discard's UFFD_EVENT_REMOVE before the kernel empties the pages); the marks are
 * cleared only while the fault paths are paused (copy_before_write.h), by the code that protects
 * the marked pages in that same pause. So at a pause every writable page is marked: the pages not
 * marked are protected, and have been since the pause that last cleared them.
 */
#ifndef PAGEMARK_REARM_H
#define PAGEMARK_REARM_H

#include <stdint.h>

struct tracker;

struct rearm {
    _Atomic uint64_t *unprotected; /* a bit per page: possibly writable (all set at first: nothing is protected yet) */
    _Atomic uint64_t *since_cut;   /* a bit per page: protected by a re-arm since the last cut, after being unprotected */
    uint64_t *scratch;             /* the marks a paused re-arm protects (allocated up front: nothing allocates while writers wait) */
    uint64_t words;
    _Atomic int skips_one_page;    /* teeth: a test's deliberately broken re-arm leaves one page writable (pm_test_rearm_skips_one_page) */
};

/* Allocates the bitmaps of a new tracker (every page marked unprotected); 0 or -ENOMEM. */
int rearm_init(struct tracker *t);
void rearm_release(struct tracker *t);
/* Marks [first, first + count) as possibly writable: before copy_leave in a fault path, before the syscall elsewhere. */
void rearm_unprotected(struct tracker *t, uint64_t first, uint64_t count);
/*
 * With the fault paths paused: protects every marked page (and those set in `also`, a bitmap of the
 * range, or NULL) and clears the marks (moving them to since_cut). A cut (delta != NULL) also takes the pages unprotected since the previous cut: they
 * are written to delta (a bitmap of the range) and since_cut is cleared; with states != NULL, each of
 * them is set to PM_PAGE_UNCOPIED there. Returns the number of whole-range fallbacks or -errno (then
 * nothing is cleared).
 */
int rearm_paused(struct tracker *t, uint64_t *also, uint64_t *delta, int32_t *states);

#endif
