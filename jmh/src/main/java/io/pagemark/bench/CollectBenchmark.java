package io.pagemark.bench;

import io.pagemark.DirtyPages;
import io.pagemark.TrackedArena;
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

import java.util.concurrent.TimeUnit;

/**
 * Collect cost versus arena size and dirty fraction: before each invocation (not timed) one 8-byte
 * store goes to each of {@code dirtyPercent}% of the arena's pages (the same random pages each time);
 * the invocation is one {@link TrackedArena#collect()}, everything a caller pays to get the dirty set:
 * the backend's scan and re-arm and the building of {@link DirtyPages}. The soft-dirty backend, where
 * it works, appears here like any other; its scanning primitives alone are in {@link SoftDirtyScanBenchmark}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.ADD_EXPORTS, JvmFlags.EXPORT_INTERNAL_MISC, JvmFlags.ALLOW_UNSAFE, JvmFlags.HEAP_MIN, JvmFlags.HEAP_MAX})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class CollectBenchmark {
    @Param({"card-table", "uffd-async", "uffd-sync", "uffd-sigbus", "mprotect", "soft-dirty"})
    public String backend;

    @Param({"64MiB", "256MiB", "1GiB", "4GiB"})
    public String size;

    @Param({"0.1", "1", "10", "100"})
    public double dirtyPercent;

    private TrackedArena arena;
    private long[] dirtyOffsets;

    @Setup(Level.Trial)
    public void open() {
        arena = Arenas.openPopulated(backend, Sizes.parse(size));
        int[] pages = PageOrder.sample(PageOrder.pageCount(arena.size(), arena.pageSize()), dirtyPercent);
        dirtyOffsets = PageOrder.offsets(pages, arena.pageSize());
        arena.arm();
        HotPath.warm(arena, dirtyOffsets, arena::collect);
    }

    @Setup(Level.Invocation)
    public void dirty() {
        for (long offset : dirtyOffsets) arena.putLong(offset, offset);
    }

    @TearDown(Level.Trial)
    public void close() {
        arena.close();
    }

    @Benchmark
    public DirtyPages collect() {
        DirtyPages dirty = arena.collect();
        // A collect that missed the pages would be measuring nothing: fail loudly instead.
        if (dirty.pageCount() < dirtyOffsets.length) {
            throw new IllegalStateException(backend + " collect reported " + dirty.pageCount() + " of " + dirtyOffsets.length + " dirtied pages");
        }
        return dirty;
    }
}
