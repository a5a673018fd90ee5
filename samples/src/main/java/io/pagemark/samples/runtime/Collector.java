package io.pagemark.samples.runtime;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * The incremental mark-sweep collector (incremental update, as CMS did), on its own thread:
 * <ol>
 * <li><b>initial mark</b> (stop-the-world): clear the card table, turn on allocate-black, mark the roots;</li>
 * <li><b>concurrent mark</b> while the mutators run: trace from the roots' objects. A mutator may
 *     store a reference to an unmarked object into an object already traced; the write barrier
 *     dirties that field's card;</li>
 * <li><b>concurrent preclean</b>: take the cards dirtied so far, rescan their marked objects and
 *     trace on, mutators still running, so that the remark finds only the cards dirtied since;</li>
 * <li><b>remark</b> (stop-the-world, short): rescan only the black objects on dirty cards, rescan the
 *     roots, and trace to the end; then hand every block in use to the sweeper;</li>
 * <li><b>sweep</b> (concurrent): free what is neither marked nor allocated during marking; mutators
 *     short of blocks sweep some themselves;</li>
 * <li>optionally the {@link Oracle} (stop-the-world), timed apart from the collector's pauses.</li>
 * </ol>
 * A cycle starts once the mutators allocated the configured share of the heap since the previous
 * one ended, or at once when a mutator runs out of memory.
 */
final class Collector implements Runnable {
    private final ManagedRuntime runtime;
    private final Heap heap;
    private final CardTable cards;
    private final Safepoints safepoints;
    private final long bytesPerCycle;
    private long allocatedAtLastCycle;
    private final Oracle oracle;
    private final IntList dirtyCards = new IntList();
    private long[] markStack = new long[4096];
    private int depth;
    private long markedThisCycle;
    private long rescannedThisCycle;
    private final List<CycleStats> cycles = new ArrayList<>();
    private volatile boolean cycleRequested;
    private volatile Thread thread;

    Collector(ManagedRuntime runtime, Heap heap, Safepoints safepoints, RuntimeConfig config) {
        this.runtime = runtime;
        this.heap = heap;
        this.cards = heap.cards();
        this.safepoints = safepoints;
        this.bytesPerCycle = heap.capacity() * config.cyclePercent() / 100;
        this.oracle = config.oracle() ? new Oracle(heap) : null;
    }

