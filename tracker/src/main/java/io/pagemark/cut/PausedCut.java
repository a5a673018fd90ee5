package io.pagemark.cut;

import io.pagemark.DirtyPages;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** A cut taken with the writers stopped: its pages were copied during the pause, in ascending order. */
final class PausedCut extends BaseCut {
    private final long[] order;
    private final MemorySegment copies;

    PausedCut(CutSource source, DirtyPages pages, long[] order, MemorySegment copies, long sequence) {
        super(source, pages, sequence);
        this.order = order;
        this.copies = copies;
    }

    @Override
    void read(long page, MemorySegment destination, long offset) {
        MemorySegment.copy(copies, Arrays.binarySearch(order, page) * pageSize(), destination, offset, pageSize());
    }

    @Override
    long heldBytes() {
        return order.length * pageSize();
    }

    @Override
    void release() {}
}
