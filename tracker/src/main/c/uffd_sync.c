/*
 * The uffd-sync backend: a write to a write-protected page blocks the writer in the kernel and queues
 * a uffd_msg; native handler threads read the messages, unprotect (which wakes the writer) and record.
 * Each handler keeps a progress count that is odd between the two, which collect() waits on, so that a
 * write that completed before a collect is in that collect (tracker/README.md).
 */
#define _GNU_SOURCE
#include "tracker.h"

#include "atomics.h"
#include "clock.h"
#include "pagemark.h"
#include "uffd_wp.h"

#include <errno.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

static const struct backend uffd_sync_backend;

struct handler_start {
    struct tracker *t;
    int index;
};

/* Resolves a batch of faults: every one unprotected (waking its thread) before the one record of them all. */
static void resolve(struct tracker *t, struct handler_progress *progress, const struct uffd_msg *msgs, int n) {
    uint64_t entries[RING_MAX_ENTRIES];
    int recorded = 0;
    /*
     * Odd from before the first unprotect until after the commit. Sequentially consistent, and the
     * ioctl below is a full barrier anyway: a writer can only resume (and tell a collector it wrote)
     * after this store is visible, so a collector that started later sees us mid-batch and waits.
     */
    add_seq_cst(&progress->seq, 1);
    int block_log2 = load_relaxed(&t->current_block_log2);
    const int copy = copy_enter(t) == COPY_LIVE;
    for (int i = 0; i < n; i++) {
        if (msgs[i].event != UFFD_EVENT_PAGEFAULT) continue;
        uint64_t first, count;
        entries[recorded++] = tracker_block(t, (uintptr_t)msgs[i].arg.pagefault.address, block_log2, &first, &count);
        if (copy) copy_block(t, first, count);
        add_relaxed(&t->faults, 1); /* before the wake, so a writer that resumed sees itself counted */
        uffd_unprotect_in_fault(t, first, count, 0);
    }
    copy_leave(t);
    if (recorded > 0) ring_record(&t->ring, entries, recorded); /* after the unprotects: see tracker.c */
    /* Release: the commit above happens before a collector sees the even count (acquire). */
    add_release(&progress->seq, 1);
}

static void *handler_main(void *arg) {
    struct handler_start start = *(struct handler_start *)arg;
    free(arg);
    struct tracker *t = start.t;
    struct handler_threads *handlers = &t->handlers;
    struct handler_progress *progress = &handlers->progress[start.index];
    struct uffd_msg msgs[RING_MAX_ENTRIES];
    struct pollfd fds[2] = {{.fd = t->uffd, .events = POLLIN}, {.fd = handlers->stop_fd, .events = POLLIN}};
    int64_t idle_since = -1;
    while (!load_acquire(&handlers->stopping)) {
        /* The uffd is non-blocking: several handlers may race for the same message, losers get EAGAIN. */
        ssize_t got = read(t->uffd, msgs, sizeof msgs);
        if (got > 0) {
            resolve(t, progress, msgs, (int)(got / (ssize_t)sizeof msgs[0]));
            idle_since = -1;
            continue;
        }
        if (got < 0 && errno != EAGAIN && errno != EINTR) break; /* the uffd is gone: nothing left to serve */
        if (handlers->spin_ns > 0) {
            /* Spin a while before sleeping: a fault arriving meanwhile costs no wake-up. */
            int64_t now = monotonic_ns();
            if (idle_since < 0) idle_since = now;
            if (now - idle_since < handlers->spin_ns) continue;
        }
        idle_since = -1;
        if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
    }
    return NULL;
}

int pm_handlers_start(struct tracker *t, int count, int64_t spin_ns, int pin_to_cpus) {
    struct handler_threads *handlers = &t->handlers;
    if (t->backend != &uffd_sync_backend || count < 1 || count > PM_MAX_HANDLERS || handlers->count != 0) return -EINVAL;
    handlers->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (handlers->stop_fd < 0) return -errno;
    handlers->spin_ns = spin_ns;
    /* Handler threads take no asynchronous signals: those are the JVM's, for its own threads. */
    pthread_attr_t attr;
    sigset_t all;
    sigfillset(&all);
    pthread_attr_init(&attr);
    pthread_attr_setsigmask_np(&attr, &all);
    /* Pinning picks among the CPUs this process may run on (a container's cpuset, taskset), in order. */
    cpu_set_t allowed;
    int allowed_cpus[CPU_SETSIZE], cpus = 0;
    if (pin_to_cpus && sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
        for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) if (CPU_ISSET(cpu, &allowed)) allowed_cpus[cpus++] = cpu;
    }
    int error = 0;
    for (int i = 0; i < count && error == 0; i++) {
        struct handler_start *start = malloc(sizeof *start);
        if (start == NULL) {
            error = ENOMEM;
            break;
        }
        start->t = t;
        start->index = i;
        if (cpus > 0) {
            cpu_set_t cpu;
            CPU_ZERO(&cpu);
            CPU_SET(allowed_cpus[i % cpus], &cpu);
            pthread_attr_setaffinity_np(&attr, sizeof cpu, &cpu);
        }
        error = pthread_create(&handlers->threads[i], &attr, handler_main, start);
        if (error != 0) {
            free(start);
        } else {
            pthread_setname_np(handlers->threads[i], "pagemark-uffd");
            handlers->count++;
        }
    }
    pthread_attr_destroy(&attr);
    if (error != 0) {
        pm_handlers_stop(t);
        return -error;
    }
    return 0;
}

void pm_handlers_stop(struct tracker *t) {
    struct handler_threads *handlers = &t->handlers;
    store_release(&handlers->stopping, 1);
    if (handlers->stop_fd >= 0) {
        uint64_t one = 1;
        while (write(handlers->stop_fd, &one, sizeof one) < 0 && errno == EINTR) {
        }
    }
    for (int i = 0; i < handlers->count; i++) pthread_join(handlers->threads[i], NULL);
    handlers->count = 0;
    if (handlers->stop_fd >= 0) close(handlers->stop_fd);
    handlers->stop_fd = -1;
}

void pm_handlers_snapshot(struct tracker *t, uint64_t *snapshot) {
    for (int i = 0; i < t->handlers.count; i++) snapshot[i] = load_acquire(&t->handlers.progress[i].seq);
}

int pm_handlers_passed(struct tracker *t, const uint64_t *snapshot) {
    for (int i = 0; i < t->handlers.count; i++) {
        /* Acquire: a changed count means the batch it was in is committed to the ring. */
        if ((snapshot[i] & 1) != 0 && load_acquire(&t->handlers.progress[i].seq) == snapshot[i]) return 0;
    }
    return 1;
}

static const struct backend uffd_sync_backend = {
    .name = "uffd-sync",
    .fault_signal = 0, /* faults arrive as messages to the handler threads above */
    .unprotect = uffd_unprotect,
    .protect_all = uffd_protect_all,
};
PM_BACKEND(uffd_sync_backend);
