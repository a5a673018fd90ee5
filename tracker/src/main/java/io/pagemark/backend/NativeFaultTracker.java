package io.pagemark.backend;

import io.pagemark.linux.Errno;
import io.pagemark.linux.LinuxException;
import io.pagemark.nativelib.FaultPaths;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * What the native backends (uffd-sync, uffd-sigbus, mprotect) share: a native tracker whose fault
 * path (C, {@code tracker/src/main/c}) unprotects the faulting block and then records it in a
 * {@link FaultRing}, and the collect order of docs/design.md: drain the records, re-protect what was
 * drained, then return (the caller reads contents after that). Re-protecting is C's (rearm.c): the
 * drained pages' runs, adjacent runs merged into one call, or the whole region where that costs less.
 * Arming re-protects only what was unprotected since the last arm (the native side marks every
 * page it unprotects), so arming an arena that is mostly protected costs what was written, not its size.
 * <p>
 * Why that order loses nothing: a page is writable only after a fault path unprotected it, and
 * that fault path records it afterwards, so a writable page always has a record pending or being
 * written. Re-protecting a drained page ends its writable window; a write that lands between the
 * drain and the re-protect is in the contents the caller reads after collect returns, and a write
 * after the re-protect faults and is recorded again.
 * <p>
 * Subclasses supply the mechanism: how to protect and unprotect, how faults are delivered, and how
 * delivery stops on close.
 */
public abstract class NativeFaultTracker implements CopiesBeforeWrite {
    protected final MappedRegion region;
    protected final TrackerOptions options;
    /** The C tracker (pm_tracker_new). */
    protected final MemorySegment tracker;
    private final FaultRing ring;
    /** The pages drained by the collect in progress (a scratch set, cleared after each collect). */
    private final PageSet drained;
    /** The drained pages as the native re-protect reads them: a bitmap of the region, zero between collects. */
    private final Arena scratch = Arena.ofShared();
    private final MemorySegment drainedWords;
    /** Times a re-protect protected the whole region instead, after ENOMEM (mprotect near vm.max_map_count). */
    private long wholeRegionFallbacks;
    /** The C tracker's counters as they were when it was freed (indexed by the {@link FaultPaths.Counter}'s ordinal), or null while open. */
    private long[] finalCounters;
    /** The region's slot among the signal ranges (mprotect, uffd-sigbus), or -1. */
    private int signalRangeSlot = -1;
    private boolean closed;

    /**
     * Creates the ring and the C tracker. Faults are not delivered until the subclass starts its
     * fault path (adds its signal range, starts handler threads).
     *
     * @param nativeBackend the C backend that resolves the faults, by the name its file registers
     * @param uffd          the registered userfaultfd, or -1
     */
    protected NativeFaultTracker(MappedRegion region, TrackerOptions options, String nativeBackend, int uffd) {
        this.region = region;
        this.options = options;
        this.ring = new FaultRing(region.pageCount(), options.ringCapacityFor(region.pageCount()));
        try {
            this.tracker = FaultPaths.newTracker(nativeBackend, region.address(), region.pageCount(), region.pageSize(), uffd,
                    options.blockLog2(), ring.buffer(), ring.capacity(), ring.spillBitmap());
        } catch (RuntimeException e) {
            ring.close();
            throw e;
        }
        this.drained = new PageSet(region.address(), region.pageSize(), region.pageCount());
        this.drainedWords = scratch.allocate(ValueLayout.JAVA_LONG, (region.pageCount() + 63) / 64);
    }

    /** Tests only: the fault paths record each run {@code pages} pages short (see {@link FaultPaths#recordRunsShort}). */
    void recordRunsShort(int pages) {
        FaultPaths.recordRunsShort(tracker, pages);
    }

    /** The ring the fault paths write (tests start deliberately broken producers on it). */
    FaultRing ring() {
        return ring;
    }

