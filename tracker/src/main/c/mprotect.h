/* The mprotect backend's own state (mprotect.c): which pages are writable, and the VMAs that makes. */
#ifndef PAGEMARK_MPROTECT_H
#define PAGEMARK_MPROTECT_H

#include <stdint.h>

struct mprotect_state {
    /*
     * One bit per page, set while the page is writable, and the VMA boundaries that makes inside the
     * range (every place a writable page borders a read-only one starts a new VMA).
     */
    uint64_t *writable;
    _Atomic int64_t boundaries;
    _Atomic uint64_t degradations;      /* times the block was raised near vm.max_map_count */
    _Atomic uint64_t unprotect_retries; /* unprotects refused (ENOMEM) at the whole range, retried */
};

#endif
