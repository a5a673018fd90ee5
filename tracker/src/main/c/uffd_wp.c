/* UFFDIO_WRITEPROTECT, as the uffd backends' fault paths and their unprotect outside a fault use it. */
#define _GNU_SOURCE
#include "uffd_wp.h"

#include "tracker.h"

#include <errno.h>
#include <sched.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

int uffd_write_protect_serving(struct tracker *t, uint64_t first, uint64_t count, uint64_t mode,
                               void (*serve)(void *arg), void *arg) {
    struct uffdio_writeprotect wp = {
        .range = {.start = (uintptr_t)tracker_page(t, first), .len = count << t->page_shift},
        .mode = mode,
    };
    /* EAGAIN: the mm is changing under a non-cooperative event, until its message is read. */
    while (ioctl(t->uffd, UFFDIO_WRITEPROTECT, &wp) != 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return -errno;
        if (serve != NULL) serve(arg);
        sched_yield(); /* the reader may be the thread this one preempted */
    }
    return 0;
}

int uffd_write_protect(struct tracker *t, uint64_t first, uint64_t count, uint64_t mode) {
    return uffd_write_protect_serving(t, first, count, mode, NULL, NULL);
}

void uffd_unprotect_in_fault(struct tracker *t, uint64_t first, uint64_t count, int dont_wake) {
    /* ENOENT: close() unregistered the range; nothing left to do. */
    (void)uffd_write_protect(t, first, count, dont_wake ? UFFDIO_WRITEPROTECT_MODE_DONTWAKE : 0);
}

void uffd_unprotect_in_fault_serving(struct tracker *t, uint64_t first, uint64_t count, void (*serve)(void *arg), void *arg) {
    (void)uffd_write_protect_serving(t, first, count, 0, serve, arg); /* ENOENT: as above */
}

int uffd_unprotect(struct tracker *t, uint64_t first, uint64_t count) {
    return uffd_write_protect(t, first, count, 0); /* 0: clear WP and wake */
}

int uffd_protect(struct tracker *t, uint64_t first, uint64_t count) {
    return uffd_write_protect(t, first, count, UFFDIO_WRITEPROTECT_MODE_WP);
}
