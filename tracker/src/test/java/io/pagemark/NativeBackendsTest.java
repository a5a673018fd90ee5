package io.pagemark;

import io.pagemark.testing.BackendsWith;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The native backends (uffd-sync, uffd-sigbus, mprotect) through the public API: bulk unprotect, kernel-mode writes, a small ring, options. */
class NativeBackendsTest {
    private static final int PAGE = 4096;
    private static final int PAGES = 256;

    static void assumeUsable(Backend backend) {
        String reason = Capabilities.probe().backends().get(backend).reason();
        assumeTrue(reason == null, () -> backend + " is not usable here: " + reason);
    }

    private static TrackedArena open(Backend backend, boolean forcePopulate) {
        assumeUsable(backend);
        return TrackedArena.builder().size((long) PAGES * PAGE).backend(backend).forcePopulate(forcePopulate).open();
    }

    private static BitSet pages(int... pages) {
        BitSet set = new BitSet();
        for (int p : pages) set.set(p);
        return set;
    }

    /** The exact sets themselves are ExactSetTest's; here: the populate path says how it populated. */
    @ParameterizedTest
    @BackendsWith({Backend.Trait.NATIVE_FAULT_PATH, Backend.Trait.USERFAULTFD})
    void forcedPopulateIsDescribed(Backend backend) {
        try (TrackedArena arena = open(backend, true)) {
            arena.arm();
            assertTrue(arena.describe().contains("populate before arm by MADV_POPULATE_READ"), arena.describe());
        }
        boolean offered = Capabilities.probe().userfaultfdFeatures().contains("WP_UNPOPULATED");
        try (TrackedArena arena = open(backend, false)) {
            arena.arm();
            assertTrue(arena.describe().contains(offered ? "WP_UNPOPULATED" : "populate before arm by"), arena.describe());
        }
    }

    @ParameterizedTest
    @BackendsWith(Backend.Trait.NATIVE_FAULT_PATH)
    void bulkUnprotectReportsWholeAlignedBlocks(Backend backend) {
        assumeUsable(backend);
        try (TrackedArena arena = TrackedArena.builder().size((long) PAGES * PAGE).backend(backend).bulkPages(16).open()) {
            assertTrue(arena.describe().contains("bulk unprotect 16 pages"), arena.describe());
            arena.arm();
            long faultsBefore = arena.stats().faults();
            arena.putLong(5L * PAGE, 1L);
            arena.putLong(40L * PAGE, 2L);
            BitSet expected = new BitSet();
            expected.set(0, 16);
            expected.set(32, 48);
            assertEquals(expected, arena.collect().bitSet());
            for (long off = 64L * PAGE; off < 128L * PAGE; off += PAGE) arena.putLong(off, off);
            assertEquals(2 + 4, arena.stats().faults() - faultsBefore, "64 sequential pages in blocks of 16: 4 faults");
            expected.clear();
            expected.set(64, 128);
            assertEquals(expected, arena.collect().bitSet());
        }
    }

    /**
     * The default adaptive window: sequential writes double it (1, 2, 4 ... 64 pages, so 127 pages take
     * 7 faults and are reported exactly), a write anywhere else takes one page, and it stops at the
     * arena's end.
     */
    @ParameterizedTest
    @BackendsWith(Backend.Trait.NATIVE_FAULT_PATH)
    void theAdaptiveWindowGrowsOnSequentialWritesOnly(Backend backend) {
        try (TrackedArena arena = open(backend, false)) {
            assertTrue(arena.describe().contains("adaptive window of 1 to 64 pages"), arena.describe());
            arena.arm();
            long faults = arena.stats().faults();
            for (int p = 0; p < 127; p++) arena.putLong((long) p * PAGE, p);
            assertEquals(7, arena.stats().faults() - faults, "127 sequential pages: windows of 1, 2, 4, 8, 16, 32 and 64 pages");
            BitSet expected = new BitSet();
            expected.set(0, 127);
            assertEquals(expected, arena.collect().bitSet());

            faults = arena.stats().faults();
            expected.clear();
            for (int p = 0; p < PAGES; p += 2) {
                arena.putLong((long) p * PAGE, p);
                expected.set(p);
            }
            assertEquals(PAGES / 2, arena.stats().faults() - faults, "every other page: one page per fault");
            assertEquals(expected, arena.collect().bitSet());

            faults = arena.stats().faults();
            for (int p = PAGES - 6; p < PAGES; p++) arena.putLong((long) p * PAGE, p);
            assertEquals(3, arena.stats().faults() - faults, "the last 6 pages: windows of 1, 2 and the 3 pages left of 4");
            expected.clear();
            expected.set(PAGES - 6, PAGES);
            assertEquals(expected, arena.collect().bitSet());
        }
    }

