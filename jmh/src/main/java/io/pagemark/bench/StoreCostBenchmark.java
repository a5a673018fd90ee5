package io.pagemark.bench;

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

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;

/**
 * Steady-state cost of an 8-byte store: with no tracking at all ({@value Arenas#UNTRACKED}), through
 * the card-table barrier ({@link TrackedArena#putLong} marking a card), and through the same write
 * API on each hardware backend armed after every page was already dirtied, so no store faults: the
 * hardware barrier's cost is then zero and the card mark's is not.
 * <p>
 * Stores go to a {@code range}-byte arena, sequentially (wrapping around) or at random 8-byte
 * aligned offsets (xorshift, no table to load). A hot 64 KiB range stays in cache; 256 MiB does not.
 * <p>
 * One operation is a batch of {@value #STORES} stores, timed as a whole in sample-time mode: the
 * median batch is one no other thread interrupted, and its time divided by {@value #STORES} is the
 * cost of a store (the report divides). JMH's per-operation normalization is not used because it
 * truncates each sample to whole nanoseconds per operation.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.ADD_EXPORTS, JvmFlags.EXPORT_INTERNAL_MISC, JvmFlags.ALLOW_UNSAFE, JvmFlags.HEAP_MIN, JvmFlags.HEAP_MAX})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class StoreCostBenchmark {
    /** Stores per operation (one timed batch). */
    public static final int STORES = 4096;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    @Param({Arenas.UNTRACKED, "card-table", "uffd-async", "uffd-sync", "uffd-sigbus", "mprotect", "soft-dirty"})
    public String barrier;

    @Param({"seq", "random"})
    public String order;

    @Param({"64KiB", "256MiB"})
    public String range;

    private TrackedArena arena;
    private MemorySegment memory;
    private boolean untracked;
    private boolean random;
    /** The highest 8-byte aligned offset bits: range - 8 for a power-of-two range. */
    private long offsetMask;
    /** seq: the next offset; random: the xorshift state. */
    private long cursor;

    @Setup
    public void open() {
        long size = Sizes.parse(range);
        if (Long.bitCount(size) != 1) throw new IllegalArgumentException("range must be a power of two, got " + range);
        random = switch (order) {
            case "seq" -> false;
            case "random" -> true;
            default -> throw new IllegalArgumentException("bad order '" + order + "': expected seq or random");
        };
        untracked = barrier.equals(Arenas.UNTRACKED);
        if (untracked) {
            arena = Arenas.openUntracked(size);
        } else {
            arena = Arenas.openPopulated(barrier, size);
            arena.arm();
            Arenas.writeEveryPage(arena);
            long reported = arena.collect().pageCount();
            if (reported != arena.pageCount()) {
                throw new IllegalStateException(barrier + " reported " + reported + " of " + arena.pageCount() + " written pages: tracking is not working");
            }
            // Dirty again after the collect re-armed everything: from here on no store faults.
            Arenas.writeEveryPage(arena);
        }
        memory = arena.segment();
        offsetMask = (size - 1) & ~7L;
        cursor = random ? 0x2545F4914F6CDD1DL : 0;
    }

    @TearDown
    public void close() {
        arena.close();
    }

    @Benchmark
    public void storeBatch() {
        if (untracked) {
            cursor = random ? randomPlain(memory, cursor, offsetMask) : seqPlain(memory, cursor, offsetMask);
        } else {
            cursor = random ? randomWriteApi(arena, cursor, offsetMask) : seqWriteApi(arena, cursor, offsetMask);
        }
    }

    private static long seqPlain(MemorySegment memory, long offset, long mask) {
        for (int i = 0; i < STORES; i++) {
            memory.set(LONG, offset, offset);
            offset = (offset + Long.BYTES) & mask;
        }
        return offset;
    }

    private static long seqWriteApi(TrackedArena arena, long offset, long mask) {
        for (int i = 0; i < STORES; i++) {
            arena.putLong(offset, offset);
            offset = (offset + Long.BYTES) & mask;
        }
        return offset;
    }

    private static long randomPlain(MemorySegment memory, long x, long mask) {
        for (int i = 0; i < STORES; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            memory.set(LONG, x & mask, x);
        }
        return x;
    }

    private static long randomWriteApi(TrackedArena arena, long x, long mask) {
        for (int i = 0; i < STORES; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            arena.putLong(x & mask, x);
        }
        return x;
    }
}
