package io.pagemark;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * After arm, write a known set of pages in every way that matters, and check what collect reports:
 * exactly that set on hardware backends that unprotect one page per fault, a superset on card-table
 * (mapped from cards) and on the native backends' adaptive window (their default), whose extra pages
 * each continue a run of reported pages (a window reaching past the last page written). Runs on every
 * kernel of the kernel matrix.
 */
@KernelMatrix
class ExactSetTest {
    private static final long PAGES = 512;

    static Stream<Arguments> backends() {
        List<Arguments> out = new ArrayList<>();
        for (Backend b : Backend.with()) {
            out.add(Arguments.of(b, false, false));
            // The populate-before-arm path of the userfaultfd backends, forced.
            if (b.has(Backend.Trait.USERFAULTFD)) out.add(Arguments.of(b, true, false));
            // The native backends' default, the adaptive window; the rows above set one page per fault.
            if (b.has(Backend.Trait.NATIVE_FAULT_PATH)) out.add(Arguments.of(b, false, true));
        }
        return out.stream();
    }

    private static TrackedArena open(Backend backend, boolean forcePopulate, boolean window) {
        Capabilities.Support support = Capabilities.probe().backends().get(backend);
        Assumptions.assumeTrue(support.usable(), () -> "skipped: " + backend + " is not usable here: " + support.reason());
        // The writes below come from the collecting thread itself, so soft-dirty's pause has nothing to stop.
        TrackedArena.Builder builder = TrackedArena.builder().size(PAGES * 4096).backend(backend).forcePopulate(forcePopulate)
                .writerPause(new WriterGate());
        if (backend.has(Backend.Trait.NATIVE_FAULT_PATH) && !window) builder.bulkPages(1);
        return builder.open();
    }

    /** Exactly the written pages where the backend is exact; else a superset, and for a window only pages continuing a reported run. */
    private static void assertReported(Backend backend, boolean window, java.util.Collection<Long> written, java.util.Collection<Long> reported) {
        TreeSet<Long> expected = new TreeSet<>(written);
        TreeSet<Long> got = new TreeSet<>(reported);
        if (backend.isHardware() && !window) {
            assertEquals(expected, got, backend + ": exactly the written pages");
            return;
        }
        assertTrue(got.containsAll(expected), backend + ": missing " + difference(expected, got));
        if (!window) return;
        TreeSet<Long> extra = difference(got, expected);
        for (long p : extra) assertTrue(got.contains(p - 1), backend + ": page " + p + " reported, unwritten, and continues no run: " + got);
        assertTrue(extra.size() <= expected.size(), backend + ": " + extra.size() + " unwritten pages reported for " + expected.size() + " written");
    }

