package io.pagemark.agent;

import io.pagemark.DirtyPages;
import io.pagemark.PageRange;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Marks cards in a runtime's own card table, a {@code byte[]} or a {@link MemorySegment} with one
 * byte per card, card 0 covering the first bytes of the covered heap segment.
 */
final class CardMarks {
    private final int shift;
    private final byte dirty;

    CardMarks(int shift, byte dirty) {
        this.shift = shift;
        this.dirty = dirty;
    }

    /**
     * Marks every card that overlaps a dirty page. {@code arenaAddress} is where the tracked arena
     * starts; pages outside the covered segment are skipped. Returns the cards marked.
     */
    long markDirtyPages(DirtyPages pages, long arenaAddress, MemorySegment covered, Object table) {
        long cards = length(table);
        long marked = 0;
        for (PageRange range : pages) {
            long start = Math.max(0, arenaAddress + range.offset() - covered.address());
            long end = Math.min(covered.byteSize(), arenaAddress + range.offset() + range.byteSize() - covered.address());
            if (start >= end) continue;
            long first = start >>> shift, last = Math.min((end - 1) >>> shift, cards - 1);
            if (first > last) continue;
            fill(table, first, last + 1);
            marked += last + 1 - first;
        }
        return marked;
    }

    /** How many cards cover {@code bytes} of heap (the last one maybe in part): the length of a table for them. */
    long cardsCovering(long bytes) {
        return (bytes + (1L << shift) - 1) >>> shift;
    }

    /** Marks every card: what keeps a collector correct on a heap whose stores nobody tracked. */
    long markAll(Object table) {
        long cards = length(table);
        fill(table, 0, cards);
        return cards;
    }

    private void fill(Object table, long from, long to) {
        if (table instanceof byte[] bytes) Arrays.fill(bytes, (int) from, (int) to, dirty);
        else ((MemorySegment) table).asSlice(from, to - from).fill(dirty);
    }

    private static long length(Object table) {
        return table instanceof byte[] bytes ? bytes.length : ((MemorySegment) table).byteSize();
    }
}
