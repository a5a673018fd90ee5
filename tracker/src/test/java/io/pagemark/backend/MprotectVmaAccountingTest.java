package io.pagemark.backend;

import io.pagemark.linux.Libc;
import io.pagemark.nativelib.FaultPaths;
import io.pagemark.nativelib.NativeLibrary;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.SplittableRandom;
import java.util.concurrent.CyclicBarrier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The VMA count the mprotect handler keeps (to stay under vm.max_map_count) against the kernel's own:
 * the VMAs of /proc/self/maps that overlap the arena, after 20,000 random single-page faults (far enough
 * below the limit that nothing degrades), after two threads' faults at every bitmap word's edge, and
 * after the collect that re-protects them; near a small budget, faults join runs and every page the
 * kernel holds writable is reported.
 */
class MprotectVmaAccountingTest {
    /** The VMAs of this process that overlap [address, address + size). */
    private static long vmasOverlapping(long address, long size) throws IOException {
        try (Stream<String> maps = Files.lines(Path.of("/proc/self/maps"))) {
            return maps.filter(line -> {
                String[] range = line.substring(0, line.indexOf(' ')).split("-");
                long start = Long.parseUnsignedLong(range[0], 16), end = Long.parseUnsignedLong(range[1], 16);
                return start < address + size && end > address;
            }).count();
        }
    }

    /** The pages of [address, address + size) that a writable VMA of this process covers. */
    private static BitSet writablePages(long address, long size) throws IOException {
        BitSet writable = new BitSet();
        try (Stream<String> maps = Files.lines(Path.of("/proc/self/maps"))) {
            maps.forEach(line -> {
                String[] fields = line.split(" ");
                String[] range = fields[0].split("-");
                long start = Math.max(address, Long.parseUnsignedLong(range[0], 16));
                long end = Math.min(address + size, Long.parseUnsignedLong(range[1], 16));
                if (start < end && fields[1].charAt(1) == 'w') writable.set((int) ((start - address) / 4096), (int) ((end - address) / 4096));
            });
        }
        return writable;
    }

    /** A fresh mapping of {@code size} bytes under mprotect, passed to {@code test}, then closed and unmapped. */
    private static void withTracker(long size, TrackerTest test) throws Exception {
        assumeTrue(NativeLibrary.status().loaded(), NativeLibrary.status().detail());
        long address = Libc.mmapAnonymous(size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_NORESERVE);
        MemorySegment memory = MemorySegment.ofAddress(address).reinterpret(size);
        MprotectTracker tracker = MprotectTracker.open(new MappedRegion(address, size, 4096, memory), TrackerOptions.DEFAULTS);
        try {
            test.run(tracker, address, memory);
        } finally {
            tracker.close();
            Libc.munmap(address, size);
            tracker.regionUnmapped();   // what TrackedArena.close() does after unmapping
        }
    }

    private interface TrackerTest {
        void run(MprotectTracker tracker, long address, MemorySegment memory) throws Exception;
    }

