/* The mprotect backend's own state (mprotect.c, vma_count.c): which pages are writable, and the VMAs that makes. */
#ifndef PAGEMARK_MPROTECT_H
#define PAGEMARK_MPROTECT_H

#include <stdint.h>

struct mprotect_state {
    /*
     * One bit per page, set while the page is writable; one bit per bitmap word k >= 1, whether the pages
     * either side of that word's start differ, as counted; and the VMA boundaries the writable pages make
     * inside the range (every place a writable page borders a read-only one starts a new VMA): vma_count.c.
     */
    uint64_t *writable; /* accessed with the __atomic builtins (atomics.h) */
    uint64_t *edges;
    _Atomic int64_t boundaries;
    _Atomic uint64_t hole_cursor;       /* the bitmap word where the last search for a hole stopped */
    _Atomic uint64_t degradations;      /* faults that unprotected more than their run to stay under vm.max_map_count */
    _Atomic uint64_t joined_pages;      /* the pages those faults unprotected (and reported) beyond their runs */
    _Atomic uint64_t unprotect_retries; /* unprotects refused (ENOMEM) at the whole range, retried */
};

#endif
