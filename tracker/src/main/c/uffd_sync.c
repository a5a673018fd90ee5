/*
 * The uffd-sync backend: a write to a write-protected page blocks the writer in the kernel and queues
 * a uffd_msg; native handler threads read the messages, unprotect (which wakes the writer) and record.
 * Each handler keeps a progress count that is odd between the two, which collect() waits on, so that a
 * write that completed before a collect is in that collect (tracker/README.md). The same threads read
 * the descriptor's UFFD_EVENT_REMOVE events (docs/discards.md); under uffd-sigbus, they are all they read.
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
#include <string.h>
#include <unistd.h>

struct handler_start {
    struct tracker *t;
    int index;
};

/*
 * The messages a handler holds: the batch it read (RING_MAX_ENTRIES at most), then what it reads while
 * it cannot go on (serve, below). Every writer blocked in a fault has one message, so this bounds the
 * writers that may be queued ahead of an event while a single handler waits for that event.
 */
#define HELD_MESSAGES (16 * RING_MAX_ENTRIES)

struct held {
    struct tracker *t;
    int count;
    int next; /* the first page fault not yet resolved: those before it are done with (events are not held: read_more) */
    int gone; /* a read failed with an error other than EAGAIN or EINTR: the uffd is closed */
    struct uffd_msg msgs[HELD_MESSAGES];
};

/*
 * UFFD_EVENT_REMOVE: MADV_DONTNEED, MADV_FREE or MADV_REMOVE on [start, end) of the range, about to
 * empty it (the kernel zaps the pages after this message is read). Its pages are set in the
 * discard bitmap; the collector reports them until it sees them emptied (UffdFaultTracker), since the
 * emptying itself comes after this, and a write to an emptied page raises no write-protect fault.
 * Relaxed: the handler's progress count, incremented with release after this, publishes the bits.
 */
static void mark_discarded(struct tracker *t, uint64_t start, uint64_t end) {
    _Atomic uint64_t *bitmap = t->handlers.discards;
    const uint64_t range_end = t->start + (t->pages << t->page_shift);
    if (bitmap == NULL || end <= t->start || start >= range_end) return;
    if (start < t->start) start = t->start;
    if (end > range_end) end = range_end;
    /* Marked for the next re-arm before the kernel empties them (it does once this message is read): rearm.h. */
    const uint64_t first_page = (start - t->start) >> t->page_shift;
    rearm_unprotected(t, first_page, ((end - t->start + (1ULL << t->page_shift) - 1) >> t->page_shift) - first_page);
    const uint64_t page_mask = (1ULL << t->page_shift) - 1;
    uint64_t page = (start - t->start) >> t->page_shift;
    const uint64_t stop = (end - t->start + page_mask) >> t->page_shift;
    while (page < stop) {
        uint64_t bits = stop - page < 64 - (page & 63) ? stop - page : 64 - (page & 63);
        uint64_t mask = (bits == 64 ? ~0ULL : ((1ULL << bits) - 1)) << (page & 63);
        or_relaxed(&bitmap[page >> 6], mask);
        page += bits;
    }
}

/* Reads what the descriptor holds, as far as there is room: events are handled at once, page faults kept. */
static void read_more(struct held *h, int room) {
    if (h->count == HELD_MESSAGES && h->next > 0) {
        /*
         * Full: drop what is done with. A batch lasts as long as its unprotects keep meeting EAGAIN,
         * while the writers they wake fault again; without this the messages pile up until no room
         * is left to read the event that every EAGAIN is waiting for.
         */
        memmove(h->msgs, h->msgs + h->next, (size_t)(h->count - h->next) * sizeof h->msgs[0]);
        h->count -= h->next;
        h->next = 0;
    }
    if (room > HELD_MESSAGES - h->count) room = HELD_MESSAGES - h->count;
    if (room <= 0) return;
    ssize_t got = read(h->t->uffd, h->msgs + h->count, (size_t)room * sizeof h->msgs[0]);
    if (got <= 0) {
        if (got < 0 && errno != EAGAIN && errno != EINTR) h->gone = 1;
        return;
    }
    int n = (int)(got / (ssize_t)sizeof h->msgs[0]);
    /*
     * Events are handled here and not kept: only page faults stay held. Kept events would fill the
     * room while one unprotect meets EAGAIN again and again (writers that discard in a loop keep an
     * event pending most of the time), until no room is left to read the event it waits for.
     */
    int kept = h->count;
    for (int i = h->count; i < h->count + n; i++) {
        if (h->msgs[i].event == UFFD_EVENT_REMOVE) mark_discarded(h->t, h->msgs[i].arg.remove.start, h->msgs[i].arg.remove.end);
        if (h->msgs[i].event != UFFD_EVENT_PAGEFAULT) continue;
        if (kept != i) h->msgs[kept] = h->msgs[i];
        kept++;
    }
    h->count = kept;
}