    /** The teeth of the window's record: a fault path recording its run one page short loses the run's last page. */
    @ParameterizedTest
    @BackendsWith(Backend.Trait.NATIVE_FAULT_PATH)
    void aWindowRecordedOnePageShortLosesItsLastPage(Backend backend) {
        assumeUsable(backend);
        try (TrackedArena arena = TrackedArena.map(backend, "test: runs recorded one page short", (long) PAGES * PAGE, false,
                region -> io.pagemark.backend.TestTrackers.recordingRunsShort(backend, region, 1), null)) {
            arena.arm();
            for (int p = 0; p < 127; p++) arena.putLong((long) p * PAGE, p);
            BitSet reported = arena.collect().bitSet();
            BitSet expected = new BitSet();
            expected.set(0, 127);
            for (int end : new int[] {1, 3, 7, 15, 31, 63, 127}) expected.clear(end - 1); // each window's last page
            assertEquals(expected, reported, "the last page of each window is written but never reported");
        }
    }

    /** A kernel-mode write through the API: read(2) from a file straight into the arena with {@code arena.read}. */
    private static int readFileInto(TrackedArena arena, Path dir, long offset, int length) throws IOException {
        try (FileChannel channel = FileChannel.open(dataFile(dir, length))) {
            return arena.read(channel, offset, length);
        }
    }

    /** The same outside the API (unsupported where the kernel's faults fail): FileChannel.read into a buffer over the segment. */
    private static int readFileRaw(TrackedArena arena, Path dir, long offset, int length) throws IOException {
        try (FileChannel channel = FileChannel.open(dataFile(dir, length))) {
            return channel.read(arena.segment().asSlice(offset, length).asByteBuffer());
        }
    }

    private static Path dataFile(Path dir, int length) throws IOException {
        Path file = dir.resolve("data");
        byte[] data = new byte[length];
        for (int i = 0; i < length; i++) data[i] = (byte) (i * 31 + 7);
        Files.write(file, data);
        return file;
    }

    @Test
    void uffdSyncResolvesKernelModeWritesAndReportsThem(@TempDir Path dir) throws IOException {
        assumeUsable(Backend.UFFD_SYNC);
        assumeTrue(Capabilities.probe().userfaultfdLimitation() == null, "userfaultfd is user-mode-only here: kernel-mode writes fail");
        try (TrackedArena arena = open(Backend.UFFD_SYNC, false)) {
            arena.arm();
            assertEquals(3 * PAGE, readFileInto(arena, dir, 30L * PAGE, 3 * PAGE));
            assertEquals((byte) 7, arena.getByte(30L * PAGE));
            assertEquals(pages(30, 31, 32), arena.collect().bitSet());
        }
    }

    @ParameterizedTest
    @BackendsWith(Backend.Trait.SIGNAL_HANDLER)
    void rawKernelModeWritesIntoProtectedPagesFailWithEfaultAndTheApiRouteDoesNot(Backend backend, @TempDir Path dir) throws IOException {
        try (TrackedArena arena = open(backend, false)) {
            assertEquals(TrackedArena.InFlightWrites.COLLECT_WAITS, arena.inFlightWrites());
            assertTrue(!arena.handlesKernelCopies());
            arena.arm();
            IOException e = assertThrows(IOException.class, () -> readFileRaw(arena, dir, 30L * PAGE, 3 * PAGE));
            assertTrue(e.getMessage().contains("Bad address"), "EFAULT: " + e.getMessage());
            assertTrue(arena.collect().isEmpty(), "nothing was written");
            arena.putLong(30L * PAGE, 1L); // a user-mode write unprotects page 30: the kernel writes it, then stops at 31
            assertEquals(PAGE, readFileRaw(arena, dir, 30L * PAGE, 3 * PAGE), "a short read, up to the first protected page");
            assertEquals(pages(30), arena.collect().bitSet());
            // Through arena.read: the whole range is made writable first, the read completes and is reported.
            assertEquals(3 * PAGE, readFileInto(arena, dir, 40L * PAGE, 3 * PAGE));
            assertEquals((byte) 7, arena.getByte(40L * PAGE));
            assertEquals(pages(40, 41, 42), arena.collect().bitSet());
        }
    }

