/*
 * Producer side of Agrona's ManyToOneRingBuffer (layout in ring.h), for callers that must not run
 * Java: signal handlers and uffd handler threads. Mirrors ManyToOneRingBuffer.claimCapacity,
 * tryClaim and commit of Agrona 2.6.0 step by step, so the consumer (Agrona's read) cannot tell a
 * record written here from one written by Agrona's Java producer.
 *
 * Memory ordering. Both sides use the same x86-64 instructions for the same accesses: the Java
 * side's getLongVolatile/putLongRelease/compareAndSetLong are plain loads, plain stores and
 * LOCK CMPXCHG, as are the accesses below (atomics.h). The contract between them:
 *  - a record's length is stored last with release: the consumer's volatile load of a positive
 *    length therefore sees the type and the body written before it;
 *  - the consumer zeroes what it read, then stores head with release; the producer loads head with
 *    acquire before reusing that space, so it never writes into bytes the consumer still reads and
 *    the zeroes are in place (a zero length means "not committed yet" to the consumer).
 */
#define _GNU_SOURCE
#include "ring.h"

#include "atomics.h"
#include "clock.h"

#include <sched.h>
#include <string.h>

#define INSUFFICIENT_CAPACITY (-2)
/*
 * How long a producer waits for the consumer to make room before it spills into the bitmap. It waits
 * only while the consumer makes no progress at all; while head moves, it keeps waiting. Why not wait
 * for ever: the producer is a thread stopped in a fault (a signal handler on a Java thread, or a
 * writer blocked behind a uffd handler thread), which the JVM counts as running Java code, so no
 * safepoint can complete until it returns; the consumer is a Java thread that stops at that
 * safepoint. An unbounded wait would be a deadlock on the next GC.
 */
#define RING_FULL_WAIT_NS 200000L

static inline int32_t *int_at(struct ring *r, int32_t index) {
    return (int32_t *)(r->buffer + index);
}

static inline int64_t *position(struct ring *r, int offset) {
    return (int64_t *)(r->buffer + r->capacity + offset);
}

/* The record index claimed for `required` (aligned) bytes, or INSUFFICIENT_CAPACITY: ManyToOneRingBuffer.claimCapacity. */
static int32_t claim(struct ring *r, int32_t required) {
    const int32_t capacity = r->capacity, mask = capacity - 1;
    int64_t *tail_position = position(r, RING_TAIL_OFFSET);
    int64_t *head_cache_position = position(r, RING_HEAD_CACHE_OFFSET);
    int64_t *head_position = position(r, RING_HEAD_OFFSET);

    /* Acquire on every head load: it orders our later writes after the consumer's zeroing (see top). */
    int64_t head = load_acquire(head_cache_position);
    int64_t tail, new_tail;
    int32_t tail_index, padding, write_index;
    do {
        tail = load_acquire(tail_position);
        if (required > capacity - (int32_t)(tail - head)) {
            head = load_acquire(head_position);
            if (required > capacity - (int32_t)(tail - head)) return INSUFFICIENT_CAPACITY;
            /* The cache is a hint: release only so that it is not older than what we saw. */
            store_release(head_cache_position, head);
        }
        new_tail = tail + required;
        padding = 0;
        tail_index = (int32_t)tail & mask;
        write_index = tail_index;
        const int32_t to_buffer_end = capacity - tail_index;
        if (required > to_buffer_end) {
            /* The record does not fit before the end: pad to the end and write at index 0, if head has left room there. */
            int32_t head_index = (int32_t)head & mask;
            write_index = 0;
            if (required > head_index) {
                head = load_acquire(head_position);
                head_index = (int32_t)head & mask;
                if (required > head_index) {
                    write_index = INSUFFICIENT_CAPACITY;
                    new_tail = tail; /* claim only the padding, as Agrona does */
                }
                store_release(head_cache_position, head);
            }
            padding = to_buffer_end;
            new_tail += padding;
        }
        /* Sequentially consistent CAS, as Agrona's compareAndSetLong: the claim is the one point where producers race. */
    } while (!cas_seq_cst(tail_position, &tail, new_tail));

    if (padding != 0) {
        /* Agrona's padding record: claimed (negative length), type, then the positive length with release to publish it. */
        store_release(int_at(r, tail_index), -padding);
        fence_release();
        *int_at(r, tail_index + 4) = RING_PADDING_TYPE;
        store_release(int_at(r, tail_index), padding);
    }
    return write_index;
}

/* Sets the bits of every page of the entries: the spill path when the ring stays full. */
static void spill(struct ring *r, const uint64_t *entries, int n) {
    for (int i = 0; i < n; i++) {
        uint64_t first = entries[i] >> ENTRY_LOG2_BITS;
        uint64_t end = first + (1ULL << (entries[i] & ((1u << ENTRY_LOG2_BITS) - 1)));
        if (end > r->pages) end = r->pages;
        for (uint64_t page = first; page < end;) {
            uint64_t word_end = (page | 63) + 1, stop = end < word_end ? end : word_end;
            uint64_t bits = (stop - page == 64 ? ~0ULL : ((1ULL << (stop - page)) - 1)) << (page & 63);
            /* Release: the unprotect that preceded this record is ordered before the bit. */
            or_release(&r->spill[page >> 6], bits);
            page = stop;
        }
    }
    /* After the bits, with release: a collector that sees the new count (acquire) sees the bits. */
    add_release(&r->spills, (uint64_t)n);
}

void ring_init(struct ring *r, uint8_t *buffer, int32_t capacity, uint64_t *spill, uint64_t pages) {
    memset(r, 0, sizeof *r);
    r->buffer = buffer;
    r->capacity = capacity;
    r->spill = spill;
    r->pages = pages;
    r->gave_up_at_head = -1;
}

void ring_record(struct ring *r, const uint64_t *entries, int n) {
    const int32_t record_length = RING_RECORD_HEADER + 8 * n; /* already a multiple of the 8-byte alignment */
    int32_t index = claim(r, record_length);
    if (index < 0) {
        add_relaxed(&r->full_waits, 1);
        int64_t *head_position = position(r, RING_HEAD_OFFSET);
        int64_t seen_head = load_acquire(head_position);
        /* Relaxed: only a hint whether to wait; the bitmap is correct whichever way it goes. */
        if (seen_head == load_relaxed(&r->gave_up_at_head)) {
            spill(r, entries, n); /* another producer already waited here for nothing */
            return;
        }
        int64_t since = monotonic_ns();
        while ((index = claim(r, record_length)) < 0) {
            int64_t head = load_acquire(head_position);
            if (head != seen_head) {
                seen_head = head; /* the consumer is draining: keep waiting */
                since = monotonic_ns();
            } else if (monotonic_ns() - since > RING_FULL_WAIT_NS) {
                store_relaxed(&r->gave_up_at_head, seen_head);
                spill(r, entries, n);
                return;
            }
            sched_yield();
        }
    }
    /* tryClaim: mark the space claimed (negative length) before anything else is written into it. */
    store_release(int_at(r, index), -record_length);
    fence_release();
    *int_at(r, index + 4) = FAULT_RECORD_TYPE;
    memcpy(r->buffer + index + RING_RECORD_HEADER, entries, (size_t)n * 8);
    /* commit: the positive length, with release, publishes the type and body to the consumer's volatile load. */
    store_release(int_at(r, index), record_length);
}
