package io.pagemark.bench;

import io.pagemark.TrackedArena;
import io.pagemark.Capabilities;
import org.HdrHistogram.Histogram;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * First-write cost per page: the arena of {@code 2 * }{@value #PAGES} pages (every page present, as a
 * heap in use) is armed before each invocation, then one 8-byte store goes to each of {@value #PAGES}
 * of its pages in an {@link #order} ({@link PageOrder#firstWrites}: the first half sequentially, every
 * other page, or random pages in a random order), by 1 or 2 writer threads (each a half of the
 * order). On a hardware backend each of those stores takes the write fault, unless an earlier fault's
 * window unprotected its page already; on card-table it is a store plus a card mark.
 * <p>
 * Next to the time, per iteration: the faults taken, the pages written and the pages the collect
 * after each invocation reported (untimed), so faults per page and reported per written page (above 1
 * where a window or block unprotected pages nobody wrote). {@link #bulkPages} fixes the native
 * backends' block instead of their adaptive window ({@code -p bulkPages=0,1} compares the two).
 * <p>
 * {@link #firstWrite} gives the cost per page with nothing else timed; {@link #firstWriteLatency}
 * times every store and records the distribution ({@link LatencyHistograms}), paying about two clock
 * reads per page for it.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.ADD_EXPORTS, JvmFlags.EXPORT_INTERNAL_MISC, JvmFlags.ALLOW_UNSAFE, JvmFlags.HEAP_MIN, JvmFlags.HEAP_MAX})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class FirstWriteBenchmark {
    /** Pages written per invocation (256 MiB of 4 KiB pages); the score is per page. */
    public static final int PAGES = 65536;

    @Param({"card-table", "uffd-async", "uffd-sync", "uffd-sigbus", "mprotect", "soft-dirty"})
    public String backend;

    @Param({"seq", "stride", "random"})
    public String order;

    /** The native backends' pages per fault: 0 for their default, the adaptive window, or a fixed block (1: one page per fault). */
    @Param({"0"})
    public int bulkPages;

    @Param({"1", "2"})
    public int writers;

    private TrackedArena arena;
    /** The arena's fault count when it was last armed, or -1 where the backend cannot count faults. */
    private long faultsAtArm;
    /** Byte offsets of the pages, in the order they are written. */
    private long[] offsets;
    /** The second writer (writers = 2); the benchmark thread is the first. */
    private ExecutorService secondWriter;

    @Setup(Level.Trial)
    public void open() {
        if (writers != 1 && writers != 2) throw new IllegalArgumentException("writers must be 1 or 2, got " + writers);
        int[] pages = PageOrder.firstWrites(PAGES, order);
        arena = Arenas.openPopulated(backend, 2L * PAGES * Capabilities.probe().pageSize(), bulkPages);
        offsets = new long[PAGES];
        for (int i = 0; i < PAGES; i++) offsets[i] = pages[i] * arena.pageSize();
        if (writers == 2) {
            secondWriter = Executors.newSingleThreadExecutor(task -> {
                Thread t = new Thread(task, "second-writer");
                t.setDaemon(true);
                return t;
            });
        }
    }

    /** Every page clean and protected again (not timed). */
    @Setup(Level.Invocation)
    public void arm() {
        arena.arm();
        faultsAtArm = arena.stats().faults();
    }

    /**
     * Faults taken, pages written and pages reported, summed per iteration and reported next to the
     * time (secondary results "faults", "pages" and "reported"): a backend that unprotects more than the
     * faulting page (an adaptive window, a block, mprotect near vm.max_map_count) takes fewer faults than
     * pages. Faults are not counted where the backend cannot count them (uffd-async: the kernel resolves
     * them); "reported" comes from a collect after each invocation, outside the timed part.
     */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class FaultCounts {
        public long faults;
        public long pages;
        public long reported;

        void add(TrackedArena arena, long faultsAtArm) {
            if (faultsAtArm < 0) return;
            faults += arena.stats().faults() - faultsAtArm;
            pages += PAGES;
        }

        /** The pages the invocation's writes made the arena report (its writers have finished). */
        @TearDown(Level.Invocation)
        public void collect(FirstWriteBenchmark benchmark) {
            reported += benchmark.arena.collect().pageCount();
        }
    }

    @TearDown(Level.Trial)
    public void close() throws InterruptedException {
        if (secondWriter != null) {
            secondWriter.shutdown();
            if (!secondWriter.awaitTermination(1, TimeUnit.MINUTES)) throw new IllegalStateException("the second writer did not stop");
        }
        arena.close();
    }

    @Benchmark
    @OperationsPerInvocation(PAGES)
    public void firstWrite(FaultCounts counts) throws InterruptedException, ExecutionException {
        if (writers == 1) {
            write(0, PAGES);
        } else {
            Future<?> second = secondWriter.submit(() -> write(PAGES / 2, PAGES));
            write(0, PAGES / 2);
            second.get();
        }
        counts.add(arena, faultsAtArm);
    }

    @Benchmark
    @OperationsPerInvocation(PAGES)
    public void firstWriteLatency(LatencyHistograms latencies, FaultCounts counts) throws InterruptedException, ExecutionException {
        if (writers == 1) {
            writeTimed(0, PAGES, latencies.writer(0));
        } else {
            Histogram secondHistogram = latencies.writer(1);
            Future<?> second = secondWriter.submit(() -> writeTimed(PAGES / 2, PAGES, secondHistogram));
            writeTimed(0, PAGES / 2, latencies.writer(0));
            second.get();
        }
        counts.add(arena, faultsAtArm);
    }

    private void write(int from, int to) {
        for (int i = from; i < to; i++) arena.putLong(offsets[i], i);
    }

    private void writeTimed(int from, int to, Histogram histogram) {
        for (int i = from; i < to; i++) {
            long start = System.nanoTime();
            arena.putLong(offsets[i], i);
            histogram.recordValue(System.nanoTime() - start);
        }
    }
}
