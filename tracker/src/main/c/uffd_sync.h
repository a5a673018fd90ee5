/* The uffd-sync backend's own state (uffd_sync.c): its handler threads. */
#ifndef PAGEMARK_UFFD_SYNC_H
#define PAGEMARK_UFFD_SYNC_H

#include "pagemark.h"

#include <pthread.h>
#include <stdint.h>

/* One per handler thread, alone on its cache line: the collector polls them while handlers run. */
struct handler_progress {
    _Atomic uint64_t seq; /* odd while the handler is between reading faults and committing their record */
    char pad[56];
};

struct handler_threads {
    int count;
    int stop_fd;
    int64_t spin_ns;
    _Atomic int stopping;
    _Atomic uint64_t *discards; /* one bit per page, set by UFFD_EVENT_REMOVE (the Java caller's memory), or NULL */
    pthread_t threads[PM_MAX_HANDLERS];
    struct handler_progress progress[PM_MAX_HANDLERS];
};

#endif
