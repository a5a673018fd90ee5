package io.pagemark.replication;

import org.agrona.DirectBuffer;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Page records read, written and checksummed in place in Aeron's off-heap buffers (its term buffers,
 * a fragment assembler's buffer, a scratch record) without an object made per record.
 * {@link CRC32C} reads native memory only through a direct {@link ByteBuffer}, and a segment plus a
 * buffer made for every page were a large part of the replica's time (docs/replication.md, "A profile,
 * and what it removed"). So each buffer gets one segment and one {@link ByteBuffer} over its whole
 * extent the first time it is seen, and they are re-positioned after; a receiver sees a handful of
 * buffers (three terms per image and its assembler's), a sender its publication's three terms.
 *
 * <p>A view only names an address range: if Aeron unmaps a buffer and maps another at the same
 * address with the same capacity, the view is as good for it. Not thread-safe: one per thread.
 */
final class BufferViews {
    private static final int KEPT = 8;

    private final long[] addresses = new long[KEPT];
    private final int[] capacities = new int[KEPT];
    private final MemorySegment[] segments = new MemorySegment[KEPT];
    private final ByteBuffer[] buffers = new ByteBuffer[KEPT];
    private final CRC32C crc = new CRC32C();
    private int last;
    private int next;

    /** The whole of {@code b} (off-heap) as a segment: offsets in it are {@code b}'s. */
    MemorySegment segment(DirectBuffer b) {
        return segments[slot(b)];
    }

    /** CRC32C of {@code length} bytes of {@code b} (off-heap) from {@code offset}. */
    int crc(DirectBuffer b, int offset, int length) {
        ByteBuffer view = buffers[slot(b)];
        view.limit(offset + length).position(offset);   // the limit first: a position past the old limit would throw
        crc.reset();
        crc.update(view);
        return (int) crc.getValue();
    }

    @SuppressWarnings("restricted")
    private int slot(DirectBuffer b) {
        if (b.byteArray() != null) throw new IllegalStateException("Aeron handed a record in a heap buffer");
        long address = b.addressOffset();
        int capacity = b.capacity();
        if (segments[last] != null && addresses[last] == address && capacities[last] == capacity) return last;
        for (int i = 0; i < KEPT; i++) {
            if (segments[i] != null && addresses[i] == address && capacities[i] == capacity) return last = i;
        }
        int i = next;
        next = (next + 1) % KEPT;
        addresses[i] = address;
        capacities[i] = capacity;
        // Bounds are the buffer's own extent, as Aeron (or this package, for a scratch record) allocated it.
        segments[i] = MemorySegment.ofAddress(address).reinterpret(capacity);
        buffers[i] = segments[i].asByteBuffer();
        return last = i;
    }
}