    @ParameterizedTest(name = "{0} forcePopulate={1} window={2}")
    @MethodSource("backends")
    void collectReportsExactlyTheWrittenPages(Backend backend, boolean forcePopulate, boolean window, @org.junit.jupiter.api.io.TempDir Path tmp)
            throws IOException {
        try (TrackedArena arena = open(backend, forcePopulate, window)) {
            long page = arena.pageSize();
            // Some pages are populated before arm (written, or only read); the rest are never touched.
            for (long p = 0; p < PAGES; p += 3) arena.putByte(p * page, (byte) 7);
            for (long p = 1; p < PAGES; p += 3) arena.getByte(p * page + 100);
            arena.arm();
            assertTrue(arena.collect().isEmpty(), "nothing written since arm");

            TreeSet<Long> expected = new TreeSet<>();
            Random random = new Random(backend.ordinal() * 31L + (forcePopulate ? 1 : 0));
            for (int i = 0; i < 40; i++) {
                long p = random.nextLong(PAGES);
                arena.putLong(p * page + 8 * random.nextInt((int) (page / 8)), i + 1);   // populated, read-only and never-touched pages alike
                expected.add(p);
            }
            long readThenWrite = 301;   // a page read after arm, then written
            arena.getLong(readThenWrite * page);
            arena.putInt(readThenWrite * page + 12, 5);
            expected.add(readThenWrite);
            arena.putByte(0, (byte) 1);                            // the first page
            arena.putByte(arena.size() - 1, (byte) 1);             // the last byte of the last page
            expected.add(0L);
            expected.add(PAGES - 1);
            arena.putLong(200 * page - 4, -1L);                    // straddles pages 199 and 200
            expected.add(199L);
            expected.add(200L);
            arena.put(400 * page - 10, new byte[(int) (2 * page)], 0, (int) (2 * page));   // 399, 400, 401
            expected.addAll(List.of(399L, 400L, 401L));

            // A kernel-mode write through the API: read(2) from a file straight into pages 450-451, on every backend.
            Path file = tmp.resolve("data");
            Files.write(file, new byte[(int) page + 100]);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                int n = arena.read(ch, 450 * page + page / 2, (int) page + 100);
                assertEquals(page + 100, n);
                expected.addAll(List.of(450L, 451L));
            }

            DirtyPages dirty = arena.collect();
            assertReported(backend, window, expected, dirty.pages().boxed().toList());
            assertTrue(arena.collect().isEmpty(), "collect re-armed every reported page");

            // Written again after the re-arm: reported again, and only those.
            arena.putLong(5 * page, 1);
            arena.putLong(PAGES / 2 * page, 1);
            assertReported(backend, window, List.of(5L, PAGES / 2), arena.collect().pages().boxed().toList());
        }
    }

    /** Disarmed, writes take no fault and nothing is collected; armed again, exactly the new writes are. */
    @ParameterizedTest(name = "{0} forcePopulate={1} window={2}")
    @MethodSource("backends")
    void disarmStopsTrackingUntilArmStartsAFreshEpoch(Backend backend, boolean forcePopulate, boolean window) {
        try (TrackedArena arena = open(backend, forcePopulate, window)) {
            long page = arena.pageSize();
            arena.disarm();   // not armed yet: nothing to do
            arena.arm();
            for (long p = 0; p < 8; p++) arena.putLong(p * page, p);
            arena.disarm();
            assertTrue(!arena.isArmed());
            IllegalStateException e = assertThrows(IllegalStateException.class, arena::collect);
            assertEquals("collect() while not armed (before arm(), or after disarm() or collectAndStop()): call arm() to start tracking", e.getMessage());

            long faultsBefore = arena.stats().faults();
            boolean countsFaults = backend.isHardware() && faultsBefore >= 0;   // the native backends
            for (long p = 0; p < PAGES; p++) arena.putLong(p * page + 16, p);   // every page, the 8 written above included
            if (countsFaults) assertEquals(faultsBefore, arena.stats().faults(), backend + ": no write faulted while disarmed");
            arena.disarm();   // again: nothing to do

            arena.arm();
            assertTrue(arena.collect().isEmpty(), "the writes made while disarmed are forgotten");
            arena.putLong(3 * page, 1);
            arena.putLong((PAGES - 2) * page, 1);
            assertReported(backend, window, List.of(3L, PAGES - 2), arena.collect().pages().boxed().toList());
            if (countsFaults) assertTrue(arena.stats().faults() >= faultsBefore + 2, backend + ": armed again, writes fault again");
        }
    }

    /**
     * collectAndStop reports what collect would and stops tracking without re-protecting: the pages it
     * reported take their next write without a fault (on the backends that count faults), the others
     * still fault until disarm; arm, with or without a disarm first, starts a fresh epoch.
     */
    @ParameterizedTest(name = "{0} forcePopulate={1} window={2}")
    @MethodSource("backends")
    void collectAndStopReportsTheWrittenPagesAndLeavesThemWritable(Backend backend, boolean forcePopulate, boolean window) {
        try (TrackedArena arena = open(backend, forcePopulate, window)) {
            long page = arena.pageSize();
            boolean countsFaults = backend.isHardware() && arena.stats().faults() >= 0;   // the native backends
            for (boolean disarmFirst : new boolean[] {true, false}) {
                arena.arm();
                List<Long> written = List.of(2L, 3L, 100L, PAGES - 1);
                for (long p : written) arena.putLong(p * page + 64, p);
                assertReported(backend, window, written, arena.collectAndStop().pages().boxed().toList());
                assertTrue(!arena.isArmed());
                IllegalStateException e = assertThrows(IllegalStateException.class, arena::collect);
                assertEquals("collect() while not armed (before arm(), or after disarm() or collectAndStop()): call arm() to start tracking", e.getMessage());
                assertThrows(IllegalStateException.class, arena::collectAndStop);

                long faults = arena.stats().faults();
                for (long p : written) arena.putLong(p * page + 128, p);
                if (countsFaults) assertEquals(faults, arena.stats().faults(), backend + ": the pages reported were not re-protected");
                arena.putLong(50 * page, 1);   // never written: still protected (the stop unprotects nothing)
                if (countsFaults) assertEquals(faults + 1, arena.stats().faults(), backend + ": the pages not written stay protected until disarm");
                if (disarmFirst) {
                    arena.disarm();
                    faults = arena.stats().faults();
                    for (long p = 0; p < PAGES; p++) arena.putLong(p * page + 16, p);
                    if (countsFaults) assertEquals(faults, arena.stats().faults(), backend + ": no write faulted after disarm");
                }
                arena.arm();
                assertTrue(arena.collect().isEmpty(), "the writes made while stopped are forgotten");
                arena.putLong(7 * page, 1);
                arena.putLong(100 * page, 1);   // reported by the stop, re-protected by the arm
                assertReported(backend, window, List.of(7L, 100L), arena.collect().pages().boxed().toList());
                arena.disarm();
            }
        }
    }

    static Stream<Backend> copyBeforeWriteBackends() {
        return Backend.with(Backend.Trait.COPY_BEFORE_WRITE).stream();
    }

    /** Disarming while a copy-before-write runs must not make the pages it has not copied writable. */
    @ParameterizedTest
    @MethodSource("copyBeforeWriteBackends")
    void disarmDuringACopyBeforeWriteKeepsTheUncopiedPagesProtected(Backend backend) {
        try (TrackedArena arena = open(backend, false, true)) {
            long page = arena.pageSize();
            for (long p = 0; p < PAGES; p++) arena.putLong(p * page, p + 1);   // the contents at the start
            arena.arm();
            try (CopyBeforeWrite copy = arena.copyBeforeWrite()) {
                arena.disarm();
                for (long p = 0; p < PAGES; p++) arena.putLong(p * page, -1);
                for (long p = 0; p < PAGES; p++) {
                    assertEquals(p + 1, copy.image().get(java.lang.foreign.ValueLayout.JAVA_LONG, p * page), backend + ": page " + p + " copied before its write");
                }
                assertEquals(PAGES, copy.pagesCopiedByFaults());
            }
            long faults = arena.stats().faults();
            for (long p = 0; p < PAGES; p++) arena.putLong(p * page + 8, p);
            assertEquals(faults, arena.stats().faults(), backend + ": the copy ended and the arena is disarmed: no write faults");
        }
    }

    private static TreeSet<Long> difference(TreeSet<Long> a, TreeSet<Long> b) {
        TreeSet<Long> d = new TreeSet<>(a);
        d.removeAll(b);
        return d;
    }
}
