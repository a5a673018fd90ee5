package io.pagemark.backend;

import java.lang.foreign.MemorySegment;

/** Trackers that only tests build: a uffd-sync tracker without handler threads, and one whose fault path has the wrong order. */
public final class TestTrackers {
    private TestTrackers() {}

    /** uffd-sync with no handler thread: a write to a protected page blocks in the kernel until close() unregisters. */
    public static PageTracker uffdSyncWithoutHandlers(MappedRegion region) {
        UffdRegistration uffd = new UffdRegistration(region, 0, false);
        return new UffdSyncTracker(region, TrackerOptions.DEFAULTS, uffd) {};
    }

    /**
     * uffd-sync whose handler (test C, test_fault_paths.c) records a fault before it unprotects the
     * page, pausing {@code pauseNanos} in between as a preempted handler would: the order DESIGN.md
     * says loses writes. Everything else (ring, collector) is the production code.
     */
    public static PageTracker uffdSyncRecordingBeforeUnprotecting(MappedRegion region, long pauseNanos) {
        UffdRegistration uffd = new UffdRegistration(region, 0, false);
        return new RecordingFirst(region, uffd, pauseNanos);
    }

    private static final class RecordingFirst extends UffdSyncTracker {
        private final MemorySegment handler;

        RecordingFirst(MappedRegion region, UffdRegistration uffd, long pauseNanos) {
            super(region, TrackerOptions.DEFAULTS, uffd);
            this.handler = TestNatives.startReversedHandler(uffdDescriptor(), region, ring(), pauseNanos);
        }

        @Override
        public String describe() {
            return "uffd-sync recording before unprotecting (broken on purpose)";
        }

        @Override
        protected void stopTracking() {
            TestNatives.stopReversedHandler(handler); // before the descriptor is closed under it
            super.stopTracking();
        }
    }
}
