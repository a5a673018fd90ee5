package io.pagemark.backend;

import java.lang.foreign.MemorySegment;

/**
 * Trackers that only tests build: uffd-sync without handler threads, with a slow test handler in either
 * order, trackers that drop their discard reports, native trackers whose fault paths record every
 * run short, and native trackers whose re-arm skips a page (deliberate bugs, the tests' teeth).
 */
public final class TestTrackers {
    private TestTrackers() {}

    /**
     * Makes a uffd-sync or uffd-sigbus tracker forget every discard its handler threads report, as one
     * registered without UFFD_FEATURE_EVENT_REMOVE would: the discard tests' teeth.
     */
    public static PageTracker droppingDiscardReports(PageTracker tracker) {
        ((UffdFaultTracker) tracker).dropDiscardReports = true;
        return tracker;
    }

    /**
     * The native backend {@code backend} (mprotect, uffd-sigbus or uffd-sync) with its default options
     * (the adaptive window), whose fault paths unprotect the whole run but record it {@code pages} pages
     * short: the last page of each window is writable and unrecorded, which the checks must catch.
     */
    public static PageTracker recordingRunsShort(io.pagemark.Backend backend, MappedRegion region, int pages) {
        NativeFaultTracker tracker = switch (backend) {
            case MPROTECT -> MprotectTracker.open(region, TrackerOptions.DEFAULTS);
            case UFFD_SIGBUS -> UffdSigbusTracker.open(region, TrackerOptions.DEFAULTS);
            case UFFD_SYNC -> UffdSyncTracker.open(region, TrackerOptions.DEFAULTS);
            default -> throw new IllegalArgumentException(backend + " has no native fault path");
        };
        tracker.recordRunsShort(pages);
        return tracker;
    }

    /**
     * {@code tracker} (a native backend's) with its re-arm broken on purpose (the native teeth hook,
     * rearm.c): every re-protect, at arm and at each collect, leaves one of its pages writable, so the
     * writes to that page go unrecorded.
     */
    public static PageTracker rearmSkippingOnePage(PageTracker tracker) {
        ((NativeFaultTracker) tracker).testRearmSkipsOnePage(true);
        return tracker;
    }

    /** uffd-sync with no handler thread: a write to a protected page blocks in the kernel until close() unregisters. */
    public static PageTracker uffdSyncWithoutHandlers(MappedRegion region) {
        UffdRegistration uffd = new UffdRegistration(region, 0, false);
        return new UffdSyncTracker(region, TrackerOptions.DEFAULTS, uffd) {};
    }

    /**
     * uffd-sync whose one handler thread (test C, test_fault_paths.c) pauses {@code pauseNanos}
     * between unprotecting and recording, as a preempted handler would; with {@code recordFirst} it
     * records before it unprotects: the order docs/design.md says loses writes. The ring and the collector
     * are the production ones.
     */
    public static PageTracker uffdSyncWithSlowHandler(MappedRegion region, long pauseNanos, boolean recordFirst) {
        UffdRegistration uffd = new UffdRegistration(region, 0, false);
        return new SlowHandler(region, uffd, pauseNanos, recordFirst);
    }

    private static final class SlowHandler extends UffdSyncTracker {
        private final MemorySegment handler;
        private final boolean recordFirst;

        SlowHandler(MappedRegion region, UffdRegistration uffd, long pauseNanos, boolean recordFirst) {
            super(region, TrackerOptions.DEFAULTS, uffd);
            this.recordFirst = recordFirst;
            this.handler = TestNatives.startSlowHandler(uffdDescriptor(), region, ring(), pauseNanos, recordFirst);
        }

        @Override
        public String describe() {
            return "uffd-sync with a slow test handler " + (recordFirst ? "recording before unprotecting (broken on purpose)" : "unprotecting, then recording");
        }

        @Override
        protected void stopTracking() {
            TestNatives.stopSlowHandler(handler); // before the descriptor is closed under it
            super.stopTracking();
        }
    }
}
