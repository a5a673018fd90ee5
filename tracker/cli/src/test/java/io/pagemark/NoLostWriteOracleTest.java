package io.pagemark;

import io.pagemark.testing.BackendsWith;
import io.pagemark.backend.MappedRegion;
import io.pagemark.backend.TestTrackers;
import io.pagemark.backend.TrackerOptions;
import io.pagemark.backend.UffdAsyncTracker;
import io.pagemark.linux.PagemapScan;
import io.pagemark.verify.NoLostWriteOracle;
import io.pagemark.verify.OracleConfig;
import io.pagemark.verify.OracleResult;
import io.pagemark.verify.ShadowSync;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The no-lost-write oracle on every backend usable here, and its teeth: collectors that break
 * docs/design.md's order must be caught losing writes. The oracle itself also runs on every kernel of the
 * kernel matrix; its teeth test the harness, which the host covers.
 */
class NoLostWriteOracleTest {
    private static final boolean IN_GUEST = System.getenv(KernelMatrix.GUEST_KERNEL_ENV) != null;
    /**
     * The host runs the full budget: 10^6 writes per backend. In a kernel-matrix guest, under software
     * emulation, a synchronous fault costs milliseconds and the write rate swings tenfold with the
     * host's load, so there the oracle runs a fixed 15 s per backend (tens to hundreds of collects
     * racing the writers) and only its outcome is asserted; its few thousand writes there discard one
     * in 64 (tens of discards per backend, where the default one in 4096 would make one or two).
     */
    private static final OracleConfig CONFIG = IN_GUEST
            ? OracleConfig.defaults().withMinWrites(0, Duration.ofSeconds(15), Duration.ofSeconds(15)).withDiscardOneIn(64)
            : OracleConfig.defaults();
    private static final int MIN_QUIESCENT_CHECKS = IN_GUEST ? 5 : 10;

    @KernelMatrix
    @ParameterizedTest(name = "{0}")
    @BackendsWith
    void noWriteIsLost(Backend backend) {
        Capabilities.Support support = Capabilities.probe().backends().get(backend);
        Assumptions.assumeTrue(support.usable(), () -> "skipped: " + backend + " is not usable here: " + support.reason());
        OracleResult r = NoLostWriteOracle.run(backend, CONFIG);
        System.out.printf("oracle %s: %d writes, %d discards, %d collects, %d pages reported, %d quiescent checks, %d lost in %.1f s%n",
                backend, r.writes(), r.discards(), r.collects(), r.pagesReported(), r.quiescentChecks(), r.lost(), r.seconds());
        assertEquals(0, r.lost(), () -> String.join("\n", r.losses()));
        assertTrue(r.writes() >= CONFIG.minWrites(), "at least " + CONFIG.minWrites() + " writes, made " + r.writes());
        assertTrue(r.quiescentChecks() >= MIN_QUIESCENT_CHECKS, "quiescent checks: " + r.quiescentChecks());
        assertTrue(r.pagesReported() > 0);
        assertTrue(r.discards() > 0, "the writers discarded nothing: " + r);
    }