    /**
     * Makes the chained SIGSEGV/SIGBUS handlers handle {@code opened}'s faults (mprotect, uffd-sigbus),
     * or closes it and throws when they cannot. Call before the region is first protected.
     */
    protected static <T extends NativeFaultTracker> T handlingFaultsInSignalHandlers(T opened) {
        NativeFaultTracker handled = opened;   // private members are not reachable through a type variable
        try {
            handled.signalRangeSlot = FaultPaths.addSignalRange(handled.tracker);
        } catch (RuntimeException e) {
            opened.close();
            throw e;
        }
        return opened;
    }

    /** Called before {@link #arm()} protects what is writable (populate, refresh budgets). */
    protected abstract void beforeProtectingAll();

    /**
     * Makes the whole region writable, stopping fault delivery, and releases the mechanism's
     * resources; the ring is still mapped. Signal handlers have stopped touching the tracker already.
     */
    protected abstract void stopTracking();

    @Override
    public void arm() {
        ensureOpen();
        beforeProtectingAll();
        // Records from here on are this arm's collects' (the re-arm below protects what was unprotected unrecorded before).
        FaultPaths.setRecording(tracker, true);
        // Forget what was recorded before: drain first, then protect. Draining after the protect
        // could discard the record of a write made after it: that page would stay writable, unrecorded.
        // Pages that changed without a fault path (a discard emptied them) are in the drain, not among
        // the native side's marks: the re-arm protects both.
        drainChanges(drained);
        drained.copyTo(drainedWords);
        try {
            wholeRegionFallbacks += FaultPaths.rearm(tracker, drainedWords);
        } finally {
            drained.clearIn(drainedWords);
        }
        drained.clear();
    }

    /** Should mprotect lack the room to unprotect (it never does for a whole region), pages stay protected: faults, never lost writes. */
    @Override
    public void disarm() {
        FaultPaths.setRecording(tracker, false); // no collect until the next arm, which forgets the records anyway
        unprotect(0, region.pageCount());
    }

    @Override
    public void collect(PageSet out) {
        ensureOpen();
        drainChanges(drained);
        drained.copyTo(drainedWords);
        try {
            wholeRegionFallbacks += FaultPaths.protectPages(tracker, drainedWords);
        } finally {
            drained.clearIn(drainedWords);
        }
        // Only now, re-protected, are the pages reported: the caller reads their contents after this.
        out.addAll(drained);
        drained.clear();
    }

    /**
     * The drain alone: no re-protect (no protect call, no TLB flush). The pages drained stay writable
     * and stay among the native side's marks of unprotected pages, so the next arm re-protects them.
     */
    @Override
    public void collectWithoutRearm(PageSet out) {
        ensureOpen();
        drainChanges(out);
    }

    /** Teeth for tests: while on, every re-protect leaves one of its pages writable, as a broken re-arm would. */
    void testRearmSkipsOnePage(boolean skip) {
        FaultPaths.testRearmSkipsOnePage(tracker, skip);
    }

    /** Times a re-protect had to protect the whole region instead (ENOMEM near vm.max_map_count). */
    protected final long wholeRegionFallbacks() {
        return wholeRegionFallbacks;
    }

    /**
     * Drains every fault recorded before this call into {@code into}. Subclasses whose faults are
     * recorded after the faulting store resumes (uffd-sync) first wait for those records.
     */
    protected void drain(PageSet into) {
        // Acquire (pm_counter): the spilled bits counted are visible to the harvest that follows.
        ring.drainInto(into, FaultPaths.counter(tracker, FaultPaths.Counter.SPILLED_ENTRIES));
    }

    /**
     * Drains the records ({@link #drain}) and adds the pages that changed without one, to be
     * re-protected with them (and reported, by a collect): the uffd backends' pages a discard emptied
     * (docs/discards.md). Default: the records alone.
     */
    protected void drainChanges(PageSet into) {
        drain(into);
    }

    /**
     * True if every fault path that unprotected a page before this call has recorded it by the time
     * this returns, as far as a bounded wait can tell (false: it could not tell). A signal handler
     * backend checks that its signal range is idle; uffd-sync's {@link #drain} waits for its handlers itself.
     */
    protected final boolean faultPathsRecorded() {
        if (signalRangeSlot < 0) return true;
        for (int attempt = 0; attempt < 1000; attempt++) {
            if (FaultPaths.signalRangeIdle(signalRangeSlot)) return true;
            Thread.yield(); // a handler preempted mid-fault needs the CPU to leave
        }
        return false;
    }

