package io.pagemark;

import io.pagemark.backend.TestTrackers;
import io.pagemark.backend.TrackerOptions;
import io.pagemark.cut.Cut;
import io.pagemark.cut.CutSource;
import io.pagemark.testing.BackendsWith;
import io.pagemark.testing.OverwritingWriters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Cuts ({@link CutSource}) equal the arena at their instant, byte for byte, while writers overwrite
 * pages during the cut, on every backend usable here (copy-before-write on uffd-sync, uffd-sigbus and
 * mprotect; a writer pause on the others), on 4 KiB and THP arenas: a replica that applies each cut's
 * pages equals the arena as it was at each cut. With a re-arm that skips a page the replica must differ
 * (the teeth); an 8 GiB sparse arena is armed and cut.
 */
class CutTest {
    private static final long ARENA_BYTES = 32L << 20;
    private static final int ROUNDS = 8;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    /** An offset the writers never store to (they store every 512 bytes). */
    private static final long FIRST_PAGE_MARK = 8;

    private static void assumeUsable(Backend backend) {
        Capabilities.Support support = Capabilities.probe().backends().get(backend);
        assumeTrue(support.usable(), () -> "skipped: " + backend + " is not usable here: " + support.reason());
    }

    /**
     * Rounds of: writers held, the arena copied as the expected image, a cut, writers released to
     * overwrite pages while the cut's pages are read into the replica, writers held, the replica equal
     * to the expected image. Returns the first difference found, or null.
     */
    private static String cutsEqualTheirInstant(TrackedArena arena, boolean withPause) throws Exception {
        WriterGate gate = new WriterGate();
        long size = arena.size(), pageSize = arena.pageSize();
        try (Arena scratch = Arena.ofConfined();
             OverwritingWriters writers = new OverwritingWriters(arena, gate, 7)) {
            MemorySegment replica = scratch.allocate(size, pageSize);
            MemorySegment expected = scratch.allocate(size, pageSize);
            writers.go();
            writers.awaitPages(2000);
            writers.hold();
            try (CutSource cuts = withPause ? CutSource.open(arena, gate) : CutSource.open(arena)) {
                MemorySegment.copy(arena.segment(), 0, replica, 0, size); // the baseline: cuts hold what is written after it
                long pagesCut = 0;
                for (int round = 0; round < ROUNDS; round++) {
                    writers.go();
                    writers.awaitPages(500 + round * 300L);
                    writers.hold();
                    // Page 0 is written in every round, where the writers touch no other word: a cut that
                    // misses a page written in its round is caught every time, not only when the random
                    // writers happen to hit that page (the teeth's skipped page is the lowest one re-protected).
                    arena.segment().set(LONG, FIRST_PAGE_MARK, round + 1);
                    MemorySegment.copy(arena.segment(), 0, expected, 0, size);
                    try (Cut cut = cuts.cut()) {
                        writers.go(); // overwriting while the cut is read
                        for (PageRange r : cut.pages()) {
                            for (long p = r.firstPage(); p < r.firstPage() + r.pageCount(); p++) {
                                cut.copyTo(p, replica, p * pageSize);
                                if ((p & 7) == 0) Thread.yield(); // let writers get ahead of the reader
                            }
                        }
                        pagesCut += cut.pages().pageCount();
                        assertEquals(round + 1, cut.sequence());
                    }
                    writers.hold();
                    long at = replica.mismatch(expected);
                    if (at >= 0) return arena.backend() + ", cut " + (round + 1) + ": the replica differs from the arena at the cut at page " + at / pageSize;
                }
                System.out.printf("%s%s: %d cuts (%d pages) of %d MiB equal to the arena at their instant%n", arena.backend(),
                        withPause ? " (writer pause)" : "", ROUNDS, pagesCut, size >> 20);
            }
        }
        return null;
    }

    @KernelMatrix
    @ParameterizedTest(name = "{0}")
    @BackendsWith(Backend.Trait.HARDWARE)
    void cutsEqualTheArenaAtTheirInstantWhileWritersOverwrite(Backend backend) throws Exception {
        assumeUsable(backend);
        WriterGate pause = new WriterGate();
        try (TrackedArena arena = TrackedArena.builder().size(ARENA_BYTES).backend(backend).writerPause(pause).open()) {
            assertNull(cutsEqualTheirInstant(arena, !backend.canCopyBeforeWrite()));
        }
    }

    @KernelMatrix
    @ParameterizedTest(name = "{0}")
    @BackendsWith(Backend.Trait.HARDWARE)
    void cutsOfATransparentHugePageArena(Backend backend) throws Exception {
        assumeUsable(backend);
        WriterGate pause = new WriterGate();
        try (TrackedArena arena = TrackedArena.builder().size(ARENA_BYTES).backend(backend).transparentHugePages(true)
                .writerPause(pause).open()) {
            arena.segment().fill((byte) 1); // populated: huge pages where the kernel gives them
            assertNull(cutsEqualTheirInstant(arena, !backend.canCopyBeforeWrite()));
        }
    }

