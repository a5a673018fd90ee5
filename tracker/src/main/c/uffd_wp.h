/* UFFDIO_WRITEPROTECT for the uffd backends (uffd_wp.c): uffd-sigbus and uffd-sync share it. */
#ifndef PAGEMARK_UFFD_WP_H
#define PAGEMARK_UFFD_WP_H

#include <stdint.h>

struct tracker;

/*
 * UFFDIO_WRITEPROTECT on [first, first + count) with `mode`: 0 or -errno (never EAGAIN or EINTR: those
 * are retried). EAGAIN lasts while a non-cooperative event (UFFD_EVENT_REMOVE) is posted and unread:
 * each retry first calls serve(arg) (NULL: none), so a caller that is the descriptor's reader reads it.
 */
int uffd_write_protect_serving(struct tracker *t, uint64_t first, uint64_t count, uint64_t mode,
                               void (*serve)(void *arg), void *arg);
/* As uffd_write_protect_serving with nothing to serve: another thread reads the events. */
int uffd_write_protect(struct tracker *t, uint64_t first, uint64_t count, uint64_t mode);
/* A fault path's unprotect of [first, first + count): wakes the threads blocked on it unless dont_wake. */
void uffd_unprotect_in_fault(struct tracker *t, uint64_t first, uint64_t count, int dont_wake);
/* As uffd_unprotect_in_fault (waking), serving the descriptor while it retries EAGAIN. */
void uffd_unprotect_in_fault_serving(struct tracker *t, uint64_t first, uint64_t count, void (*serve)(void *arg), void *arg);
/* struct backend's unprotect and protect for both uffd backends. */
int uffd_unprotect(struct tracker *t, uint64_t first, uint64_t count);
int uffd_protect(struct tracker *t, uint64_t first, uint64_t count);
/* struct backend's protect_call_pages for both (docs/cuts.md, "Re-arm"). */
#define UFFD_PROTECT_CALL_PAGES 8

#endif
