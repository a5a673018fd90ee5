package io.pagemark;

import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.util.BitSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The arena API's contract on bad input, lifecycle and results; backend-specific behaviour is in ExactSetTest. */
class TrackedArenaTest {

    @Test
    void badSizesAreRefusedWithTheValueAndTheLimit() {
        assertEquals("size must be positive, got 0",
                assertThrows(IllegalArgumentException.class, () -> TrackedArena.builder().size(0)).getMessage());
        assertEquals("size must be positive, got -4096",
                assertThrows(IllegalArgumentException.class, () -> TrackedArena.builder().size(-4096)).getMessage());
        String tooBig = assertThrows(IllegalArgumentException.class, () -> TrackedArena.builder().size(Long.MAX_VALUE)).getMessage();
        assertTrue(tooBig.contains("larger than the address space allows") && tooBig.contains("128 TiB"), tooBig);
        assertEquals("size(bytes) is required",
                assertThrows(IllegalStateException.class, () -> TrackedArena.builder().open()).getMessage());
    }

    @Test
    void unknownBackendNamesListTheAcceptedOnes() {
        String msg = assertThrows(IllegalArgumentException.class, () -> TrackedArena.builder().backend("uffd-fast")).getMessage();
        assertEquals("unknown backend 'uffd-fast'; accepted: auto, uffd-async, uffd-sync, uffd-sigbus, mprotect, soft-dirty, card-table", msg);
        assertEquals(Backend.UFFD_ASYNC, Backend.parse("UFFD_ASYNC"));
        assertThrows(IllegalArgumentException.class, () -> Backend.parse(null));
    }

    @Test
    void aBackendNotUsableHereIsRefusedWithTheProbesReason() {
        for (var entry : Capabilities.probe().backends().entrySet()) {
            if (entry.getValue().usable()) continue;
            PagemarkException e = assertThrows(PagemarkException.class,
                    () -> TrackedArena.builder().size(1 << 20).backend(entry.getKey()).writerPause(new WriterGate()).open());
            assertEquals("backend " + entry.getKey() + " is not usable here: " + entry.getValue().reason(), e.getMessage());
        }
    }

    @Test
    void sizeIsRoundedUpToWholePages() {
        try (TrackedArena arena = TrackedArena.builder().size(10_000).backend(Backend.CARD_TABLE).open()) {
            assertEquals(3 * arena.pageSize(), arena.size());
            assertEquals(arena.size(), arena.segment().byteSize());
            assertEquals(3, arena.pageCount());
        }
    }

    @Test
    void collectBeforeArmAndUseAfterCloseFailClearly() {
        TrackedArena arena = TrackedArena.builder().size(1 << 20).backend(Backend.CARD_TABLE).open();
        assertEquals("collect() while not armed (before arm(), or after disarm() or collectAndStop()): call arm() to start tracking",
                assertThrows(IllegalStateException.class, arena::collect).getMessage());
        arena.arm();
        arena.close();
        arena.close();   // idempotent
        assertFalse(arena.isArmed());
        assertEquals("this TrackedArena is closed", assertThrows(IllegalStateException.class, arena::collect).getMessage());
        assertEquals("this TrackedArena is closed", assertThrows(IllegalStateException.class, arena::arm).getMessage());
        assertThrows(IllegalStateException.class, () -> arena.putLong(0, 1));
        assertThrows(IllegalStateException.class, () -> arena.segment().get(ValueLayout.JAVA_BYTE, 0));
    }

    @Test
    void everyUsableBackendOpensAndClosesCleanlyManyTimes() {
        for (var entry : Capabilities.probe().backends().entrySet()) {
            if (!entry.getValue().usable() || entry.getKey() == Backend.SOFT_DIRTY) continue;
            for (int i = 0; i < 50; i++) {
                try (TrackedArena arena = TrackedArena.builder().size(1 << 20).backend(entry.getKey()).open()) {
                    arena.arm();
                    arena.putLong(8 * i, i);
                    assertEquals(1, arena.collect().pageCount(), entry.getKey() + " run " + i);
                }
            }
        }
    }

    @Test
    void autoTakesTheProbesChoiceAndSaysWhy() {
        Capabilities.Choice choice = Capabilities.autoChoice();
        assertTrue(choice.backend().isHardware());
        assertTrue(Capabilities.probe().backends().get(choice.backend()).usable());
        try (TrackedArena arena = TrackedArena.open(1 << 20)) {
            assertEquals(choice.backend(), arena.backend());
            assertTrue(arena.backendReason().startsWith("auto: "), arena.backendReason());
        }
    }

    @Test
    void dirtyPagesOffersRangesBitsAndMembership() {
        try (TrackedArena arena = TrackedArena.builder().size(64 * 4096).backend(Backend.CARD_TABLE).open()) {
            long page = arena.pageSize();
            arena.arm();
            for (long p : new long[] {0, 1, 2, 10, 63}) arena.putByte(p * page + 5, (byte) 1);
            DirtyPages dirty = arena.collect();
            assertEquals(5, dirty.pageCount());
            assertEquals(List.of(new PageRange(0, 3, page), new PageRange(10, 1, page), new PageRange(63, 1, page)), dirty.ranges());
            BitSet bits = dirty.bitSet();
            assertEquals("{0, 1, 2, 10, 63}", bits.toString());
            assertTrue(dirty.contains(10) && !dirty.contains(11) && dirty.contains(63) && !dirty.contains(3));
            assertEquals(List.of(0L, 1L, 2L, 10L, 63L), dirty.pages().boxed().toList());
            assertEquals("5 dirty pages: 0-2, 10, 63", dirty.toString());
            assertTrue(arena.collect().isEmpty());
            TrackedArena.Stats stats = arena.stats();
            assertEquals(2, stats.collects());
            assertEquals(5, stats.pagesReported());
        }
    }
}
