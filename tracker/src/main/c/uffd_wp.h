/* UFFDIO_WRITEPROTECT for the uffd backends (uffd_wp.c): uffd-sigbus and uffd-sync share it. */
#ifndef PAGEMARK_UFFD_WP_H
#define PAGEMARK_UFFD_WP_H

#include <stdint.h>

struct tracker;

/* UFFDIO_WRITEPROTECT on [first, first + count) with `mode`: 0 or -errno (never EAGAIN or EINTR: those are retried). */
int uffd_write_protect(struct tracker *t, uint64_t first, uint64_t count, uint64_t mode);
/* A fault path's unprotect of [first, first + count): wakes the threads blocked on it unless dont_wake. */
void uffd_unprotect_in_fault(struct tracker *t, uint64_t first, uint64_t count, int dont_wake);
/* struct backend's unprotect and protect_all for both uffd backends. */
int uffd_unprotect(struct tracker *t, uint64_t first, uint64_t count);
int uffd_protect_all(struct tracker *t);

#endif
