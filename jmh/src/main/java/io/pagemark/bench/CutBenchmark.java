package io.pagemark.bench;

import io.pagemark.Backend;
import io.pagemark.TrackedArena;
import io.pagemark.WriterGate;
import io.pagemark.cut.Cut;
import io.pagemark.cut.CutSource;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * The pause of a consistent cut ({@link CutSource#cut()}) against the size of the arena and the pages
 * written since the previous one (a live snapshot's start is the same native call, with every page in
 * it: pm_copy_before_write_start): before each invocation (not timed) one store goes to each of {@code dirtyPercent}% of
 * the pages (the same random pages each time); the invocation is the cut's start (copy-before-write
 * backends: the re-protect of those pages; the others: a writer pause in which they are collected and
 * copied). {@link #stopTheWorldCopy} is the alternative: the whole arena
 * copied with the writers stopped. THP arenas ({@code hugePages}) are populated with huge pages where
 * the kernel gives them; the dirtied pages split their PMDs, the rest stay intact.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.ADD_EXPORTS, JvmFlags.EXPORT_INTERNAL_MISC, JvmFlags.ALLOW_UNSAFE, JvmFlags.HEAP_MIN, JvmFlags.HEAP_MAX})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class CutBenchmark {
    @Param({"uffd-sync", "uffd-sigbus", "mprotect", "uffd-async"})
    public String backend;

    @Param({"256MiB", "1GiB"})
    public String size;

    @Param({"0.1", "1", "10"})
    public double dirtyPercent;

    @Param({"false", "true"})
    public boolean hugePages;

    private TrackedArena arena;
    private CutSource cuts;
    private long[] dirtyOffsets;
    private Cut cut;
    private Arena copyScope;
    private MemorySegment copyTarget;
    /** How long the gated spinner stays inside the gate at a time. */
    static final long SPIN_BURST_NANOS = 20_000;
    /** {@link #cutWhileAThreadRuns}'s (and {@link #gatedCutWhileAThreadRuns}'s) other thread, spinning on the other CPU until the trial ends. */
    private Thread spinner;
    private volatile boolean spinning;

    @Setup(Level.Trial)
    public void open(BenchmarkParams params) {
        Backend b = Backend.parse(backend);
        // The invocations' writes come before each of them, on this thread, outside the gate: only gatedCutWhileAThreadRuns's thread enters it.
        WriterGate gate = new WriterGate();
        arena = TrackedArena.builder().size(Sizes.parse(size)).backend(b).transparentHugePages(hugePages).writerPause(gate).open();
        arena.segment().fill((byte) 1);
        boolean gated = params.getBenchmark().endsWith(".gatedCutWhileAThreadRuns");
        cuts = b.canCopyBeforeWrite() && !gated ? CutSource.open(arena) : CutSource.open(arena, gate);
        int[] pages = PageOrder.sample(PageOrder.pageCount(arena.size(), arena.pageSize()), dirtyPercent);
        dirtyOffsets = PageOrder.offsets(pages, arena.pageSize());
        copyScope = Arena.ofShared();
        copyTarget = copyScope.allocate(arena.size(), arena.pageSize());
        copyTarget.fill((byte) 0);
        if (params.getBenchmark().endsWith(".cutWhileAThreadRuns")) startSpinner(null);
        if (gated) startSpinner(gate);
        if (params.getBenchmark().endsWith(".cut") || spinner != null) {
            HotPath.warm(arena, dirtyOffsets, () -> cuts.cut().close());
        }
    }

    /**
     * A thread of this process kept running on another CPU, as a writer that is not writing the arena would be; with
     * {@code gate}, inside it in bursts of {@link #SPIN_BURST_NANOS}, as a writer whose writes a gated cut may stop.
     */
    private void startSpinner(WriterGate gate) {
        spinning = true;
        spinner = new Thread(() -> {
            while (spinning) {
                // busy: no pause instruction, no sleep, so the CPU keeps running this process
                if (gate == null) continue;
                gate.enter();
                try {
                    for (long end = System.nanoTime() + SPIN_BURST_NANOS; System.nanoTime() - end < 0; ) {
                        // a burst of writing, as far as the gate can tell
                    }
                } finally {
                    gate.exit();
                }
            }
        }, "cut-benchmark-spinner");
        spinner.setDaemon(true);
        spinner.start();
    }

    @Setup(Level.Invocation)
    public void dirty() {
        for (long offset : dirtyOffsets) arena.putLong(offset, offset);
    }

    /** Ends the cut the invocation started (unmeasured). */
    @TearDown(Level.Invocation)
    public void finish() {
        if (cut != null) {
            if (cut.pages().pageCount() < dirtyOffsets.length) {
                throw new IllegalStateException(backend + " cut held " + cut.pages().pageCount() + " of " + dirtyOffsets.length + " dirtied pages");
            }
            cut.close();
            cut = null;
        }
    }

    @TearDown(Level.Trial)
    public void close() throws InterruptedException {
        if (spinner != null) {
            spinning = false;
            spinner.join();
        }
        cuts.close();
        arena.close();
        copyScope.close();
    }

    /** A cut's start: the writers' pause (see the class comment). */
    @Benchmark
    public Cut cut() {
        return cut = cuts.cut();
    }

    /**
     * A cut's start while another thread of the process runs on another CPU (it spins, touching nothing), as the
     * writers of a cut taken while they run do: each protect call's TLB flush must then interrupt that CPU.
     */
    @Benchmark
    public Cut cutWhileAThreadRuns() {
        return cut = cuts.cut();
    }

    /**
     * As {@link #cutWhileAThreadRuns}, the thread spinning inside the arena's writer gate in bursts and the cuts taken
     * through the gate ({@code CutSource.open(arena, gate)}): the copy-before-write backends then stop it for the
     * re-protect, so its CPU goes idle and the flushes need not interrupt it.
     */
    @Benchmark
    public Cut gatedCutWhileAThreadRuns() {
        return cut = cuts.cut();
    }

    /** The alternative: the whole arena copied while the writers are stopped. */
    @Benchmark
    public MemorySegment stopTheWorldCopy() {
        MemorySegment.copy(arena.segment(), 0, copyTarget, 0, arena.size());
        return copyTarget;
    }
}
