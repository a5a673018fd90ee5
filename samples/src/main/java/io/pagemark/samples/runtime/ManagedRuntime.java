package io.pagemark.samples.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * A small managed runtime: an off-heap {@link Heap} with its own {@link CardTable} and write
 * barrier, mutator threads doing random graph surgery, an incremental {@link Collector}, and an
 * optional {@link Oracle} after every cycle.
 *
 * <pre>{@code
 * try (ManagedRuntime rt = new ManagedRuntime(RuntimeConfig.defaults())) {
 *     rt.start();
 *     Thread.sleep(5_000);
 *     RunReport report = rt.stop();
 *     System.out.println(report);          // ops/s, cycles, remark pauses, dirty cards, oracle result
 * }
 * }</pre>
 *
 * It knows nothing of pagemark: it is the unmodified runtime that the pagemark agent adapts from
 * outside (its barrier calls removed, its heap in a tracked arena, its card table marked from
 * hardware-tracked dirty pages before each remark).
 */
@SuppressWarnings("try") // close() may throw InterruptedException: it waits for the runtime's threads to end
public final class ManagedRuntime implements AutoCloseable {
    private final Heap heap;
    private final Safepoints safepoints;
    private final Collector collector;
    private final List<Mutator> mutators = new ArrayList<>();
    private final List<long[]> rootSets = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean stopping;
    private volatile boolean started;
    private String failure;
    private long startNanos;
    private long stopNanos;
    private long oracleChecks;
    private long oracleProblems;
    private final List<String> firstProblems = new ArrayList<>();
    private RunReport finalReport;

    public ManagedRuntime(RuntimeConfig config) {
        this.heap = new Heap(config.heapBytes());
        this.safepoints = new Safepoints(config.mutators());
        long[] shared = new long[config.sharedRoots()];
        for (int i = 0; i < config.mutators(); i++) {
            Mutator m = new Mutator(this, heap, i, config, shared);
            mutators.add(m);
            rootSets.add(m.roots);
        }
        rootSets.add(shared);
        this.collector = new Collector(this, heap, safepoints, config);
    }

    /** Starts the collector and the mutators. */
    public synchronized void start() {
        if (started) throw new IllegalStateException("this runtime was already started");
        started = true;
        for (int i = 0; i < mutators.size(); i++) {
            safepoints.register(i);
            threads.add(Thread.ofPlatform().name("mutator-" + i).daemon().unstarted(mutators.get(i)));
        }
        threads.add(Thread.ofPlatform().name("collector").daemon().unstarted(collector));
        startNanos = System.nanoTime();
        threads.forEach(Thread::start);
    }

    /** Operations done so far (a racy sum, for progress display). */
    public long operationsSoFar() {
        long ops = 0;
        for (Mutator m : mutators) ops += m.operations;
        return ops;
    }

    /** Bytes the mutators allocated so far (a racy sum: the collector's pacing needs no more). */
    long bytesAllocatedSoFar() {
        long bytes = 0;
        for (Mutator m : mutators) bytes += m.allocatedBytes;
        return bytes;
    }

    /** Cycles completed so far. */
    public int cyclesSoFar() {
        return collector.cycles().size();
    }

    /**
     * True once a mutator or the collector failed (the runtime then stops by itself) or the oracle
     * found a problem (it keeps running: stop it to get the report).
     */
    public synchronized boolean failed() {
        return failure != null || oracleProblems > 0;
    }

    /** Stops every thread and reports. Idempotent: later calls return the same report. */
    public RunReport stop() throws InterruptedException {
        synchronized (this) {
            if (finalReport != null) return finalReport;
            if (!started) throw new IllegalStateException("stop() before start()");
        }
        stopping = true;
        for (Thread t : threads) {
            LockSupport.unpark(t);
            t.join(10_000);
            if (t.isAlive()) fail(t.getName(), new IllegalStateException(t.getName() + " did not stop within 10 s"));
        }
        synchronized (this) {
            stopNanos = System.nanoTime();
            long ops = 0, stores = 0, allocations = 0, cpu = 0, system = 0;
            for (Mutator m : mutators) {
                ops += m.operations;
                stores += m.referenceStores;
                allocations += m.allocations;
                cpu += m.cpuNanos;
                system += m.systemNanos;
            }
            List<CycleStats> cycles = collector.cycles();
            long oracleNanos = cycles.stream().mapToLong(CycleStats::oracleNanos).sum();
            finalReport = new RunReport(stopNanos - startNanos, oracleNanos, cpu, system, ops, stores, allocations, cycles,
                    oracleChecks, oracleProblems, List.copyOf(firstProblems), failure);
            return finalReport;
        }
    }

    /** Stops (if running) and releases the heap. */
    @Override
    public void close() throws InterruptedException {
        if (started) stop();
        heap.close();
    }

    // ---- for the mutators and the collector ----

    Safepoints safepoints() {
        return safepoints;
    }

    boolean stopping() {
        return stopping;
    }

    synchronized void fail(String who, Throwable t) {
        if (failure == null) failure = who + ": " + t;
        stopping = true;
    }

    void forEachMutator(Consumer<Mutator> action) {
        mutators.forEach(action);
    }

    /** Every mutator's roots and the shared roots. */
    List<long[]> rootSets() {
        return rootSets;
    }

    synchronized void recordOracle(Oracle.Check check) {
        oracleChecks++;
        oracleProblems += check.problems();
        for (String p : check.firstProblems()) if (firstProblems.size() < 5) firstProblems.add("cycle " + oracleChecks + ": " + p);
    }

    /**
     * Allocates an object for {@code mutator} (see {@link Heap#initialize}). When the heap is full it
     * asks for a cycle and waits for it, parked, holding no reference. Returns 0 if the runtime stops meanwhile.
     */
    long allocate(Mutator mutator, int refs, int data) throws InterruptedException {
        int sizeClass = Heap.sizeClassFor(Heap.slotBytesFor(refs, data));
        for (int attempt = 1; ; attempt++) {
            long offset = mutator.allocator.allocate(sizeClass);
            if (offset >= 0) {
                mutator.allocatedBytes += Heap.SLOT_SIZES[sizeClass];
                return heap.initialize(offset, mutator.nextId(), refs, data);
            }
            if (attempt > 3) {
                throw new IllegalStateException("the heap is exhausted: 3 cycles freed nothing for a " + Heap.SLOT_SIZES[sizeClass]
                        + "-byte object (the live data fills the " + (heap.capacity() >> 20) + " MiB heap)");
            }
            long seen = safepoints.cyclesCompleted();
            collector.requestCycle();
            safepoints.awaitCycleAfter(mutator.index, seen, this::stopping);
            if (stopping) return 0;
        }
    }
}
