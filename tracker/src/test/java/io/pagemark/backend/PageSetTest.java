package io.pagemark.backend;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** PageSet against a BitSet: ascending runs (kept as runs), then any order (a bitset), removals, sets and bitmaps word-wise, reuse after clear. */
class PageSetTest {
    private static final int PAGES = 5000;

    private static long[] runsOf(BitSet bits) {
        List<Long> runs = new ArrayList<>();
        for (int p = bits.nextSetBit(0); p >= 0; ) {
            int end = bits.nextClearBit(p);
            runs.add((long) p);
            runs.add((long) (end - p));
            p = bits.nextSetBit(end);
        }
        return runs.stream().mapToLong(Long::longValue).toArray();
    }

    private static void assertSame(BitSet expected, PageSet set, String when) {
        assertArrayEquals(runsOf(expected), set.runs(), when);
        assertEquals(expected.isEmpty(), set.isEmpty(), when);
        for (int p = 0; p < PAGES; p++) {
            int page = p;
            assertEquals(expected.get(page), set.contains(page), () -> when + ": page " + page);
        }
    }

    @Test
    void ascendingOverlappingAndTouchingRunsMergeAsTheBitsetWould() {
        PageSet set = new PageSet(0, 4096, PAGES);
        BitSet expected = new BitSet();
        set.addRange(10, 5);          // 10-14
        set.addRange(12, 2);          // inside the last run
        set.addRange(15, 3);          // touching: 10-17
        set.addRange(17, 4);          // overlapping the end: 10-20
        set.add(30);
        set.addAddresses(31 * 4096L + 1, 33 * 4096L);   // pages 31 and 32: 30-32
        expected.set(10, 21);
        expected.set(30, 33);
        assertSame(expected, set, "ascending");
    }

    @Test
    void addingAnotherSetOfRunsMergesInterleavedTouchingAndOverlappingRuns() {
        SplittableRandom random = new SplittableRandom(11);
        for (int round = 0; round < 200; round++) {
            PageSet set = new PageSet(0, 4096, PAGES), other = new PageSet(0, 4096, PAGES);
            BitSet expected = new BitSet();
            for (PageSet s : new PageSet[] {set, other}) {
                for (long next = random.nextInt(50); next < PAGES; next += random.nextInt(1, 120)) {
                    long count = Math.min(random.nextInt(1, 40), PAGES - next);
                    s.addRange(next, count);
                    expected.set((int) next, (int) (next + count));
                    next += count;
                }
            }
            set.addAll(other);
            assertSame(expected, set, "round " + round + " merged");
            try (Arena arena = Arena.ofConfined()) {   // the merged runs into a native bitmap and out again
                MemorySegment bitmap = arena.allocate((PAGES + 63) / 64 * 8L, 8);
                set.copyTo(bitmap);
                PageSet copy = new PageSet(0, 4096, PAGES);
                copy.addBitmap(bitmap);
                assertSame(expected, copy, "round " + round + " through a bitmap");
                set.clearIn(bitmap);
                assertEquals(0, bitmap.elements(ValueLayout.JAVA_LONG).filter(w -> w.get(ValueLayout.JAVA_LONG, 0) != 0).count());
            }
            set.addAll(new PageSet(0, 4096, PAGES));
            assertSame(expected, set, "round " + round + " plus an empty set");
        }
    }

    @Test
    void anyOrderRemovalsAndReuseAgreeWithABitSet() {
        SplittableRandom random = new SplittableRandom(7);
        PageSet set = new PageSet(0, 4096, PAGES);
        for (int round = 0; round < 50; round++) {
            BitSet expected = new BitSet();
            long next = random.nextInt(20);
            int ascending = random.nextInt(30);
            for (int i = 0; i < ascending && next < PAGES; i++) {   // ascending first, sometimes overlapping the previous run
                long first = Math.max(0, next - random.nextInt(3));
                long count = Math.min(1 + random.nextInt(8), PAGES - first);
                set.addRange(first, count);
                expected.set((int) first, (int) (first + count));
                next = first + count + random.nextInt(10);
            }
            assertSame(expected, set, "round " + round + " ascending");
            int later = random.nextInt(3) == 0 ? 0 : random.nextInt(40);
            for (int i = 0; i < later; i++) {
                int op = random.nextInt(6);
                int page = random.nextInt(PAGES);
                if (op == 0) {
                    set.remove(page);
                    expected.clear(page);
                } else if (op == 1) {
                    PageSet other = new PageSet(0, 4096, PAGES);   // ordered runs added word-wise
                    other.addRange(page, Math.min(9, PAGES - page));
                    set.addAll(other);
                    expected.set(page, Math.min(page + 9, PAGES));
                } else if (op == 2) {
                    try (Arena arena = Arena.ofConfined()) {       // through a native bitmap and back
                        MemorySegment bitmap = arena.allocate((PAGES + 63) / 64 * 8L, 8);
                        set.copyTo(bitmap);
                        PageSet copy = new PageSet(0, 4096, PAGES);
                        copy.addBitmap(bitmap);
                        assertArrayEquals(set.runs(), copy.runs(), "copyTo then addBitmap");
                        set.clearIn(bitmap);
                        assertEquals(0, bitmap.elements(ValueLayout.JAVA_LONG).filter(w -> w.get(ValueLayout.JAVA_LONG, 0) != 0).count());
                    }
                } else {
                    int count = Math.min(1 + random.nextInt(70), PAGES - page);
                    set.addRange(page, count);
                    expected.set(page, page + count);
                }
            }
            assertSame(expected, set, "round " + round + " any order");
            set.clear();
            assertSame(new BitSet(), set, "round " + round + " cleared");
        }
    }
}