    /**
     * The native fault path does the copying (C, so that a writer never waits for a Java thread): see
     * pm_copy_before_write_start. The re-arm happens inside that call because it runs while the
     * fault paths are paused.
     */
    @Override
    public void startCopyBeforeWrite(MemorySegment states, MemorySegment image, MemorySegment delta, boolean keepRecords) {
        ensureOpen();
        beforeProtectingAll();
        if (!keepRecords) {
            drain(drained); // the records of writes nobody collects (made before a disarm): dropped so that the ring never fills
            drained.clear();
        }
        wholeRegionFallbacks += FaultPaths.startCopyBeforeWrite(tracker, states, image, delta);
    }

    @Override
    public void stopCopyBeforeWrite() {
        ensureOpen();
        FaultPaths.stopCopyBeforeWrite(tracker);
    }

    @Override
    public long pagesCopiedBeforeWrite() {
        return counter(FaultPaths.Counter.PAGES_COPIED);
    }

    @Override
    public boolean unprotect(long firstPage, long pageCount) {
        ensureOpen();
        int result = FaultPaths.unprotect(tracker, firstPage, pageCount);
        if (result == -Errno.ENOMEM) return false;
        if (result < 0) throw new LinuxException("pm_unprotect(pages " + firstPage + "+" + pageCount + ")", -result, null);
        return true;
    }

    @Override
    public long faults() {
        return counter(FaultPaths.Counter.FAULTS);
    }

    @Override
    public long degradations() {
        return counter(FaultPaths.Counter.FULL_RING_WAITS) + counter(FaultPaths.Counter.DEGRADATIONS);
    }

    /** One of the C tracker's counters; after close, its value at close. */
    protected final synchronized long counter(FaultPaths.Counter counter) {
        return finalCounters != null ? finalCounters[counter.ordinal()] : FaultPaths.counter(tracker, counter);
    }

    /** The settings every native backend shares, and what the ring went through. */
    protected String describeCommon() {
        StringBuilder sb = new StringBuilder();
        long bulk = options.bulkPages();
        if (bulk == TrackerOptions.ADAPTIVE) sb.append("adaptive window of 1 to ").append(TrackerOptions.WINDOW_MAX_PAGES).append(" pages");
        else sb.append("bulk unprotect ").append(bulk).append(bulk == 1 ? " page" : " pages");
        sb.append(", ring ").append(ring.capacity() >> 10).append(" KiB");
        long waits = counter(FaultPaths.Counter.FULL_RING_WAITS);
        if (waits > 0) {
            sb.append(" (found full ").append(waits).append(" times, ")
                    .append(counter(FaultPaths.Counter.SPILLED_ENTRIES)).append(" entries spilled to the bitmap)");
        }
        return sb.toString();
    }

    protected final void ensureOpen() {
        if (closed) throw new IllegalStateException("this tracker is closed");
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            // Copying stops before anything else: a fault path paused by a copy switch must not outlive the tracker.
            FaultPaths.stopCopyBeforeWrite(tracker);
            // Signal handlers stop next, and the region becomes writable in the same native call (a retried store never polls for a safepoint).
            if (signalRangeSlot >= 0) FaultPaths.stopSignalRange(signalRangeSlot);
            stopTracking();
        } finally {
            long[] counters = new long[FaultPaths.Counter.values().length];
            for (FaultPaths.Counter c : FaultPaths.Counter.values()) counters[c.ordinal()] = FaultPaths.counter(tracker, c);
            finalCounters = counters;
            FaultPaths.freeTracker(tracker);
            ring.close();
            scratch.close();
        }
    }

    /**
     * Removes the region's signal range once the region is unmapped: until then a fault that raced
     * close() is retried instead of being passed on to the JVM, which would take it for a crash.
     */
    @Override
    public synchronized void regionUnmapped() {
        if (signalRangeSlot < 0) return;
        FaultPaths.removeSignalRange(signalRangeSlot);
        signalRangeSlot = -1;
    }
}