    @Override
    public void run() {
        thread = Thread.currentThread();
        try {
            while (!runtime.stopping()) {
                if (cycleRequested || runtime.bytesAllocatedSoFar() - allocatedAtLastCycle >= bytesPerCycle) {
                    cycle();
                    allocatedAtLastCycle = runtime.bytesAllocatedSoFar();
                } else {
                    LockSupport.parkNanos(1_000_000);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            runtime.fail("collector", t);
        } finally {
            // A failure may strike with the world stopped; and mutators waiting for memory must not wait for a
            // cycle that will never come.
            safepoints.resume();
            safepoints.cycleCompleted();
        }
    }

    /** A mutator is out of memory: start a cycle now. */
    void requestCycle() {
        cycleRequested = true;
        Thread t = thread;
        if (t != null) LockSupport.unpark(t);
    }

    synchronized List<CycleStats> cycles() {
        return List.copyOf(cycles);
    }

    private void cycle() throws InterruptedException {
        cycleRequested = false;
        markedThisCycle = 0;
        rescannedThisCycle = 0;

        long start = System.nanoTime();
        safepoints.stopTheWorld();
        cards.clear();
        heap.markingActive = true;
        markRoots();
        safepoints.resume();
        long initialMark = System.nanoTime() - start;

        traceConcurrently();
        if (runtime.stopping()) return;
        preclean();
        if (runtime.stopping()) return;

        start = System.nanoTime();
        safepoints.stopTheWorld();
        long stopped = System.nanoTime();
        dirtyCards.clear();
        int dirty = cards.drainDirty(dirtyCards);
        long drained = System.nanoTime();
        rescanDirtyCards(dirty);
        long rescanned = System.nanoTime();
        markRoots();
        traceToTheEnd();
        long traced = System.nanoTime();
        runtime.forEachMutator(m -> m.allocator.retire());
        heap.prepareSweep();
        safepoints.resume();
        long end = System.nanoTime();
        long remark = end - start;
        CycleStats.RemarkParts parts = new CycleStats.RemarkParts(stopped - start, drained - stopped, rescanned - drained,
                traced - rescanned, end - traced);

        while (heap.sweepOne()) {
            // the mutators may be sweeping too; wait below until every claimed block is done
        }
        while (!heap.sweepDone()) Thread.onSpinWait();

        long oracleNanos = 0, reachable = -1;
        if (oracle != null) {
            start = System.nanoTime();
            safepoints.stopTheWorld();
            Oracle.Check check = oracle.check(runtime.rootSets());
            safepoints.resume();
            oracleNanos = System.nanoTime() - start;
            reachable = check.reachable();
            runtime.recordOracle(check);
        }
        synchronized (this) {
            cycles.add(new CycleStats(initialMark, remark, dirty, pagesOf(dirtyCards), rescannedThisCycle, markedThisCycle,
                    oracleNanos, reachable, parts));
        }
        safepoints.cycleCompleted();
    }

    /** Pages (4 KiB) holding at least one of the dirty cards, which come in ascending order. */
    private static int pagesOf(IntList cards) {
        int pages = 0, last = -1;
        for (int i = 0; i < cards.size(); i++) {
            int page = cards.get(i) >>> 3;
            if (page != last) {
                pages++;
                last = page;
            }
        }
        return pages;
    }

    private void markRoots() {
        for (long[] roots : runtime.rootSets()) {
            for (long ref : roots) markAndPush(ref);
        }
    }

    /**
     * Rescans the black objects on the dirty cards (which come in ascending order), a run of
     * adjacent cards at a time: an object spanning several dirty cards is rescanned once.
     */
    private void rescanDirtyCards(int dirty) {
        for (int i = 0; i < dirty; ) {
            int first = dirtyCards.get(i), end = first + 1;
            while (++i < dirty && dirtyCards.get(i) == end) end++;
            heap.forEachBlackObjectOn(first, end, this::rescan);
        }
    }

    /**
     * The concurrent preclean, as CMS did, mutators running: takes the cards dirtied so far (clearing
     * them), handshakes with every mutator, then rescans the marked objects on those cards and traces
     * from what they reach, so that the remark only rescans what was dirtied in the last moments.
     * Cards holding objects allocated during marking stay dirty for the remark (see
     * {@link Heap#forEachMarkedObjectOn}).
     */
    private void preclean() throws InterruptedException {
        dirtyCards.clear();
        int dirty = cards.precleanDirty(dirtyCards);
        // The barrier's card mark is a plain store, in no order with the reference store it marks: only
        // once every mutator has passed a poll since the clear are the stores of the operations that marked
        // these cards visible here; an operation after that poll marks its card again (CardTable's comment).
        safepoints.handshake();
        for (int i = 0; i < dirty; ) {
            int first = dirtyCards.get(i), end = first + 1;
            while (++i < dirty && dirtyCards.get(i) == end) end++;
            heap.forEachMarkedObjectOn(first, end, this::scanFields, cards::keepDirty);
        }
        traceConcurrently();
    }

    /** A black object on a dirty card: its fields may have changed since it was traced. */
    private void rescan(long obj) {
        rescannedThisCycle++;
        scanFields(obj);
    }

    /** Traces while the mutators run; gives up early when the runtime stops (the cycle is then abandoned). */
    private void traceConcurrently() {
        while (depth > 0 && !runtime.stopping()) scanFields(markStack[--depth]);
    }

    private void traceToTheEnd() {
        while (depth > 0) scanFields(markStack[--depth]);
    }

    private void scanFields(long obj) {
        int refs = heap.refCount(obj);
        for (int i = 0; i < refs; i++) markAndPush(heap.loadRefForMarking(obj, i));
    }

    private void markAndPush(long ref) {
        if (ref == 0 || !heap.mark(Heap.offsetOf(ref))) return;
        markedThisCycle++;
        if (depth == markStack.length) markStack = Arrays.copyOf(markStack, depth * 2);
        markStack[depth++] = ref;
    }
}