    /** With a writer pause on a copy-before-write backend: the pause covers the re-protect only. */
    @ParameterizedTest(name = "{0}")
    @BackendsWith(Backend.Trait.COPY_BEFORE_WRITE)
    void cutsWithAWriterPauseOnACopyBeforeWriteBackend(Backend backend) throws Exception {
        assumeUsable(backend);
        try (TrackedArena arena = TrackedArena.builder().size(ARENA_BYTES).backend(backend).open()) {
            assertNull(cutsEqualTheirInstant(arena, true));
        }
    }

    /** Teeth: a re-arm that leaves one page writable and unmarked at each cut: its writes miss the next cut. */
    @ParameterizedTest(name = "{0}")
    @BackendsWith(Backend.Trait.COPY_BEFORE_WRITE)
    void aRearmSkippingOnePageMakesTheReplicaDiffer(Backend backend) throws Exception {
        assumeUsable(backend);
        try (TrackedArena arena = TrackedArena.map(backend, "test: re-arm skipping a page", ARENA_BYTES, false,
                region -> TestTrackers.rearmSkippingOnePage(backend.open(region, TrackerOptions.DEFAULTS)), null)) {
            String difference = cutsEqualTheirInstant(arena, false);
            assertTrue(difference != null, "the cuts of a re-arm skipping a page still equalled the arena");
            System.out.println("teeth: " + difference);
        }
    }

    /** 8 GiB, sparse: a cut holds exactly the pages written since the previous one, as written. */
    @ParameterizedTest(name = "{0}")
    @BackendsWith(Backend.Trait.HARDWARE)
    void aSparseEightGibArenaIsArmedAndCut(Backend backend) throws Exception {
        assumeUsable(backend);
        WriterGate pause = new WriterGate();
        try (TrackedArena arena = TrackedArena.builder().size(8L << 30).backend(backend).writerPause(pause).open();
             Arena scratch = Arena.ofConfined()) {
            long pageSize = arena.pageSize();
            arena.arm();
            try (CutSource cuts = backend.canCopyBeforeWrite() ? CutSource.open(arena) : CutSource.open(arena, pause)) {
                SplittableRandom random = new SplittableRandom(3);
                TreeSet<Long> written = new TreeSet<>();
                while (written.size() < 200) {
                    long page = random.nextLong(arena.pageCount());
                    arena.putLong(page * pageSize, page + 1);
                    written.add(page);
                }
                MemorySegment page = scratch.allocate(pageSize);
                long firstPause;
                try (Cut cut = cuts.cut()) {
                    firstPause = cut.pauseNanos();
                    assertEquals(written.size(), cut.pages().pageCount(), "the cut holds the pages written since the baseline");
                    for (long p : written) {
                        cut.copyTo(p, page, 0);
                        assertEquals(p + 1, page.get(LONG, 0));
                    }
                    assertThrows(IllegalArgumentException.class, () -> cut.copyTo(written.first(), page, 0), "a page is read once");
                }
                try (Cut next = cuts.cut()) {
                    assertEquals(0, next.pages().pageCount(), "nothing written since the previous cut");
                    System.out.printf("%s: 8 GiB sparse arena, a cut of %d pages took %.3f ms, an empty one %.3f ms%n", backend,
                            written.size(), firstPause / 1e6, next.pauseNanos() / 1e6);
                }
            }
        }
    }

    /** A full cut holds every page as at its instant, though each is overwritten before it is read; the next cut holds what was written since. */
    @ParameterizedTest(name = "{0}")
    @BackendsWith(Backend.Trait.HARDWARE)
    void aFullCutHoldsEveryPageAsAtItsInstant(Backend backend) {
        assumeUsable(backend);
        WriterGate pause = new WriterGate();
        try (TrackedArena arena = TrackedArena.builder().size(1 << 20).backend(backend).writerPause(pause).open();
             Arena scratch = Arena.ofConfined();
             CutSource cuts = backend.canCopyBeforeWrite() ? CutSource.open(arena) : CutSource.open(arena, pause)) {
            long pageSize = arena.pageSize(), pages = arena.pageCount();
            MemorySegment page = scratch.allocate(pageSize);
            for (long p = 0; p < pages; p++) arena.putLong(p * pageSize, p + 1);
            try (Cut full = cuts.fullCut()) {
                assertEquals(pages, full.pages().pageCount(), "a full cut holds every page");
                for (long p = 0; p < pages; p += 2) arena.putLong(p * pageSize, -1); // after the instant
                for (long p = 0; p < pages; p++) {
                    full.copyTo(p, page, 0);
                    assertEquals(p + 1, page.get(LONG, 0), "page " + p + " as at the full cut");
                }
            }
            try (Cut next = cuts.cut()) {
                assertEquals((pages + 1) / 2, next.pages().pageCount(), "the next cut holds the pages written since the full cut");
            }
        }
    }

    @Test
    void aBackendThatCannotCopyBeforeWriteNeedsAWriterPause() {
        Backend backend = Backend.CARD_TABLE;
        try (TrackedArena arena = TrackedArena.builder().size(1 << 20).backend(backend).open()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CutSource.open(arena));
            assertTrue(e.getMessage().contains("need a WriterPause"), e.getMessage());
        }
    }
}
