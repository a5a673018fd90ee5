package io.pagemark;

import java.util.AbstractList;
import java.util.BitSet;
import java.util.Iterator;
import java.util.List;
import java.util.function.LongConsumer;
import java.util.stream.LongStream;

/**
 * The pages of an arena written since the previous collect (or arm): the result of
 * {@link TrackedArena#collect()}. Immutable; pages are numbered from 0 at the start of the arena.
 *
 * <pre>{@code
 * DirtyPages dirty = arena.collect();
 * for (PageRange r : dirty.ranges()) {
 *     MemorySegment changed = arena.segment().asSlice(r.offset(), r.byteSize());
 *     ...
 * }
 * BitSet bits = dirty.bitSet();          // the same set, one bit per page
 * }</pre>
 */
public final class DirtyPages implements Iterable<PageRange> {
    private final long pageSize;
    private final long totalPages;
    /** Sorted, maximal, non-overlapping runs packed as (first page, page count) pairs. */
    private final long[] runs;
    private final long pageCount;

    DirtyPages(long pageSize, long totalPages, long[] runs) {
        this.pageSize = pageSize;
        this.totalPages = totalPages;
        this.runs = runs;
        long count = 0;
        for (int i = 1; i < runs.length; i += 2) count += runs[i];
        this.pageCount = count;
    }

    /** Every page of {@code arena}, as one range (what a full cut or a base holds). */
    public static DirtyPages allPagesOf(TrackedArena arena) {
        long pages = arena.pageCount();
        return new DirtyPages(arena.pageSize(), pages, pages == 0 ? new long[0] : new long[] {0, pages});
    }

    /** The arena's page size. */
    public long pageSize() {
        return pageSize;
    }

    /** How many pages are dirty. */
    public long pageCount() {
        return pageCount;
    }

    /** True when no page was written. */
    public boolean isEmpty() {
        return pageCount == 0;
    }

    /** The dirty pages as sorted maximal runs. */
    public List<PageRange> ranges() {
        return new AbstractList<>() {
            @Override
            public PageRange get(int index) {
                return new PageRange(runs[2 * index], runs[2 * index + 1], pageSize);
            }

            @Override
            public int size() {
                return runs.length / 2;
            }
        };
    }

    @Override
    public Iterator<PageRange> iterator() {
        return ranges().iterator();
    }

    /** True if page {@code page} (counted from 0) is dirty. */
    public boolean contains(long page) {
        int lo = 0, hi = runs.length / 2 - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            long first = runs[2 * mid];
            if (page < first) hi = mid - 1;
            else if (page >= first + runs[2 * mid + 1]) lo = mid + 1;
            else return true;
        }
        return false;
    }

    /** Calls {@code action} with every dirty page index, ascending. */
    public void forEachPage(LongConsumer action) {
        for (int i = 0; i < runs.length; i += 2) {
            for (long p = runs[i], end = runs[i] + runs[i + 1]; p < end; p++) action.accept(p);
        }
    }

    /** The dirty page indices, ascending. */
    public LongStream pages() {
        LongStream.Builder b = LongStream.builder();
        forEachPage(b);
        return b.build();
    }

    /**
     * The same set as a new {@link BitSet}, one bit per page of the arena.
     *
     * @throws UnsupportedOperationException if the arena has more pages than a BitSet can index (2^31 - 1)
     */
    public BitSet bitSet() {
        if (totalPages > Integer.MAX_VALUE) {
            throw new UnsupportedOperationException("the arena has " + totalPages + " pages, more than a BitSet can index; use ranges()");
        }
        BitSet bits = new BitSet((int) totalPages);
        for (int i = 0; i < runs.length; i += 2) bits.set((int) runs[i], (int) (runs[i] + runs[i + 1]));
        return bits;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder().append(pageCount).append(" dirty page").append(pageCount == 1 ? "" : "s");
        int shown = Math.min(ranges().size(), 8);
        if (shown > 0) sb.append(": ");
        for (int i = 0; i < shown; i++) {
            if (i > 0) sb.append(", ");
            long first = runs[2 * i], count = runs[2 * i + 1];
            sb.append(count == 1 ? String.valueOf(first) : first + "-" + (first + count - 1));
        }
        if (shown < ranges().size()) sb.append(", ...");
        return sb.toString();
    }
}
