package io.pagemark.agent;

import io.pagemark.Backend;
import io.pagemark.DirtyPages;
import io.pagemark.TrackedArena;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the woven hooks do, in the running application:
 * <ul>
 * <li>the runtime's heap allocation returns memory of a {@link TrackedArena} instead (armed at once);</li>
 * <li>before the collector reads its card table, the tracked heap's dirty pages are collected and
 *     every card of every dirty page is marked in that table, so the collector finds exactly what
 *     its removed barrier would have marked, and more (a page holds several cards);</li>
 * <li>when the collector clears its card table, the dirty pages are collected and dropped: the
 *     runtime forgets its earlier dirty cards at that point, and so does the tracker.</li>
 * </ul>
 * <b>Paused between cycles.</b> When a {@code card-clear} hook is given, what is written between a
 * card scan and the next card clear is never read: the clear wipes it. So after a card scan the
 * heap is {@linkplain TrackedArena#disarm() disarmed} on a background thread, {@link #PAUSE_DELAY_MILLIS}
 * later (unprotecting every page interrupts the other CPUs with TLB flushes, which done during the
 * collector's pause lengthen it: docs/agent.md), and its writes take no fault
 * until the clear arms it again. The card scan's collect is then {@link TrackedArena#collectAndStop()}:
 * nothing it reports is re-protected, so the pause holds no protect call and no TLB flush either. A runtime that
 * scans twice without a clear in between gets every card marked at the second scan (what was written
 * in between went untracked) and, from then on, tracking that never pauses.
 * A card table whose heap is not tracked (it was allocated before a late attach, or its arena
 * could not be opened) has every card marked at each scan: its barrier calls are gone too, so
 * only a full rescan keeps its collector correct.
 *
 * <p>Ordering: the hooks run on the collector's thread with the mutators stopped (the contract of
 * {@code card-scan} and {@code card-clear}); {@link TrackedArena#collect()} returns every page
 * written before it returns, and the marks are plain stores on the same thread that then reads the
 * cards and the page contents.
 */
final class CardMarkingReplacement {
    /** The tracked heaps' name in their MBeans and JFR events (the second is {@code pagemark-agent-heap-2}, ...). */
    static final String HEAP_NAME = "pagemark-agent-heap";
    private final Backend backend;
    /** What the options asked for (auto or a backend): the tracker's events say it with the backend chosen. */
    private final Backend requested;
    /** The fixed block of {@code bulk-pages}, or null for the adaptive window. */
    private final Integer bulkPages;
    private final AgentStatistics statistics;
    private final boolean jfr;
    private final FieldPath cards;
    private final FieldPath covers;
    private final CardMarks marks;
    private final boolean pauseBetweenCycles;
    private final MethodRef cardScanMethod;
    private final List<TrackedHeap> heaps = new CopyOnWriteArrayList<>();
    /** The covered segments of the untracked heaps card scans have met (allocated before a late attach, or not openable). */
    private final Set<Long> untrackedSeen = ConcurrentHashMap.newKeySet();
    private final AtomicLong cardScans = new AtomicLong();
    /** How long after a card scan its heap is disarmed: past the collector's pause, in the sample runtime. */
    static final long PAUSE_DELAY_MILLIS = 20;
    /** Set at the first tracked heap, which starts the {@link PausePathWarmUp}. */
    private final AtomicBoolean warmUpStarted = new AtomicBoolean();
    /** Disarms heaps after their card scans, off the collector's pause. */
    private final Disarmer disarmer = new Disarmer(TimeUnit.MILLISECONDS.toNanos(PAUSE_DELAY_MILLIS));

    /** A heap the agent placed in a tracked arena. */
    private static final class TrackedHeap {
        final TrackedArena arena;
        final long address;
        final long size;
        /** The arena's fault count at the last collect, for backends that count faults. */
        long faultsSeen;
        /** False once the runtime scanned twice without a clear between: then tracking never pauses. */
        boolean pauses;
        /** Set by a card scan that paused tracking, until the next hook; the disarm may still be running. */
        Disarmer.Pause pause;

        TrackedHeap(TrackedArena arena, long size) {
            this.arena = arena;
            this.address = arena.segment().address();
            this.size = size;
        }

        boolean contains(long address) {
            return address >= this.address && address < this.address + size;
        }
    }

    CardMarkingReplacement(AgentOptions options, Backend backend, AgentStatistics statistics) {
        this.backend = backend;
        this.requested = options.backend();
        this.bulkPages = options.bulkPages();
        this.statistics = statistics;
        this.jfr = options.jfr();
        this.cards = new FieldPath(Option.CARDS, options.cards());
        this.covers = new FieldPath(Option.COVERS, options.covers());
        this.marks = new CardMarks(options.cardShift(), options.dirtyCard());
        // A draining scan may run several times a cycle: what is written after one is read by the next.
        this.pauseBetweenCycles = options.cardClear() != null && !options.drainingScan();
        this.cardScanMethod = options.cardScan();
    }

    /**
     * {@code T tracked, U untracked heaps, S card scans}: the heaps tracked now, the untracked heaps
     * card scans have met, the card scans seen. Published in {@link PagemarkAgent#HEAPS_PROPERTY}
     * when one of the first two changes and at the first scan, for the attach command.
     */
    String heapsStatus() {
        return heaps.size() + " tracked, " + untrackedSeen.size() + " untracked heaps, " + cardScans.get() + " card scans";
    }

    private void publishHeaps() {
        System.setProperty(PagemarkAgent.HEAPS_PROPERTY, heapsStatus());
    }

    /**
     * The heap allocation: a tracked arena's memory of the requested size, or null to let the
     * runtime allocate untracked memory itself (when the arena cannot be opened). The heap method's
     * arguments give the size (its long) and, if it takes one, the {@link Arena} whose close
     * releases the tracked arena too.
     */
    @SuppressWarnings("restricted") // reinterpret ties the arena to the runtime's Arena; pagemark runs with native access anyway
    MemorySegment reserve(Object[] arguments) {
        long size = -1;
        Arena owner = null;
        for (Object a : arguments) {
            if (a instanceof Long l) size = l;
            else if (a instanceof Arena arena) owner = arena;
        }
        TrackedArena arena;
        TrackedArena.Builder builder = TrackedArena.builder().backend(requested).name(HEAP_NAME);
        try {
            if (bulkPages != null) builder.bulkPages(bulkPages);
            arena = builder.size(size).open();
            arena.arm();
        } catch (RuntimeException e) {
            statistics.untrackedHeaps.incrementAndGet();
            System.err.println("pagemark agent: a heap of " + size + " bytes stays untracked (its collector will rescan every card): " + e.getMessage());
            return null;
        }
        if (warmUpStarted.compareAndSet(false, true)) PausePathWarmUp.start(builder, marks);
        TrackedHeap heap = new TrackedHeap(arena, size);
        heap.pauses = pauseBetweenCycles;
        heaps.add(heap);
        statistics.trackedHeaps.incrementAndGet();
        statistics.bytesTracked.addAndGet(size);
        publishHeaps();
        MemorySegment memory = arena.segment().asSlice(0, size);
        return owner == null ? memory : memory.reinterpret(owner, unused -> release(heap));
    }

    /** The heap's owner closed: stop tracking it and unmap it (after the owner's close, nothing can touch it). */
    private void release(TrackedHeap heap) {
        if (!heaps.remove(heap)) return;
        if (heap.pause != null) heap.pause.cancel();
        statistics.trackedHeaps.decrementAndGet();
        statistics.bytesTracked.addAndGet(-heap.size);
        heap.arena.close();
        publishHeaps();
    }

    /** The card-scan hook: mark the cards of every page written since the previous collect. */
    void beforeCardScan(Object receiver) {
        MemorySegment covered = (MemorySegment) covers.read(receiver);
        Object table = cards.read(receiver);
        TrackedHeap heap = find(covered);
        boolean first = cardScans.getAndIncrement() == 0;
        if ((heap == null && untrackedSeen.add(covered.address())) || first) publishHeaps();
        if (heap == null) {
            statistics.untrackedCardScans.incrementAndGet();
            statistics.cardsMarked.addAndGet(marks.markAll(table));
            return;
        }
        CardMarkingEvent event = jfr ? CardMarkingEvent.begun() : null;
        if (heap.pause != null) {
            // A second scan since the last clear: the writes since the first one were not tracked.
            resume(heap);
            heap.pauses = false;
            long marked = marks.markAll(table);
            statistics.cardsMarked.addAndGet(marked);
            System.err.println("pagemark agent: " + cardScanMethod + " ran twice without a card clear between: every card marked this once,"
                    + " and tracking no longer pauses between cycles");
            if (event != null) event.end(backend.id(), "card-scan", heap.arena.pageCount(), marked, heap.size);
            return;
        }
        // Pausing: the last collect of the cycle re-arms nothing (no protect call, no TLB flush in the pause);
        // the disarm that unprotects the rest runs later, off the pause.
        DirtyPages dirty = heap.pauses ? collect(heap, heap.arena.collectAndStop()) : collect(heap);
        long marked = marks.markDirtyPages(dirty, heap.address, covered, table);
        statistics.cardsMarked.addAndGet(marked);
        if (heap.pauses) heap.pause = disarmer.schedule(heap.arena);
        if (event != null) event.end(backend.id(), "card-scan", dirty.pageCount(), marked, heap.size);
    }

    /**
     * The card-preclean hook, mutators running: mark the cards of every page written since the
     * previous collect, so that the preclean takes them now and the card scan in the pause only
     * finds the pages written since. A collect while writers run is what every backend the agent
     * tracks with supports (soft-dirty, which does not, leaves its heaps untracked here). A heap not
     * tracked, or paused (no clear since the last scan), is left to the card scan.
     */
    void beforeCardPreclean(Object receiver) {
        MemorySegment covered = (MemorySegment) covers.read(receiver);
        TrackedHeap heap = find(covered);
        if (heap == null || heap.pause != null) return;
        if (heap.pauses) disarmer.expectScan();
        CardMarkingEvent event = jfr ? CardMarkingEvent.begun() : null;
        DirtyPages dirty = collect(heap);
        long marked = marks.markDirtyPages(dirty, heap.address, covered, cards.read(receiver));
        statistics.cardsMarked.addAndGet(marked);
        if (event != null) event.end(backend.id(), "card-preclean", dirty.pageCount(), marked, heap.size);
    }

    /** The card-clear hook: the runtime forgets its dirty cards; drop the dirty pages too, or resume tracking if it paused. */
    void beforeCardClear(Object receiver) {
        TrackedHeap heap = find((MemorySegment) covers.read(receiver));
        if (heap == null) return;
        CardMarkingEvent event = jfr ? CardMarkingEvent.begun() : null;
        long dropped = 0;
        if (heap.pause != null) resume(heap);
        else dropped = collect(heap).pageCount();
        if (event != null) event.end(backend.id(), "card-clear", dropped, 0, heap.size);
    }

    /**
     * Ends a pause: waits until its disarm is done (or cancels it before it started), then arms the
     * heap. The order matters: a disarm that ran after this arm would leave writes untracked.
     */
    private void resume(TrackedHeap heap) {
        Disarmer.Pause pause = heap.pause;
        heap.pause = null;
        RuntimeException failure = pause.cancelOrAwait();
        // Still armed then; the arm below restarts tracking either way.
        if (failure != null) System.err.println("pagemark agent: pausing tracking between cycles failed: " + failure);
        heap.arena.arm();
    }

    private DirtyPages collect(TrackedHeap heap) {
        return collect(heap, heap.arena.collect());
    }

    /** Counts a collect of {@code heap} that returned {@code dirty}. */
    private DirtyPages collect(TrackedHeap heap, DirtyPages dirty) {
        statistics.collects.incrementAndGet();
        statistics.dirtyPages.addAndGet(dirty.pageCount());
        long faults = heap.arena.stats().faults();
        if (faults < 0) {
            // uffd-async: the kernel resolved the faults itself; each reported page took one write-protect fault.
            statistics.faults.addAndGet(dirty.pageCount());
        } else {
            statistics.faults.addAndGet(faults - heap.faultsSeen);
            heap.faultsSeen = faults;
        }
        return dirty;
    }

    private TrackedHeap find(MemorySegment covered) {
        for (TrackedHeap heap : heaps) if (heap.contains(covered.address())) return heap;
        return null;
    }
}
