package io.pagemark.agent;

import io.pagemark.Backend;
import io.pagemark.DirtyPages;
import io.pagemark.TrackedArena;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Dirty pages become marked cards, in a byte[] or a MemorySegment card table, whatever the card size and covered range. */
class CardMarksTest {
    private static final byte DIRTY = 7;

    @Test
    void everyCardOfEveryDirtyPageIsMarkedAndNoOther() {
        try (TrackedArena arena = dirtyPages(3, 7)) {
            DirtyPages dirty = arena.collect();
            byte[] table = new byte[(int) (arena.size() >>> 9)];
            long marked = new CardMarks(9, DIRTY).markDirtyPages(dirty, arena.segment().address(), arena.segment(), table);
            assertEquals(16, marked);
            assertEquals(range(24, 32, 56, 64), dirtyIndices(table));
        }
    }

    @Test
    void aMemorySegmentTableAndATableCoveringPartOfTheArena() {
        try (TrackedArena arena = dirtyPages(1, 3, 7); Arena scope = Arena.ofConfined()) {
            DirtyPages dirty = arena.collect();
            long page = arena.pageSize();
            // The card table covers pages 2..5 of the arena: page 1 and 7 fall outside, page 3 is its second page.
            MemorySegment covered = arena.segment().asSlice(2 * page, 4 * page);
            MemorySegment table = scope.allocate(covered.byteSize() >>> 9);
            long marked = new CardMarks(9, DIRTY).markDirtyPages(dirty, arena.segment().address(), covered, table);
            assertEquals(8, marked);
            assertEquals(range(8, 16), dirtyIndices(table.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)));
        }
    }

    @Test
    void cardsLargerThanAPageAreMarkedWhenAnyOfTheirPagesIsDirty() {
        try (TrackedArena arena = dirtyPages(3)) {
            byte[] table = new byte[(int) (arena.size() >>> 13)];   // 8 KiB cards: two pages each
            long marked = new CardMarks(13, DIRTY).markDirtyPages(arena.collect(), arena.segment().address(), arena.segment(), table);
            assertEquals(1, marked);
            assertEquals(List.of(1), dirtyIndices(table));
        }
    }

    @Test
    void aTableCoveringSomeBytesHasACardForEveryStartedCard() {
        assertEquals(128, new CardMarks(9, DIRTY).cardsCovering(16 * 4096));
        assertEquals(8, new CardMarks(13, DIRTY).cardsCovering(16 * 4096));
        assertEquals(1, new CardMarks(9, DIRTY).cardsCovering(1));
        assertEquals(2, new CardMarks(9, DIRTY).cardsCovering(513));
    }

    @Test
    void anUntrackedHeapGetsEveryCardMarked() {
        byte[] table = new byte[64];
        assertEquals(64, new CardMarks(9, DIRTY).markAll(table));
        assertEquals(range(0, 64), dirtyIndices(table));
    }

    /** A 16-page arena on card-table (usable everywhere), with one write on each of the given pages. */
    private static TrackedArena dirtyPages(int... pages) {
        TrackedArena arena = TrackedArena.builder().size(16 * 4096).backend(Backend.CARD_TABLE).open();
        arena.arm();
        for (int p : pages) arena.putLong(p * arena.pageSize() + 8, 1);
        return arena;
    }

    private static List<Integer> dirtyIndices(byte[] table) {
        List<Integer> dirty = new ArrayList<>();
        for (int i = 0; i < table.length; i++) if (table[i] == DIRTY) dirty.add(i);
        return dirty;
    }

    /** The integers of [from, to) for each pair. */
    private static List<Integer> range(int... bounds) {
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < bounds.length; i += 2) for (int n = bounds[i]; n < bounds[i + 1]; n++) all.add(n);
        return all;
    }
}
