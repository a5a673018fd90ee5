package io.pagemark.cut;

import io.pagemark.CopyBeforeWrite;

import java.lang.foreign.MemorySegment;

/**
 * A cut on a backend that copies before write ({@link io.pagemark.TrackedArena#copyBeforeWriteOfCut()}):
 * its pages were re-protected at the instant; a writer that reaches one first has its old bytes
 * copied by the native fault path, and {@link #read} takes every other one from the arena itself
 * (the copy counts only if the page was still untouched after it: {@link CopyBeforeWrite#takeUntouched}).
 */
final class CopyBeforeWriteCut extends BaseCut {
    private final MemorySegment memory;
    private final CopyBeforeWrite copy;

    CopyBeforeWriteCut(CutSource source, MemorySegment memory, CopyBeforeWrite copy, long sequence) {
        super(source, copy.cutPages(), sequence);
        this.memory = memory;
        this.copy = copy;
    }

    @Override
    void read(long page, MemorySegment destination, long offset) {
        long pageSize = pageSize();
        // Read while (if untouched) still protected; it counts only if taking the page below succeeds.
        MemorySegment.copy(memory, page * pageSize, destination, offset, pageSize);
        if (!copy.takeUntouched(page)) {
            copy.awaitFaultCopy(page);
            MemorySegment.copy(copy.image(), page * pageSize, destination, offset, pageSize);
        }
    }

    @Override
    long heldBytes() {
        return copy.pagesCopiedByFaults() * pageSize();
    }

    @Override
    void release() {
        copy.close(); // stops copying (its pages not read stay protected, unchanged), then resets the arena's cut state
    }
}
