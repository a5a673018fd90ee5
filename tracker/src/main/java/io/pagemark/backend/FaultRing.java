package io.pagemark.backend;

import io.pagemark.linux.Libc;
import io.pagemark.nativelib.RingLayout;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.MessageHandler;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The consumer side of a native tracker's fault records: an Agrona {@link ManyToOneRingBuffer} in
 * off-heap memory that C producers (signal handlers, uffd handler threads) append to, read here with
 * Agrona's own {@link ManyToOneRingBuffer#read}, plus the spill bitmap producers fall back to when the
 * ring stays full. The layout and the producer's protocol are in {@code tracker/src/main/c/ring.h}
 * (checked against Agrona 2.6.0; the library loader checks the C side's layout against Agrona's
 * descriptor, {@link RingLayout}).
 * <p>
 * A record's body is a list of entries, each an aligned block of pages:
 * {@code (first page << 6) | log2(pages)}, clipped to the region's end.
 * <p>
 * Capacity: by default large enough that one epoch (arm or collect to the next collect) cannot
 * fill it, since a page is recorded again only after a collect re-protects it: 16 bytes per page
 * (a one-entry record), plus 64 KiB for faults that hit one page on several threads at once, rounded
 * up to a power of two. A smaller ring (the caller's choice) makes producers wait while the
 * collector drains; when the collector makes no progress for 200 µs, they spill into the bitmap
 * instead of waiting longer (a producer is a thread stopped in a fault, which holds up every JVM
 * safepoint, and the collector is a Java thread that stops at safepoints). Nothing is ever dropped.
 * <p>
 * One collecting thread at a time (the tracker's collect lock).
 */
public final class FaultRing implements AutoCloseable {
    /** A fault record's type (the layout is checked against the C at load: {@link RingLayout}). */
    public static final int RECORD_TYPE = RingLayout.RECORD_TYPE;
    /** Bits of an entry that hold log2 of the block's page count. */
    public static final int ENTRY_LOG2_BITS = RingLayout.ENTRY_LOG2_BITS;
    /** The most entries a producer puts in one record. */
    public static final int MAX_ENTRIES_PER_RECORD = RingLayout.MAX_ENTRIES_PER_RECORD;
    /** The smallest ring a caller may configure: a record of the most entries fits Agrona's maxMsgLength. */
    public static final int MIN_CAPACITY = RingLayout.MIN_CAPACITY;
    /** The largest ring (Agrona indexes it with an int). */
    public static final int MAX_CAPACITY = 1 << 30;


    private final long pageCount;
    private final int capacity;
    private final long ringAddress;
    private final long ringBytes;
    private final MemorySegment ringMemory;
    private final long spillAddress;
    private final long spillBytes;
    private final MemorySegment spill;
    private final ManyToOneRingBuffer ring;
    private final EntryDecoder decoder = new EntryDecoder();
    private long spilledEntriesHarvested;
    private boolean closed;

    /**
     * Maps a ring of {@code capacity} bytes (a power of two in [{@link #MIN_CAPACITY}, {@link #MAX_CAPACITY}])
     * and a spill bitmap for a region of {@code pageCount} pages.
     */
    public FaultRing(long pageCount, int capacity) {
        if (Integer.bitCount(capacity) != 1 || capacity < MIN_CAPACITY || capacity > MAX_CAPACITY) {
            throw new IllegalArgumentException("ring capacity must be a power of two between " + MIN_CAPACITY + " and "
                    + MAX_CAPACITY + " bytes, got " + capacity);
        }
        this.pageCount = pageCount;
        this.capacity = capacity;
        this.ringBytes = capacity + (long) RingBufferDescriptor.TRAILER_LENGTH;
        // Fresh anonymous memory is zeroed: Agrona's "no record here yet" state.
        this.ringAddress = Libc.mmapAnonymous(ringBytes, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_NORESERVE);
        this.spillBytes = ((pageCount + 63) >>> 6) * Long.BYTES;
        long spillAt;
        try {
            spillAt = Libc.mmapAnonymous(spillBytes, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_NORESERVE);
        } catch (RuntimeException e) {
            Libc.munmap(ringAddress, ringBytes);
            throw e;
        }
        this.spillAddress = spillAt;
        this.ringMemory = MemorySegment.ofAddress(ringAddress).reinterpret(ringBytes);
        this.spill = MemorySegment.ofAddress(spillAddress).reinterpret(spillBytes);
        this.ring = new ManyToOneRingBuffer(new UnsafeBuffer(ringAddress, (int) ringBytes));
    }

    /** The default capacity for a region of {@code pageCount} pages (see the class comment). */
    public static int defaultCapacity(long pageCount) {
        long wanted = 16 * pageCount + 65536;
        return wanted >= MAX_CAPACITY ? MAX_CAPACITY : Integer.highestOneBit((int) wanted - 1) << 1;
    }

    /** The ring's memory (records, then Agrona's trailer): what the C producers write. */
    public MemorySegment buffer() {
        return ringMemory;
    }

    /** The ring's capacity in bytes, without the trailer. */
    public int capacity() {
        return capacity;
    }

    /** The spill bitmap: one bit per page of the region. */
    public MemorySegment spillBitmap() {
        return spill;
    }

    /** Agrona's view of the ring. */
    ManyToOneRingBuffer ring() {
        return ring;
    }

    /**
     * Adds to {@code pages} every entry whose record was claimed before this call, and every page
     * spilled, and returns how many entries (records' entries plus spilled entries) that was.
     * <p>
     * "Claimed before this call": the tail position is read first (a volatile read, ordered after
     * whatever made the caller collect), and the ring is read until head reaches it. A producer
     * commits within a few instructions of its claim, so waiting for a claimed record is short; a
     * fault whose store completed before this call was claimed before its store was retried
     * (signal handlers, uffd-sync after the handler wait), so it is reported now, not later.
     *
     * @param spilledEntriesNow the producers' spill count, read by the caller with acquire ordering
     *                          before this call (so the bits counted are visible)
     */
    public long drainInto(PageSet pages, long spilledEntriesNow) {
        decoder.pages = pages;
        decoder.entries = 0;
        long target = ring.producerPosition();
        long head;
        while ((head = ring.consumerPosition()) < target) {
            // Agrona's read: a volatile read of each length, then type and body (published by the producer's release store).
            ring.read(decoder);
            // The next record is claimed, not yet committed: its producer may have been preempted, so give it the CPU.
            if (ring.consumerPosition() == head) Thread.yield();
        }
        long entries = decoder.entries;
        decoder.pages = null;
        if (spilledEntriesNow != spilledEntriesHarvested) {
            entries += spilledEntriesNow - spilledEntriesHarvested;
            spilledEntriesHarvested = spilledEntriesNow;
            pages.takeAll(spill); // racing producers' atomic ORs
        }
        return entries;
    }

    /** Unmaps the ring and the bitmap; the producers must be gone (handler threads joined, range no longer handled). */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Libc.munmap(ringAddress, ringBytes);
        Libc.munmap(spillAddress, spillBytes);
    }

    /** Decodes one record's entries into the page set being filled. */
    private final class EntryDecoder implements MessageHandler {
        PageSet pages;
        long entries;

        @Override
        public void onMessage(int msgTypeId, MutableDirectBuffer buffer, int index, int length) {
            if (msgTypeId != RECORD_TYPE || length % Long.BYTES != 0) {
                throw new IllegalStateException("fault ring holds a record of type " + msgTypeId + " and length " + length
                        + ": the native library and this class disagree on the record format");
            }
            for (int at = index; at < index + length; at += Long.BYTES) {
                long entry = buffer.getLong(at, ByteOrder.LITTLE_ENDIAN);
                long first = entry >>> ENTRY_LOG2_BITS;
                if (first >= pageCount) {
                    throw new IllegalStateException("fault ring entry 0x" + Long.toHexString(entry) + " names page " + first
                            + " of a region of " + pageCount + " pages");
                }
                long count = Math.min(1L << (entry & ((1 << ENTRY_LOG2_BITS) - 1)), pageCount - first);
                pages.addRange(first, count);
            }
            entries += length / Long.BYTES;
        }
    }
}
