package io.pagemark.bench;

import io.pagemark.DirtyPages;
import io.pagemark.TrackedArena;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The card-marking crossover. One invocation is one epoch of a workload that dirties
 * {@value #DIRTY_PAGES} pages of a {@value #ARENA_MIB} MiB arena with {@code storesPerPage} 8-byte
 * stores each (through the write API, walking the page's words), then collects: stores + faults +
 * collect, everything the epoch costs. Card-table pays a card mark per store and a scan of the whole
 * card table; a hardware backend pays one fault per dirtied page and its collect. The report finds,
 * per hardware backend, the stores per page above which it wins.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.ADD_EXPORTS, JvmFlags.EXPORT_INTERNAL_MISC, JvmFlags.ALLOW_UNSAFE, JvmFlags.HEAP_MIN, JvmFlags.HEAP_MAX})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class CrossoverBenchmark {
    public static final int ARENA_MIB = 256;
    public static final int DIRTY_PAGES = 1024;

    @Param({"card-table", "uffd-async", "uffd-sync", "uffd-sigbus", "mprotect", "soft-dirty"})
    public String backend;

    @Param({"1", "10", "100", "1000", "10000", "100000"})
    public int storesPerPage;

    private TrackedArena arena;
    private long[] dirtyOffsets;
    /** Offsets inside a page wrap with this mask (8-byte words). */
    private long wordMask;

    @Setup
    public void open() {
        if (storesPerPage < 1) throw new IllegalArgumentException("storesPerPage must be at least 1, got " + storesPerPage);
        arena = Arenas.openPopulated(backend, (long) ARENA_MIB << 20);
        int[] pages = PageOrder.sampleCount(PageOrder.pageCount(arena.size(), arena.pageSize()), DIRTY_PAGES);
        dirtyOffsets = PageOrder.offsets(pages, arena.pageSize());
        wordMask = arena.pageSize() / Long.BYTES - 1;
        arena.arm();
    }

    @TearDown
    public void close() {
        arena.close();
    }

    @Benchmark
    public DirtyPages epoch() {
        for (long page : dirtyOffsets) {
            for (int s = 0; s < storesPerPage; s++) arena.putLong(page + ((s & wordMask) << 3), s);
        }
        DirtyPages dirty = arena.collect();
        if (dirty.pageCount() < DIRTY_PAGES) {
            throw new IllegalStateException(backend + " collect reported " + dirty.pageCount() + " of " + DIRTY_PAGES + " dirtied pages");
        }
        return dirty;
    }
}
