/*
 * The fault-record ring: the producer side of an Agrona ManyToOneRingBuffer, written in C so that
 * signal handlers and uffd handler threads can append records without running Java code.
 *
 * Layout and protocol, checked against Agrona 2.6.0 (org.agrona.concurrent.ringbuffer:
 * RingBufferDescriptor, RecordDescriptor, ManyToOneRingBuffer.claimCapacity/tryClaim/commit):
 *
 *   buffer[0, capacity)          records; capacity is a power of two
 *   buffer[capacity + 128]       int64 tail position      (producers CAS it to claim space)
 *   buffer[capacity + 256]       int64 head cache position (producers' cached copy of head)
 *   buffer[capacity + 384]       int64 head position      (the consumer advances it after reading)
 *   buffer[capacity + 512, +768) correlation counter, consumer heartbeat: unused here
 *
 *   record at index i (8-byte aligned):
 *     int32 length at i      <= 0 while claimed or free, header + body length once committed
 *     int32 type   at i + 4  PADDING_MSG_TYPE_ID (-1) pads to the buffer end; FAULT_RECORD_TYPE here
 *     body         at i + 8  int64 entries (below), little endian
 *
 * A body entry names an aligned block of pages of the tracked region:
 *     entry = (first page index << ENTRY_LOG2_BITS) | log2(pages in the block)
 * where the block is clipped to the region's end. One record carries 1 .. max_entries entries.
 *
 * The Java side reads with Agrona's own ManyToOneRingBuffer.read (see io.pagemark.backend.FaultRing).
 * These constants are the one source of the layout: pm_ring_layout exports them, and the Java loader
 * (io.pagemark.nativelib.RingLayout) refuses a library whose layout differs from Agrona's descriptor.
 */
#ifndef PAGEMARK_RING_H
#define PAGEMARK_RING_H

#include <stdint.h>

#define RING_TRAILER_LENGTH 768
#define RING_TAIL_OFFSET 128
#define RING_HEAD_CACHE_OFFSET 256
#define RING_HEAD_OFFSET 384
#define RING_RECORD_HEADER 8
#define RING_RECORD_ALIGNMENT 8
#define RING_PADDING_TYPE (-1)
#define FAULT_RECORD_TYPE 1
#define ENTRY_LOG2_BITS 6
/* Agrona's maxMsgLength is capacity / 8; records of at most this many entries fit in the smallest ring. */
#define RING_MAX_ENTRIES 64
#define RING_MIN_CAPACITY 4096

struct ring {
    uint8_t *buffer;     /* capacity bytes of records, then the trailer */
    int32_t capacity;
    /*
     * Where entries go when the ring stays full (no consumer progress for RING_FULL_WAIT_NS): one
     * bit per page of the region, set with an atomic OR, harvested by the collector. Never a lost
     * record, never an unbounded wait (see ring_record).
     */
    uint64_t *spill;
    uint64_t pages;
    _Atomic uint64_t spills;     /* entries spilled; the collector harvests the bitmap when it changes */
    /*
     * The head position at which a producer last gave up waiting for the consumer (-1: none yet).
     * While head is still there the consumer is not draining, and later producers that find the ring
     * full spill at once instead of each waiting again.
     */
    _Atomic int64_t gave_up_at_head;
    _Atomic uint64_t full_waits; /* records that found the ring full at first */
};

/* A ring over `buffer` (capacity bytes of records, then the trailer, zeroed) and the spill bitmap of `pages` pages. */
void ring_init(struct ring *r, uint8_t *buffer, int32_t capacity, uint64_t *spill, uint64_t pages);

/* Appends one record of n entries (1 <= n <= RING_MAX_ENTRIES). Async-signal-safe, lock-free, no allocation. */
void ring_record(struct ring *r, const uint64_t *entries, int n);

#endif
