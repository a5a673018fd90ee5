package io.pagemark;

import io.pagemark.backend.PageTracker;
import io.pagemark.backend.TestTrackers;
import io.pagemark.backend.TrackerOptions;
import io.pagemark.linux.Errno;
import io.pagemark.linux.Libc;
import io.pagemark.linux.LinuxException;
import io.pagemark.linux.Pagemap;
import io.pagemark.testing.BackendsWith;
import io.pagemark.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * No write is lost to memory the kernel empties (docs/discards.md): after MADV_DONTNEED, a
 * reclaimed MADV_FREE page or {@link TrackedArena#discard}, the emptying is reported, and so is every
 * later write. Each scenario returns what went wrong rather than asserting, so that the teeth tests
 * can run it with a hook that drops the discard reports and require that it notices.
 */
@KernelMatrix
class DiscardTest {
    private static final int PAGE = 4096;
    private static final int PAGES = 64;
    private static final int MADV_FREE = 8;
    private static final int MADV_REMOVE = 9;
    private static final int MADV_PAGEOUT = 21;

    private static TrackedArena open(Backend backend, boolean forcePopulate, boolean dropKernelReports) {
        NativeBackendsTest.assumeUsable(backend);
        WriterGate gate = backend.needsWriterPause() ? new WriterGate() : null;
        if (!dropKernelReports) {
            TrackedArena.Builder builder = TrackedArena.builder().size((long) PAGES * PAGE).backend(backend).forcePopulate(forcePopulate);
            return (gate == null ? builder : builder.writerPause(gate)).open();
        }
        TrackerOptions options = new TrackerOptions(forcePopulate, 1, false, 0, 1, 0);
        return TrackedArena.map(backend, "test: discard reports dropped", (long) PAGES * PAGE, false,
                region -> TestTrackers.droppingDiscardReports(backend.open(region, options)), gate);
    }

    private static void madvise(TrackedArena arena, int page, int advice, String name) {
        Libc.madvise(arena.segment().address() + (long) page * PAGE, PAGE, advice, "madvise(" + name + ")", Libc.NO_HINT);
    }

    /** Collects and adds a problem unless the collect's report of {@code page} is {@code expected}. */
    private static void expect(TrackedArena arena, int page, boolean expected, String what, List<String> problems) {
        DirtyPages dirty = arena.collect();
        if (dirty.contains(page) != expected) {
            problems.add(arena.backend() + ": page " + page + " " + (expected ? "not reported after " : "still reported after ") + what
                    + " (collect: " + dirty.pages().boxed().toList() + "; " + arena.describe() + ")");
        }
    }

    /** A plain madvise(MADV_DONTNEED) on armed pages, as a user or an allocator would. */
    private static List<String> plainDontneed(TrackedArena arena) {
        List<String> problems = new ArrayList<>();
        arena.arm();
        for (int p = 1; p <= 4; p++) arena.putLong((long) p * PAGE, p);
        expect(arena, 2, true, "the first write", problems);

        madvise(arena, 2, Libc.MADV_DONTNEED, "MADV_DONTNEED");
        if (arena.getLong(2L * PAGE) != 0) problems.add("MADV_DONTNEED did not empty page 2");
        expect(arena, 2, true, "MADV_DONTNEED emptied it", problems);
        arena.putLong(2L * PAGE, 22);
        expect(arena, 2, true, "a write after MADV_DONTNEED", problems);
        expect(arena, 2, false, "a collect with no change since (the discard should be settled)", problems);

        // Emptied and written again before any collect: one report, then settled.
        madvise(arena, 3, Libc.MADV_DONTNEED, "MADV_DONTNEED");
        arena.putLong(3L * PAGE, 33);
        expect(arena, 3, true, "MADV_DONTNEED and a write", problems);
        expect(arena, 3, false, "a collect with no change since", problems);
        arena.putLong(3L * PAGE, 34);
        expect(arena, 3, true, "a second write after MADV_DONTNEED", problems);

        // A page never written since arm (a WP_UNPOPULATED marker, or the zero page populated before arm).
        madvise(arena, 40, Libc.MADV_DONTNEED, "MADV_DONTNEED");
        arena.collect();
        arena.putLong(40L * PAGE, 40);
        expect(arena, 40, true, "a write to a never-written page after MADV_DONTNEED", problems);
        return problems;
    }

    /** MADV_FREE, then MADV_PAGEOUT, which makes the kernel reclaim the lazily freed page now (no swap needed). */
    private static List<String> reclaimedFree(TrackedArena arena) {
        List<String> problems = new ArrayList<>();
        arena.arm();
        arena.putLong(5L * PAGE, 55);
        arena.putLong(6L * PAGE, 66);
        arena.collect();
        madvise(arena, 5, MADV_FREE, "MADV_FREE");
        madvise(arena, 6, MADV_FREE, "MADV_FREE");
        arena.collect(); // before the reclaim: the pages may or may not be reported
        madvise(arena, 5, MADV_PAGEOUT, "MADV_PAGEOUT");
        assumeTrue(arena.getLong(5L * PAGE) == 0, "skipped: MADV_PAGEOUT did not reclaim the MADV_FREE page here");
        expect(arena, 5, true, "the kernel reclaimed it after MADV_FREE", problems);
        arena.putLong(5L * PAGE, 56);
        expect(arena, 5, true, "a write after the reclaim", problems);
        // Written after MADV_FREE: the write is reported, the page is kept (no longer clean to reclaim).
        arena.putLong(6L * PAGE, 67);
        expect(arena, 6, true, "a write after MADV_FREE", problems);
        madvise(arena, 6, MADV_PAGEOUT, "MADV_PAGEOUT");
        if (arena.getLong(6L * PAGE) != 67) problems.add("page 6, written after MADV_FREE, lost its contents to MADV_PAGEOUT");
        return problems;
    }

    /** TrackedArena.discard: on every backend the emptying and the later writes are reported. */
    private static List<String> apiDiscard(TrackedArena arena) {
        List<String> problems = new ArrayList<>();
        arena.arm();
        for (int p = 8; p <= 12; p++) arena.putLong((long) p * PAGE, p);
        arena.collect();
        arena.discard(9L * PAGE, 3L * PAGE);
        for (int p = 9; p <= 11; p++) if (arena.getLong((long) p * PAGE) != 0) problems.add("discard() did not empty page " + p);
        DirtyPages dirty = arena.collect();
        for (int p = 9; p <= 11; p++) {
            if (!dirty.contains(p)) problems.add(arena.backend() + ": page " + p + " not reported after discard() (" + dirty.pages().boxed().toList() + ")");
        }
        arena.putLong(10L * PAGE, 100);
        expect(arena, 10, true, "a write after discard()", problems);
        return problems;
    }

    @ParameterizedTest
    @BackendsWith(Backend.Trait.SEES_DISCARDS)
    void aPlainDontneedIsReportedWithEveryLaterWrite(Backend backend) {
        try (TrackedArena arena = open(backend, false, false)) {
            assertEquals(List.of(), plainDontneed(arena));
        }
    }

    /** The path kernels before 6.4 take (no WP_UNPOPULATED): an emptied page is populated before it is protected again. */
    @ParameterizedTest
    @BackendsWith(Backend.Trait.SEES_DISCARDS)
    void aPlainDontneedIsReportedWhenPagesArePopulatedBeforeArm(Backend backend) {
        try (TrackedArena arena = open(backend, true, false)) {
            assertEquals(List.of(), plainDontneed(arena));
        }
    }

    @ParameterizedTest
    @BackendsWith(Backend.Trait.SEES_DISCARDS)
    void aReclaimedFreePageIsReportedWithEveryLaterWrite(Backend backend) {
        try (TrackedArena arena = open(backend, false, false)) {
            assertEquals(List.of(), reclaimedFree(arena));
        }
    }

    /** Teeth: with the handlers' discard reports dropped (as without EVENT_REMOVE), the scenarios find the losses. */
    @ParameterizedTest
    @BackendsWith({Backend.Trait.SEES_DISCARDS, Backend.Trait.NATIVE_FAULT_PATH})
    void droppingTheKernelsDiscardReportsIsCaught(Backend backend) {
        try (TrackedArena arena = open(backend, false, true)) {
            List<String> problems = plainDontneed(arena);
            System.out.println(backend + " with discard reports dropped: " + problems);
            assertTrue(problems.stream().anyMatch(p -> p.contains("not reported after MADV_DONTNEED emptied it")), problems.toString());
            assertTrue(problems.stream().anyMatch(p -> p.contains("not reported after a write after MADV_DONTNEED")), problems.toString());
        }
        try (TrackedArena arena = open(backend, false, true)) {
            List<String> problems = reclaimedFree(arena);
            assertTrue(problems.stream().anyMatch(p -> p.contains("not reported after the kernel reclaimed it")), problems.toString());
        }
    }

    @ParameterizedTest
    @BackendsWith
    void discardReportsTheEmptiedPagesAndLaterWrites(Backend backend) {
        try (TrackedArena arena = open(backend, false, false)) {
            assertEquals(List.of(), apiDiscard(arena));
        }
    }

    /** Teeth: where only discard() reports a discard, its report dropped must show. */
    @ParameterizedTest
    @BackendsWith(without = Backend.Trait.SEES_DISCARDS)
    void droppingDiscardsReportIsCaught(Backend backend) {
        try (TrackedArena arena = open(backend, false, false)) {
            arena.dropDiscardReports = true;
            List<String> problems = apiDiscard(arena);
            assertTrue(problems.stream().anyMatch(p -> p.contains("not reported after discard()")), problems.toString());
        }
    }

    /** The limit the backend table states: a plain MADV_DONTNEED's emptying is not seen here, later writes are. */
    @ParameterizedTest
    @BackendsWith(value = Backend.Trait.HARDWARE, without = Backend.Trait.SEES_DISCARDS)
    void withoutSeesDiscardsOnlyTheLaterWritesOfAPlainDontneedAreSeen(Backend backend) {
        try (TrackedArena arena = open(backend, false, false)) {
            arena.arm();
            arena.putLong(2L * PAGE, 2);
            arena.collect();
            madvise(arena, 2, Libc.MADV_DONTNEED, "MADV_DONTNEED");
            assertFalse(arena.collect().contains(2), backend + " reports a plain MADV_DONTNEED: docs/discards.md says it does not");
            arena.putLong(2L * PAGE, 3);
            assertTrue(arena.collect().contains(2), backend + " missed a write after MADV_DONTNEED");
        }
    }

    /**
     * Swap-out and swap-in keep the write protection (the swap entry carries the uffd-wp bit; the
     * VMA's PROT_READ stays): a write to a page that was swapped out is reported. Needs swap.
     */
    @ParameterizedTest
    @BackendsWith(Backend.Trait.HARDWARE)
    void aWriteToAPageSwappedOutAndInIsReported(Backend backend) throws IOException {
        List<String> swaps = Files.readAllLines(Path.of("/proc/swaps"));
        assumeTrue(swaps.size() > 1, "skipped: no swap here (/proc/swaps is empty): MADV_PAGEOUT keeps anonymous pages");
        try (TrackedArena arena = open(backend, false, false); Arena scratch = Arena.ofConfined()) {
            arena.arm();
            arena.putLong(7L * PAGE, 77);
            arena.collect();
            madvise(arena, 7, MADV_PAGEOUT, "MADV_PAGEOUT");
            MemorySegment entry = scratch.allocate(Pagemap.ENTRY_BYTES);
            int fd = Libc.open("/proc/self/pagemap", Libc.O_RDONLY | Libc.O_CLOEXEC, Libc.NO_HINT);
            try {
                Pagemap.read(fd, arena.segment().address() + 7L * PAGE, 1, entry);
            } finally {
                Libc.close(fd);
            }
            assumeTrue((entry.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0) & Pagemap.SWAP_BIT) != 0,
                    "skipped: MADV_PAGEOUT did not swap the page out");
            arena.putLong(7L * PAGE + 8, 78);
            assertTrue(arena.collect().contains(7), backend + " missed a write to a page swapped out");
            assertEquals(77, arena.getLong(7L * PAGE), "swap-in lost the page's contents");
        }
    }

    /** MADV_REMOVE frees a range of a shared mapping's backing store: an arena is private anonymous memory, so it refuses. */
    @Test
    void madvRemoveDoesNotApplyToAnArena() {
        try (TrackedArena arena = TrackedArena.builder().size((long) PAGES * PAGE).backend(Backend.CARD_TABLE).open()) {
            arena.putLong(PAGE, 1);
            LinuxException e = assertThrows(LinuxException.class, () -> madvise(arena, 1, MADV_REMOVE, "MADV_REMOVE"));
            assertEquals(Errno.EINVAL, e.errno());
            assertEquals(1, arena.getLong(PAGE));
        }
    }

    @Test
    void discardRejectsWhatIsNotWholePagesInsideTheArena() {
        try (TrackedArena arena = TrackedArena.builder().size((long) PAGES * PAGE).backend(Backend.CARD_TABLE).open()) {
            for (long[] bad : new long[][]{{-PAGE, PAGE}, {1, PAGE}, {0, 1}, {0, 0}, {0, -PAGE}, {(PAGES - 1L) * PAGE, 2L * PAGE},
                    {(long) PAGES * PAGE, PAGE}, {PAGE, Long.MAX_VALUE & -PAGE}}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> arena.discard(bad[0], bad[1]),
                        () -> "discard(" + bad[0] + ", " + bad[1] + ")");
                assertTrue(e.getMessage().startsWith("discard(" + bad[0] + ", " + bad[1] + ")"), e.getMessage());
                assertTrue(e.getMessage().contains("whole pages") || e.getMessage().contains("past the arena's end"), e.getMessage());
            }
            arena.discard(0, (long) PAGES * PAGE);
            arena.close();
            IllegalStateException closed = assertThrows(IllegalStateException.class, () -> arena.discard(0, PAGE));
            assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
        }
    }

    @ParameterizedTest
    @BackendsWith(Backend.Trait.COPY_BEFORE_WRITE)
    void discardIsRefusedWhileACopyBeforeWriteRuns(Backend backend) {
        try (TrackedArena arena = open(backend, false, false); CopyBeforeWrite copy = arena.copyBeforeWrite()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> arena.discard(0, PAGE));
            assertTrue(e.getMessage().contains("copy-before-write"), e.getMessage());
            assertTrue(copy.image().byteSize() > 0);
        }
    }

    @ParameterizedTest
    @BackendsWith
    void describeSaysHowDiscardsAreSeen(Backend backend) {
        try (TrackedArena arena = open(backend, false, false)) {
            assertTrue(arena.describe().endsWith(backend.discards()), arena.describe());
            assertTrue(backend.discards().startsWith(backend.has(Backend.Trait.SEES_DISCARDS) ? "discards seen" : "discards reported through discard() only"));
        }
    }

    /**
     * Discards in a loop on uffd-sync while a writer faults and the arena is collected again and again
     * ({@link DiscardsWhileFaulting}), in a child JVM watched from here: the handler once held every
     * event it read while one unprotect kept meeting EAGAIN, until no room was left to read the next
     * event, and the discarding threads, the handler and the collect then waited forever.
     */
    @Test
    void discardsInALoopWhileAWriterFaultsLeaveNobodyWaiting() throws Exception {
        NativeBackendsTest.assumeUsable(Backend.UFFD_SYNC);
        List<String> cmd = ChildJvm.command(List.of(), List.of(), ChildJvm.classPath(), DiscardsWhileFaulting.class, "30");
        ChildJvm.Outcome outcome = ChildJvm.runWatched(cmd, line -> line.startsWith("round "), 30, 300);
        assertEquals(0, outcome.exitCode(), outcome::output);
        assertEquals("round 29", outcome.lines().getLast(), outcome::output);
    }
}