    /** Reads every page's contents, then collects: a write between the read and the re-protect is never seen again. */
    private static final ShadowSync READS_BEFORE_REPROTECT = (arena, shadow) -> {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment early = a.allocate(arena.size());
            MemorySegment.copy(arena.segment(), 0, early, 0, arena.size());
            DirtyPages dirty = arena.collect();
            ShadowSync.copyPages(dirty, early, shadow);
            return dirty;
        }
    };

    private static final OracleConfig SHORT = OracleConfig.defaults().withArenaBytes(1 << 20)
            .withMinWrites(0, Duration.ofSeconds(1), Duration.ofSeconds(1));

    /**
     * 16 MiB: a write the broken collector mis-copies shows at a quiescent check only if nothing rewrote
     * its page in between; over 256 pages two card-table writers (10^7 writes/s) rewrite every page
     * within microseconds, and the loss is hidden more often than not.
     */
    private static final OracleConfig TEETH = SHORT.withArenaBytes(16 << 20);

    @ParameterizedTest(name = "{0}")
    @BackendsWith(without = Backend.Trait.NEEDS_WRITER_PAUSE)
    void readingBeforeReprotectingIsCaught(Backend backend) {
        Capabilities.Support support = Capabilities.probe().backends().get(backend);
        Assumptions.assumeTrue(support.usable(), () -> "skipped: " + backend + " is not usable here: " + support.reason());
        try (TrackedArena arena = TrackedArena.builder().size(TEETH.arenaBytes()).backend(backend).open()) {
            OracleResult r = NoLostWriteOracle.run(arena, new WriterGate(), TEETH, READS_BEFORE_REPROTECT);
            assertTrue(r.lost() > 0, "the oracle missed the losses of a collector reading before re-protecting: " + r);
            assertTrue(r.losses().getFirst().contains("was never reported by backend " + backend), r.losses().getFirst());
        }
    }

    /**
     * A re-arm (arm's and each collect's re-protect, which re-protects only the pages unprotected
     * since) that skips one of the pages it should protect: writes to it are never faulted, hence
     * never recorded, and the oracle must see them lost.
     */
    @ParameterizedTest(name = "{0}")
    @BackendsWith(Backend.Trait.NATIVE_FAULT_PATH)
    void aRearmSkippingOnePageIsCaught(Backend backend) {
        Capabilities.Support support = Capabilities.probe().backends().get(backend);
        Assumptions.assumeTrue(support.usable(), () -> "skipped: " + backend + " is not usable here: " + support.reason());
        try (TrackedArena arena = TrackedArena.map(backend, "test: re-arm skipping a page", TEETH.arenaBytes(), false,
                region -> TestTrackers.rearmSkippingOnePage(backend.open(region, TrackerOptions.DEFAULTS)), null)) {
            OracleResult r = NoLostWriteOracle.run(arena, new WriterGate(), TEETH, ShadowSync.CORRECT);
            assertTrue(r.lost() > 0, "the oracle missed the losses of a re-arm skipping a page: " + r);
            assertTrue(r.losses().getFirst().contains("was never reported by backend " + backend), r.losses().getFirst());
        }
    }

    /** A PAGEMAP_SCAN consumer that drops the last region of every page-out (a walk_end bug). */
    private static final class DropsLastRegion extends PagemapScan {
        DropsLastRegion() {
            super(PagemapScan.DEFAULT_VECTOR_LENGTH);
        }

        @Override
        protected void pageOut(MemorySegment regions, int count, RegionSink sink) {
            super.pageOut(regions, Math.max(0, count - 1), sink);
        }
    }

    private static final class BrokenScanTracker extends UffdAsyncTracker {
        BrokenScanTracker(MappedRegion region) {
            super(region, TrackerOptions.DEFAULTS.forcePopulate(), new DropsLastRegion());
        }
    }

    /**
     * A slow uffd-sync handler (test C; ring and collector are the production ones) pausing 50 µs
     * between its two steps. Unprotect-then-record loses nothing however long the pause; record-then-
     * unprotect lets the collector drain the record and re-protect the page before the late unprotect
     * opens it again, unrecorded: the oracle must catch that.
     */
    @ParameterizedTest(name = "record first: {0}")
    @ValueSource(booleans = {false, true})
    void theFaultPathOrderDecidesWhetherWritesAreLost(boolean recordFirst) {
        String unusable = Backend.UFFD_SYNC.unusableReason();
        Assumptions.assumeTrue(unusable == null, () -> "skipped: uffd-sync is not usable here: " + unusable);
        // No discards: the test handler registers without EVENT_REMOVE and reads no events, so a plain MADV_DONTNEED
        // (which the oracle makes on a backend that sees discards) would be a loss of the test tracker, not of the order.
        OracleConfig twoSeconds = SHORT.withMinWrites(0, Duration.ofSeconds(2), Duration.ofSeconds(2)).withDiscardOneIn(0);
        // Losses need a collect to fall inside the pause: runs of 2 s until one shows them (at most 5; the right order gets one).
        OracleResult r = null;
        for (int run = 0; run < (recordFirst ? 5 : 1) && (r == null || r.ok()); run++) {
            try (TrackedArena arena = TrackedArena.map(Backend.UFFD_SYNC, "test: slow handler", SHORT.arenaBytes(), false,
                    region -> TestTrackers.uffdSyncWithSlowHandler(region, 50_000, recordFirst), null)) {
                r = NoLostWriteOracle.run(arena, new WriterGate(), twoSeconds, ShadowSync.CORRECT);
            }
        }
        OracleResult result = r;
        System.out.printf("slow handler, record first %s: %d writes, %d collects, %d lost%n", recordFirst, r.writes(), r.collects(), r.lost());
        if (recordFirst) {
            assertTrue(r.lost() > 0, "the oracle missed the losses of a fault path recording before unprotecting: " + r);
            assertTrue(r.losses().getFirst().contains("was never reported by backend uffd-sync"), r.losses().getFirst());
        } else {
            assertEquals(0, r.lost(), () -> String.join("\n", result.losses()));
            assertTrue(r.writes() > 0 && r.quiescentChecks() >= 10, r.toString());
        }
    }

    /** A native fault path that unprotects its whole window but records it one page short: the oracle must catch it. */
    @ParameterizedTest(name = "{0}")
    @BackendsWith(Backend.Trait.NATIVE_FAULT_PATH)
    void aWindowRecordedOnePageShortIsCaught(Backend backend) {
        Capabilities.Support support = Capabilities.probe().backends().get(backend);
        Assumptions.assumeTrue(support.usable(), () -> "skipped: " + backend + " is not usable here: " + support.reason());
        try (TrackedArena arena = TrackedArena.map(backend, "test: runs recorded one page short", TEETH.arenaBytes(), false,
                region -> TestTrackers.recordingRunsShort(backend, region, 1), null)) {
            OracleResult r = NoLostWriteOracle.run(arena, new WriterGate(), TEETH, ShadowSync.CORRECT);
            assertTrue(r.lost() > 0, "the oracle missed the losses of a fault path recording its window one page short: " + r);
            assertTrue(r.losses().getFirst().contains("was never reported by backend " + backend), r.losses().getFirst());
        }
    }

    @Test
    void droppingTheLastRangeOfAPageOutIsCaught() {
        String unusable = Backend.UFFD_ASYNC.unusableReason();
        Assumptions.assumeTrue(unusable == null, () -> "skipped: uffd-async is not usable here: " + unusable);
        try (TrackedArena arena = TrackedArena.map(Backend.UFFD_ASYNC, "test: broken scanner", SHORT.arenaBytes(), false,
                BrokenScanTracker::new, null)) {
            OracleResult r = NoLostWriteOracle.run(arena, new WriterGate(), SHORT, ShadowSync.CORRECT);
            assertTrue(r.lost() > 0, "the oracle missed the losses of a scanner dropping regions: " + r);
        }
    }

    /**
     * Discards whose reports are dropped: the handler threads' (uffd-sync, uffd-sigbus: as a
     * registration without EVENT_REMOVE would) and discard()'s (every backend; on mprotect nothing
     * else sees a discard). The oracle, discarding one write in 64, must find the emptied pages.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"uffd-sync", "uffd-sigbus", "mprotect"})
    void droppedDiscardReportsAreCaught(String name) {
        Backend backend = Backend.parse(name);
        Capabilities.Support support = Capabilities.probe().backends().get(backend);
        Assumptions.assumeTrue(support.usable(), () -> "skipped: " + backend + " is not usable here: " + support.reason());
        OracleConfig config = SHORT.withDiscardOneIn(64);
        try (TrackedArena arena = TrackedArena.map(backend, "test: discard reports dropped", config.arenaBytes(), false,
                region -> backend.has(Backend.Trait.SEES_DISCARDS)
                        ? TestTrackers.droppingDiscardReports(backend.open(region, TrackerOptions.DEFAULTS))
                        : backend.open(region, TrackerOptions.DEFAULTS), null)) {
            arena.dropDiscardReports = true;
            OracleResult r = NoLostWriteOracle.run(arena, new WriterGate(), config, ShadowSync.CORRECT);
            System.out.printf("%s, discard reports dropped: %d writes, %d discards, %d lost%n", backend, r.writes(), r.discards(), r.lost());
            assertTrue(r.discards() > 0, r.toString());
            assertTrue(r.lost() > 0, "the oracle missed the losses of dropped discard reports: " + r);
        }
    }
}
