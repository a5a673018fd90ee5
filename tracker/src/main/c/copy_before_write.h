/*
 * Copy-before-write, the fault paths' side (copy_before_write.c): while it is on, a fault path copies
 * every page of its block that is still UNCOPIED into the image before it unprotects the block, so the
 * image holds each page as it was when copying started. Every fault path runs
 *
 *     phase = copy_enter(t);             before it decides what to unprotect
 *     if (phase == COPY_LIVE) copy_block(t, first, count);
 *     ...unprotect...
 *     copy_leave(t);                     after the unprotect, before the record
 *
 * and pm_copy_before_write_start/stop (pagemark.h) switch the phase with no fault path in between.
 */
#ifndef PAGEMARK_COPY_BEFORE_WRITE_H
#define PAGEMARK_COPY_BEFORE_WRITE_H

#include <stdint.h>

struct tracker;

/*
 * Phases. OFF: fault paths only unprotect and record. LIVE: they first copy every UNCOPIED page of
 * their block into the image. PAUSED: new fault paths wait until the phase changes (only while start
 * or stop switch, for as long as protecting the range takes).
 */
enum { COPY_OFF, COPY_PAUSED, COPY_LIVE };

struct copy_before_write {
    _Atomic int phase;
    _Atomic int64_t in_fault;     /* fault paths past their phase check and not yet past their unprotect */
    _Atomic int32_t *states;      /* one PM_PAGE_* per page; set while PAUSED, read by fault paths that saw LIVE */
    uint8_t *image;
    _Atomic uint64_t pages_copied;
};

/* Enters a fault path: returns the phase it runs in, COPY_OFF or COPY_LIVE (waits out COPY_PAUSED). */
int copy_enter(struct tracker *t);
/*
 * As copy_enter, calling serve(arg) while it waits out COPY_PAUSED: a uffd-sync handler keeps reading
 * its userfaultfd meanwhile, because the protect that start or stop runs while paused retries EAGAIN
 * until someone reads the non-cooperative event (UFFD_EVENT_REMOVE) in flight (uffd_sync.c).
 */
int copy_enter_serving(struct tracker *t, void (*serve)(void *arg), void *arg);
/* Phase LIVE: copies every UNCOPIED page of [first, first + count) into the image, and waits out pages being copied. */
void copy_block(struct tracker *t, uint64_t first, uint64_t count);
/* Leaves a fault path, after its unprotect. */
void copy_leave(struct tracker *t);

#endif