    /**
     * Two threads fault on the last page of every 64-page word and the first of the next, at once: the
     * two pages of an edge change in two words, which the count reconciles (vma_count.c). Five rounds,
     * each checked against the kernel and then re-protected.
     */
    @Test
    void theCountStaysExactWhenNeighboursAcrossAWordEdgeFaultAtOnce() throws Exception {
        long size = 64L << 20, pages = size / 4096;
        withTracker(size, (tracker, address, memory) -> {
            tracker.arm();
            for (int round = 0; round < 5; round++) {
                CyclicBarrier start = new CyclicBarrier(2);
                Thread[] writers = new Thread[2];
                for (int side = 0; side < 2; side++) {
                    long offset = 63 + side; // page 64k + 63 and page 64(k + 1)
                    writers[side] = Thread.ofPlatform().start(() -> {
                        try {
                            start.await();
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                        for (long page = offset; page < pages; page += 64) memory.set(ValueLayout.JAVA_BYTE, page * 4096, (byte) 1);
                    });
                }
                for (Thread writer : writers) writer.join();
                long vmas = vmasOverlapping(address, size);
                assertEquals(vmas - 1, tracker.counter(FaultPaths.Counter.VMA_BOUNDARIES), "round " + round);
                tracker.collect(new PageSet(address, 4096, pages));
                assertEquals(0, tracker.counter(FaultPaths.Counter.VMA_BOUNDARIES), "round " + round + ", re-protected");
            }
        });
    }

    /** A budget this small makes random faults join runs: the count stays within it, and every page the kernel holds writable is reported. */
    private static final int SMALL_BUDGET = 600;

    /** Random writes to half of 8192 pages near SMALL_BUDGET, with the fault paths' runs recorded {@code recordedShort} pages short; the pages writable but not reported. */
    private static BitSet writableUnreportedNearASmallBudget(int recordedShort) throws Exception {
        BitSet unreported = new BitSet();
        long size = 8192L * 4096, pages = size / 4096;
        withTracker(size, (tracker, address, memory) -> {
            tracker.recordRunsShort(recordedShort);
            tracker.arm();
            FaultPaths.setVmaBudget(SMALL_BUDGET);
            try {
                BitSet written = new BitSet();
                SplittableRandom random = new SplittableRandom(11);
                while (written.cardinality() < pages / 2) {
                    int page = (int) random.nextLong(pages);
                    memory.set(ValueLayout.JAVA_BYTE, page * 4096L, (byte) 1);
                    written.set(page);
                }
                long boundaries = tracker.counter(FaultPaths.Counter.VMA_BOUNDARIES);
                assertEquals(vmasOverlapping(address, size) - 1, boundaries, "the count is the kernel's");
                assertTrue(boundaries <= SMALL_BUDGET, "within the budget: " + boundaries);
                assertTrue(tracker.counter(FaultPaths.Counter.DEGRADATIONS) > 0, "faults joined runs");
                BitSet writable = writablePages(address, size);
                PageSet reported = new PageSet(address, 4096, pages);
                tracker.collect(reported);
                BitSet reportedPages = new BitSet();
                for (int page = 0; page < pages; page++) if (reported.contains(page)) reportedPages.set(page);
                long joined = tracker.counter(FaultPaths.Counter.JOINED_PAGES);
                System.out.println("near a budget of " + SMALL_BUDGET + ": written " + written.cardinality() + ", reported "
                        + reportedPages.cardinality() + ", joined " + joined + ", " + tracker.describe());
                if (recordedShort == 0) {
                    assertTrue(reportedPages.cardinality() - written.cardinality() <= joined, "beyond the written pages, only the joined ones are reported");
                }
                unreported.or(writable);
                unreported.andNot(reportedPages);
            } finally {
                MprotectTracker.refreshVmaBudget();
            }
        });
        return unreported;
    }

    @Test
    void nearTheBudgetFaultsJoinRunsAndReportEveryPageTheyUnprotect() throws Exception {
        assertEquals(new BitSet(), writableUnreportedNearASmallBudget(0));
    }

    /** The teeth of the check above: runs recorded a page short leave writable pages unreported. */
    @Test
    void runsRecordedOnePageShortNearTheBudgetAreCaught() throws Exception {
        assertFalse(writableUnreportedNearASmallBudget(1).isEmpty());
    }

    @Test
    void theBoundaryCountIsTheKernelsVmaCount() throws IOException {
        assumeTrue(NativeLibrary.status().loaded(), NativeLibrary.status().detail());
        long size = 1L << 30, pages = size / 4096;
        long address = Libc.mmapAnonymous(size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_NORESERVE);
        MemorySegment memory = MemorySegment.ofAddress(address).reinterpret(size);
        // No page of the fresh mapping is touched: the backend gives it its anon_vma (MprotectTracker.open).
        MprotectTracker tracker = MprotectTracker.open(new MappedRegion(address, size, 4096, memory), TrackerOptions.DEFAULTS);
        try {
            tracker.arm();
            assertEquals(1, vmasOverlapping(address, size), "armed: one read-only VMA");
            SplittableRandom random = new SplittableRandom(3);
            for (int i = 0; i < 20_000; i++) memory.set(ValueLayout.JAVA_BYTE, random.nextLong(pages) * 4096, (byte) 1);
            long vmas = vmasOverlapping(address, size);
            assertTrue(vmas > 30_000, "the writes split the arena's VMA many times: " + vmas);
            assertEquals(0, tracker.counter(FaultPaths.Counter.DEGRADATIONS), "far from the limit: no degradation");
            assertEquals(vmas - 1, tracker.counter(FaultPaths.Counter.VMA_BOUNDARIES), () -> "each boundary counted is one more VMA ("
                    + tracker.counter(FaultPaths.Counter.UNPROTECT_RETRIES) + " unprotect retries)");
            tracker.collect(new PageSet(address, 4096, pages));
            assertEquals(0, tracker.counter(FaultPaths.Counter.VMA_BOUNDARIES));
            assertEquals(1, vmasOverlapping(address, size), "the re-protect merged them back into one");
        } finally {
            tracker.close();
            Libc.munmap(address, size);
            tracker.regionUnmapped();   // what TrackedArena.close() does after unmapping
        }
    }
}