    /** A ring far too small for the pages written between collects: faulting threads spill, nothing is lost. */
    @ParameterizedTest
    @BackendsWith(Backend.Trait.NATIVE_FAULT_PATH)
    void aSmallRingLosesNothing(Backend backend) {
        assumeUsable(backend);
        int pages = 4096;
        // One page per fault, so that every page takes a record (a window would need far fewer).
        try (TrackedArena arena = TrackedArena.builder().size((long) pages * PAGE).backend(backend).ringCapacity(4096).bulkPages(1).open()) {
            arena.arm();
            IntStream.range(0, pages).parallel().forEach(p -> arena.putLong((long) p * PAGE, p));
            BitSet all = new BitSet();
            all.set(0, pages);
            assertEquals(all, arena.collect().bitSet());
            assertTrue(arena.describe().contains("entries spilled to the bitmap"), arena.describe());
        }
    }

    /** CPUs each thread named {@code name} may run on (Cpus_allowed_list of /proc/self/task/N/status), sorted. */
    private static List<String> cpusOfThreadsNamed(String name) throws IOException {
        List<String> cpus = new ArrayList<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : tasks.toList()) {
                if (!Files.readString(task.resolve("comm")).trim().equals(name)) continue;
                for (String line : Files.readAllLines(task.resolve("status"))) {
                    if (line.startsWith("Cpus_allowed_list:")) cpus.add(line.substring(line.indexOf(':') + 1).trim());
                }
            }
        }
        Collections.sort(cpus);
        return cpus;
    }

    @Test
    void handlerThreadsCanBePinnedOnePerCpuAndSpin() throws IOException {
        assumeUsable(Backend.UFFD_SYNC);
        int cpus = Runtime.getRuntime().availableProcessors();
        assumeTrue(cpus >= 2 && cpus <= 16, "needs 2 to 16 CPUs, has " + cpus);
        List<String> before = cpusOfThreadsNamed("pagemark-uffd");
        try (TrackedArena arena = TrackedArena.builder().size((long) PAGES * PAGE).backend("uffd-sync")
                .handlerThreads(cpus).pinHandlerThreads(true).handlerSpinMicros(20).open()) {
            assertTrue(arena.describe().contains(cpus + " native handler threads pinned one per CPU spinning 20 µs before blocking"),
                    arena.describe());
            List<String> pinned = cpusOfThreadsNamed("pagemark-uffd");
            pinned.removeAll(before);
            List<String> expected = IntStream.range(0, cpus).mapToObj(Integer::toString).sorted().toList();
            assertEquals(expected, pinned, "handler i runs on CPU i only");
            arena.arm();
            for (int p = 0; p < PAGES; p += 2) arena.putLong((long) p * PAGE, p);
            assertEquals(PAGES / 2, arena.collect().pageCount());
        }
    }

    @Test
    void optionsAreValidatedWithClearMessages() {
        var builder = TrackedArena.builder();
        assertEquals("handlerThreads must be between 1 and 16, got 0",
                assertThrows(IllegalArgumentException.class, () -> builder.handlerThreads(0)).getMessage());
        assertEquals("bulkPages must be a power of two from 1 to 4096, got 12",
                assertThrows(IllegalArgumentException.class, () -> builder.bulkPages(12)).getMessage());
        assertEquals("ringCapacity must be 0 (sized to the arena) or a power of two from 4096 to 1073741824 bytes, got 5000",
                assertThrows(IllegalArgumentException.class, () -> builder.ringCapacity(5000)).getMessage());
        assertEquals("handlerSpinMicros must be between 0 and 10000, got -1",
                assertThrows(IllegalArgumentException.class, () -> builder.handlerSpinMicros(-1)).getMessage());
        assumeUsable(Backend.MPROTECT);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrackedArena.builder().size(PAGE).backend("mprotect").handlerThreads(2).open());
        assertEquals("handlerThreads(2) applies only to uffd-sync; this arena's backend is mprotect", e.getMessage());
    }

    @ParameterizedTest
    @BackendsWith(Backend.Trait.NATIVE_FAULT_PATH)
    void probeSaysUsableAndNativeLibraryLoaded(Backend backend) {
        Capabilities caps = Capabilities.probe();
        assertTrue(caps.nativeLibrary(), caps.nativeLibraryDetail());
        assertTrue(caps.nativeLibraryDetail().startsWith("loaded from "), caps.nativeLibraryDetail());
        assertEquals(new Capabilities.Support(true, null), caps.backends().get(backend));
    }
}
