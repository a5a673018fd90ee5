/*
 * Test-only native code (built into target/test-classes, never shipped):
 *  - producers on C threads appending to a fault ring with the production producer (ring.c), for
 *    the Agrona interop tests;
 *  - a slow uffd-sync handler thread with either fault-path order (unprotect then record, or the
 *    reverse), to show that the pause is harmless and the reversed order is what loses writes.
 */
#define _GNU_SOURCE
#include "ring.h"

#include <errno.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

/* ---- producers ---- */

struct producers {
    struct ring ring;
    int threads, records, max_entries;
    uint64_t pages_per_thread;
    pthread_t ids[64];
    int indexes[64];
};

struct producer_arg {
    struct producers *p;
    int index;
};

/*
 * Producer `index` writes `records` records; record r carries 1 + r % max_entries entries naming
 * consecutive single pages, so together the threads name every page of [0, threads * pages_per_thread)
 * exactly once, each thread in increasing order.
 */
static void *produce(void *arg) {
    struct producer_arg a = *(struct producer_arg *)arg;
    free(arg);
    uint64_t page = (uint64_t)a.index * a.p->pages_per_thread;
    uint64_t entries[RING_MAX_ENTRIES];
    for (int r = 0; r < a.p->records; r++) {
        int n = 1 + r % a.p->max_entries;
        for (int i = 0; i < n; i++) entries[i] = (page++) << ENTRY_LOG2_BITS;
        ring_record(&a.p->ring, entries, n);
    }
    return NULL;
}

/* Pages named by one producer writing `records` records of 1 + r % max_entries entries. */
EXPORT uint64_t pmt_pages_per_producer(int records, int max_entries) {
    uint64_t pages = 0;
    for (int r = 0; r < records; r++) pages += 1 + r % max_entries;
    return pages;
}

EXPORT void *pmt_producers_start(uint8_t *buffer, int32_t capacity, uint64_t *spill, int threads, int records, int max_entries) {
    if (threads < 1 || threads > 64 || max_entries < 1 || max_entries > RING_MAX_ENTRIES) return NULL;
    struct producers *p = calloc(1, sizeof *p);
    p->threads = threads;
    p->records = records;
    p->max_entries = max_entries;
    p->pages_per_thread = pmt_pages_per_producer(records, max_entries);
    ring_init(&p->ring, buffer, capacity, spill, p->pages_per_thread * (uint64_t)threads);
    for (int i = 0; i < threads; i++) {
        struct producer_arg *a = malloc(sizeof *a);
        a->p = p;
        a->index = i;
        pthread_create(&p->ids[i], NULL, produce, a);
    }
    return p;
}

/* Joins the producers; counters[0] = records that found the ring full, counters[1] = entries spilled. */
EXPORT void pmt_producers_join(void *handle, uint64_t *counters) {
    struct producers *p = handle;
    for (int i = 0; i < p->threads; i++) pthread_join(p->ids[i], NULL);
    counters[0] = __atomic_load_n(&p->ring.full_waits, __ATOMIC_ACQUIRE);
    counters[1] = __atomic_load_n(&p->ring.spills, __ATOMIC_ACQUIRE);
    free(p);
}

/* ---- a slow uffd-sync handler, in either order ---- */

struct slow_handler {
    struct ring ring;
    int uffd;
    uint64_t start;
    int page_shift;
    long pause_ns;
    int record_first;
    _Atomic int stop;
    pthread_t thread;
};

static void record(struct slow_handler *h, uint64_t page) {
    uint64_t entry = page << ENTRY_LOG2_BITS;
    ring_record(&h->ring, &entry, 1);
}

static void unprotect(struct slow_handler *h, uint64_t page, int wake) {
    struct uffdio_writeprotect wp = {
        .range = {.start = h->start + (page << h->page_shift), .len = 1UL << h->page_shift},
        .mode = wake ? 0 : UFFDIO_WRITEPROTECT_MODE_DONTWAKE,
    };
    while (ioctl(h->uffd, UFFDIO_WRITEPROTECT, &wp) != 0 && errno == EAGAIN) {
    }
}

static void wake(struct slow_handler *h, uint64_t page) {
    struct uffdio_range range = {.start = h->start + (page << h->page_shift), .len = 1UL << h->page_shift};
    ioctl(h->uffd, UFFDIO_WAKE, &range);
}

static void *slow_main(void *arg) {
    struct slow_handler *h = arg;
    struct uffd_msg msg;
    struct pollfd fd = {.fd = h->uffd, .events = POLLIN};
    struct timespec pause = {0, h->pause_ns};
    while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE)) {
        if (read(h->uffd, &msg, sizeof msg) != sizeof msg) {
            poll(&fd, 1, 10);
            continue;
        }
        if (msg.event != UFFD_EVENT_PAGEFAULT) continue;
        uint64_t page = (msg.arg.pagefault.address - h->start) >> h->page_shift;
        /*
         * The pause stands for a handler preempted between its two steps. Either way the writer
         * resumes only at the end (this handler has none of the production handler's progress
         * counters that a collect waits for), so the order of the two steps is the only difference.
         */
        if (h->record_first) {
            record(h, page); /* WRONG ORDER, on purpose */
            nanosleep(&pause, NULL);
            unprotect(h, page, 1);
        } else {
            unprotect(h, page, 0);
            nanosleep(&pause, NULL);
            record(h, page);
            wake(h, page);
        }
    }
    return NULL;
}

EXPORT void *pmt_slow_handler_start(int uffd, uint64_t start, uint64_t pages, uint64_t page_size, uint8_t *buffer,
                                    int32_t capacity, uint64_t *spill, long pause_ns, int record_first) {
    struct slow_handler *h = calloc(1, sizeof *h);
    ring_init(&h->ring, buffer, capacity, spill, pages);
    h->uffd = uffd;
    h->start = start;
    h->page_shift = __builtin_ctzll(page_size);
    h->pause_ns = pause_ns;
    h->record_first = record_first;
    pthread_create(&h->thread, NULL, slow_main, h);
    return h;
}

EXPORT void pmt_slow_handler_stop(void *handle) {
    struct slow_handler *h = handle;
    __atomic_store_n(&h->stop, 1, __ATOMIC_RELEASE);
    pthread_join(h->thread, NULL);
    free(h);
}

/* ---- one record, on the calling thread ---- */

/* Appends one record with the production producer; returns the entries it had to spill (0 unless the ring stayed full). */
EXPORT uint64_t pmt_record(uint8_t *buffer, int32_t capacity, uint64_t *spill, uint64_t pages, const uint64_t *entries, int n) {
    struct ring ring;
    ring_init(&ring, buffer, capacity, spill, pages);
    ring_record(&ring, entries, n);
    return __atomic_load_n(&ring.spills, __ATOMIC_ACQUIRE);
}