/*
 * Called while this handler cannot go on: its unprotect gets EAGAIN (an event is posted and unread),
 * or copy-before-write is paused by a start whose protect gets EAGAIN for the same reason. The event
 * waits for a reader, and this handler may be the only one: so it reads, or nobody moves (the
 * madvise caller, the protect, and the writers behind them). Page faults read here are resolved
 * after the ones in hand, in the same batch.
 */
static void serve(void *arg) {
    read_more(arg, HELD_MESSAGES);
}

/*
 * Resolves the page faults held, RING_MAX_ENTRIES at a time: every one of a chunk unprotected
 * (waking its thread) before the one record of them all (one entry per run: its window or block). Messages that serve reads meanwhile join the batch.
 */
static void resolve(struct held *h) {
    struct tracker *t = h->t;
    uint64_t entries[RING_MAX_ENTRIES];
    h->next = 0;
    for (;;) {
        if (h->next == h->count) return;
        int block_log2 = load_relaxed(&t->current_block_log2);
        const int copy = copy_enter_serving(t, serve, h) == COPY_LIVE;
        const int record = tracker_recording(t);
        int recorded = 0;
        /* h->next, not a local: serve may move the messages not yet resolved to the front (read_more). */
        for (; h->next < h->count && recorded < RING_MAX_ENTRIES; h->next++) {
            uint64_t first, count, run[RING_MAX_ENTRIES];
            /* The writer's thread id: UFFD_FEATURE_THREAD_ID (requested where offered, else 0). */
            fault_run(t, (uintptr_t)h->msgs[h->next].arg.pagefault.address, h->msgs[h->next].arg.pagefault.feat.ptid, block_log2,
                      &first, &count);
            if (copy) copy_block(t, first, count);
            add_relaxed(&t->faults, 1); /* before the wake, so a writer that resumed sees itself counted */
            uffd_unprotect_in_fault_serving(t, first, count, serve, h);
            rearm_unprotected(t, first, count);
            int m = record ? fault_run_entries(t, first, count, run) : 0;
            /* A run of several entries (a window recorded short: tests only) may not fit: record what is unprotected so far. */
            if (recorded + m > RING_MAX_ENTRIES) {
                ring_record(&t->ring, entries, recorded);
                recorded = 0;
            }
            for (int e = 0; e < m; e++) entries[recorded++] = run[e];
        }
        copy_leave(t);
        if (recorded > 0) ring_record(&t->ring, entries, recorded); /* after the unprotects: see tracker.c */
    }
}

static void *handler_main(void *arg) {
    struct handler_start start = *(struct handler_start *)arg;
    free(arg);
    struct tracker *t = start.t;
    struct handler_threads *handlers = &t->handlers;
    struct handler_progress *progress = &handlers->progress[start.index];
    struct held held = {.t = t};
    struct held *h = &held;
    struct pollfd fds[2] = {{.fd = t->uffd, .events = POLLIN}, {.fd = handlers->stop_fd, .events = POLLIN}};
    int64_t idle_since = -1;
    while (!load_acquire(&handlers->stopping)) {
        /*
         * Odd from before the read until every fault read is recorded and every event marked.
         * Sequentially consistent, before the read: a writer resumes (and may tell a collector it
         * wrote) only after our unprotect, and a madvise caller returns only after our read took its
         * event, so a collect that starts after either sees this handler mid-batch and waits for it.
         */
        add_seq_cst(&progress->seq, 1);
        h->count = 0;
        h->next = 0;
        read_more(h, RING_MAX_ENTRIES); /* the uffd is non-blocking: handlers race for messages, losers get EAGAIN */
        int got = h->count;
        if (got > 0) resolve(h);
        /* Release: the ring commits and discard bits above happen before a collector sees the even count (acquire). */
        add_release(&progress->seq, 1);
        if (got > 0) {
            idle_since = -1;
            continue;
        }
        if (h->gone) break; /* nothing left to serve */
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

int pm_handlers_start(struct tracker *t, int count, int64_t spin_ns, int pin_to_cpus, uint64_t *discards) {
    struct handler_threads *handlers = &t->handlers;
    if (t->uffd < 0 || count < 1 || count > PM_MAX_HANDLERS || handlers->count != 0) return -EINVAL;
    handlers->discards = (_Atomic uint64_t *)discards;
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
    .protect = uffd_protect,
    .protect_call_pages = UFFD_PROTECT_CALL_PAGES,
};
PM_BACKEND(uffd_sync_backend);
