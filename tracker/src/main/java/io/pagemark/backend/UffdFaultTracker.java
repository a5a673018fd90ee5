package io.pagemark.backend;

import io.pagemark.linux.Libc;
import io.pagemark.linux.Pagemap;
import io.pagemark.nativelib.FaultPaths;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The native fault paths on a registered userfaultfd (uffd-sync, uffd-sigbus): arming and
 * re-protecting are UFFDIO_WRITEPROTECT on the registration (uffd_wp.c); how a fault reaches the native code
 * (a handler thread reading the descriptor, or SIGBUS on the writer) is the subclass's.
 * <p>
 * <b>Discards</b> (docs/discards.md). MADV_DONTNEED empties PTEs, and an empty PTE of anonymous
 * memory carries no write protection (not even WP_UNPOPULATED's marker: the zap drops it), so
 * neither the emptying nor the writes after it would fault. The registration asks for
 * UFFD_FEATURE_EVENT_REMOVE: the kernel posts each MADV_DONTNEED/MADV_FREE range to the
 * descriptor before emptying it, and the madvise caller waits until a reader takes the message. The
 * native handler threads (one even under uffd-sigbus, whose faults are signals) read it and set
 * the range's pages in a bitmap. The emptying comes after that read, so a page taken from the
 * bitmap stays pending, and is reported by every collect, until a collect sees it emptied:
 * <ul>
 *   <li>its pagemap entry is neither present nor swapped (the zap happened: nothing else empties a
 *       PTE of an armed arena, where every page is present or a marker), or
 *   <li>it has lost its write protection without a fault path having recorded it (the zap
 *       happened and a write filled the page again), read before the drain that would hold the
 *       record, and only while every page has been protected since arm (not after a disarm).
 * </ul>
 * Then it is reported once more and protected again (an empty page populated first where the kernel
 * lacks WP_UNPOPULATED). A page given to MADV_FREE stays pending until the kernel reclaims it.
 */
public abstract class UffdFaultTracker extends NativeFaultTracker {
    /** Pagemap entries read per pread. */
    private static final int PAGEMAP_BATCH = 1 << 16;

    /** The registered userfaultfd; this tracker closes it. */
    protected final UffdRegistration uffd;
    private final Arena arena = Arena.ofShared();
    /** One bit per page, set by the handler threads for each UFFD_EVENT_REMOVE (uffd_sync.c). */
    private final MemorySegment discardBits;
    /** Each handler's progress counter as the collect in progress first saw it. */
    private final MemorySegment handlerSnapshot = arena.allocate(ValueLayout.JAVA_LONG, FaultPaths.MAX_HANDLER_THREADS);
    private final MemorySegment pagemapEntries;
    private final int pagemapFd;
    /** Pages a discard announced that no collect has seen emptied yet (see the class comment). */
    private final PageSet discarded;
    /** The pagemap entries of one drain's candidates (grown as needed). */
    private long[] entries = new long[0];
    /** Scratch sets of one drain: the discards taken after its drain, the pending pages seen emptied, and those of them to populate. */
    private final PageSet lateDiscards;
    private final PageSet settled;
    private final PageSet toPopulate;
    /** True while every page has been protected since the last arm (a disarm or unprotect makes it false). */
    private boolean protectedSinceArm;
    /** Test hook (TestTrackers): forget every discard the handlers report, as a tracker without EVENT_REMOVE would. */
    boolean dropDiscardReports;

    protected UffdFaultTracker(MappedRegion region, TrackerOptions options, String nativeBackend, UffdRegistration uffd) {
        super(region, options, nativeBackend, uffd.fd());
        this.uffd = uffd;
        this.discardBits = arena.allocate(((region.pageCount() + 63) >>> 6) * Long.BYTES, Long.BYTES);
        this.pagemapEntries = arena.allocate((long) PAGEMAP_BATCH * Pagemap.ENTRY_BYTES, Long.BYTES);
        this.pagemapFd = Libc.open("/proc/self/pagemap", Libc.O_RDONLY | Libc.O_CLOEXEC, Libc.NO_HINT);
        this.discarded = new PageSet(region.address(), region.pageSize(), region.pageCount());
        this.lateDiscards = new PageSet(region.address(), region.pageSize(), region.pageCount());
        this.settled = new PageSet(region.address(), region.pageSize(), region.pageCount());
        this.toPopulate = new PageSet(region.address(), region.pageSize(), region.pageCount());
    }

    /** Starts the native handler threads that read the descriptor (its faults under uffd-sync, its events under both). */
    protected final void startHandlers(int count, long spinNanos, boolean pinToCpus) {
        FaultPaths.startHandlers(tracker, count, spinNanos, pinToCpus, discardBits);
    }

    @Override
    protected void beforeProtectingAll() {
        uffd.beforeProtectingAll();
    }

    @Override
    public void arm() {
        super.arm();
        protectedSinceArm = true;
    }

    @Override
    public boolean unprotect(long firstPage, long pageCount) {
        protectedSinceArm = false;
        return super.unprotect(firstPage, pageCount);
    }

    /**
     * Waits until every handler that was mid-batch when this call began (between reading the
     * descriptor and recording what it read) has finished that batch, draining meanwhile (a handler
     * may be waiting for ring space), then drains what is left. A writer resumes only after its
     * handler's mid-batch mark is visible (the mark is stored before the read that takes the fault),
     * and so does a madvise caller whose discard a handler read: so a write or a discard that
     * completed before this call is either recorded already or has its handler waited for here.
     */
    @Override
    protected void drain(PageSet into) {
        FaultPaths.snapshotHandlers(tracker, handlerSnapshot);
        while (!FaultPaths.handlersPassed(tracker, handlerSnapshot)) {
            super.drain(into);
            Thread.yield(); // the handler may be preempted mid-batch: on few CPUs, spinning would only delay it
        }
        super.drain(into);
    }

    /**
     * The records, plus every pending discarded page (see the class comment): the pending pages'
     * entries are read first, then the records drained (so a fault path that unprotected a page before
     * the read has its record in the drain), then the discards of the handlers waited for are taken.
     * Those late discards (a handler that read the event had not set its bits at the first take; the
     * madvise may well have returned) have their entries read after that drain and are then decided
     * by both rules against a second drain, the same order as the first take's. Without this a page
     * emptied before the collect stays pending until some later collect sees it emptied, and a write
     * refilling it first (through a fault path: recorded) defers that indefinitely, reported again by
     * every collect; so does a read, which maps the zero page (present, not protected) before the
     * collect: the empty rule alone never settles it.
     */
    @Override
    protected void drainChanges(PageSet into) {
        takeDiscards(discarded);
        long[] candidates = discarded.runs();
        readEntries(candidates);
        boolean recorded = faultPathsRecorded();
        drain(into);
        decide(candidates, into, recorded && protectedSinceArm);
        takeDiscards(lateDiscards);
        if (!lateDiscards.isEmpty()) {
            long[] late = lateDiscards.runs();
            readEntries(late);
            boolean lateRecorded = faultPathsRecorded();
            drain(into);
            decide(late, into, lateRecorded && protectedSinceArm);
            discarded.addAll(lateDiscards);
            lateDiscards.clear();
        }
        // Every pending page is re-protected with the records: a collect reports them (those seen emptied
        // for the last time); an arm, which re-protects only what was unprotected, reports nothing.
        into.addAll(discarded);
        forEachRun(settled, (first, count) -> {
            for (long p = first; p < first + count; p++) discarded.remove(p);
        });
        // Without markers an empty page takes no protection: populate it (the zero page) so that the protect sticks.
        forEachRun(toPopulate, (first, count) -> Populate.pages(region, first, count));
        settled.clear();
        toPopulate.clear();
    }

    private void takeDiscards(PageSet into) {
        if (dropDiscardReports) {
            discardBits.fill((byte) 0);
            return;
        }
        into.takeAll(discardBits);
    }

    /** Reads the candidate pages' pagemap entries into {@link #entries}, in order, for {@link #decide}. */
    private void readEntries(long[] candidates) {
        long total = 0;
        for (int i = 0; i < candidates.length; i += 2) total += candidates[i + 1];
        if (entries.length < total) entries = new long[(int) Math.min(Integer.MAX_VALUE - 8, Math.max(total, entries.length * 2L))];
        int at = 0;
        for (int i = 0; i < candidates.length; i += 2) {
            for (long first = candidates[i], end = first + candidates[i + 1]; first < end; first += PAGEMAP_BATCH) {
                int n = (int) Math.min(PAGEMAP_BATCH, end - first);
                Pagemap.read(pagemapFd, region.address() + first * region.pageSize(), n, pagemapEntries);
                MemorySegment.copy(pagemapEntries, ValueLayout.JAVA_LONG, 0, entries, at, n);
                at += n;
            }
        }
    }

    /** Moves the candidates seen emptied into {@link #settled} (and {@link #toPopulate} where an empty page needs it). */
    private void decide(long[] candidates, PageSet recordedPages, boolean unprotectedMeansEmptied) {
        boolean markers = uffd.unpopulatedMarkers();
        int at = 0;
        for (int i = 0; i < candidates.length; i += 2) {
            for (long p = candidates[i], end = p + candidates[i + 1]; p < end; p++) {
                long entry = entries[at++];
                boolean empty = (entry & (Pagemap.PRESENT_BIT | Pagemap.SWAP_BIT)) == 0;
                boolean unprotected = (entry & Pagemap.UFFD_WP_BIT) == 0;
                if (empty || (unprotectedMeansEmptied && unprotected && !recordedPages.contains(p))) {
                    settled.add(p);
                    if (empty && !markers) toPopulate.add(p);
                }
            }
        }
    }

    private interface RunAction {
        void apply(long first, long count);
    }

    private static void forEachRun(PageSet pages, RunAction action) {
        long[] runs = pages.runs();
        for (int i = 0; i < runs.length; i += 2) action.apply(runs[i], runs[i + 1]);
    }

    /**
     * Unregisters (releasing every writer blocked in a fault, even if no handler is left to serve
     * it), joins the handler threads (no handler reads the descriptor or writes the ring any more),
     * then closes the descriptor.
     */
    @Override
    protected void stopTracking() {
        try {
            uffd.unregister();
        } finally {
            try {
                FaultPaths.stopHandlers(tracker);
            } finally {
                try {
                    uffd.close();
                } finally {
                    Libc.close(pagemapFd);
                    arena.close();
                }
            }
        }
    }
}
