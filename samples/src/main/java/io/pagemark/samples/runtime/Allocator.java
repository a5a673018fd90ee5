package io.pagemark.samples.runtime;

import java.util.Arrays;

/**
 * One mutator's allocation state: the block it owns for each size class and where in that block's
 * bitmap to look for the next free slot. Only its mutator uses it, except {@link #retire()}, which
 * the collector calls while the mutator is stopped.
 */
final class Allocator {
    private final Heap heap;
    private final int[] ownedBlock = new int[Heap.SLOT_SIZES.length];
    private final int[] cursorWord = new int[Heap.SLOT_SIZES.length];

    Allocator(Heap heap) {
        this.heap = heap;
        retire();
    }

    /** The offset of a newly allocated slot of {@code sizeClass}, or -1 when the heap has none left until a cycle frees some. */
    long allocate(int sizeClass) {
        int block = ownedBlock[sizeClass];
        if (block >= 0) {
            long offset = heap.allocateIn(block, sizeClass, cursorWord[sizeClass]);
            if (offset >= 0) return claimed(offset, sizeClass);
        }
        while ((block = heap.takeBlock(sizeClass)) >= 0) {
            ownedBlock[sizeClass] = block;
            long offset = heap.allocateIn(block, sizeClass, 0);
            if (offset >= 0) return claimed(offset, sizeClass);
        }
        ownedBlock[sizeClass] = -1;
        return -1;
    }

    private long claimed(long offset, int sizeClass) {
        cursorWord[sizeClass] = Heap.wordInBlock(offset, sizeClass);
        return offset;
    }

    /** Gives up every owned block (they go to the sweeper). */
    void retire() {
        Arrays.fill(ownedBlock, -1);
        Arrays.fill(cursorWord, 0);
    }
}
