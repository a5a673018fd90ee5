package io.pagemark.bench;

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
import org.openjdk.jmh.infra.Blackhole;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * What a collect costs the rest of the JVM: a heap workload timed right after one collect of a small
 * arena. The uffd and mprotect backends and card-table touch nothing outside their arena (and their
 * own bookkeeping), so the workload takes as long as ever. Soft-dirty's collect ends by writing "4" to
 * /proc/self/clear_refs, which write-protects every page of the process: afterwards the first write to
 * each page of the Java heap (and of the stacks, the code cache, the collector's own structures) takes
 * a minor fault. Soft-dirty's time minus card-table's is that bill, paid after every collect.
 * <p>
 * The workload: one store to every page of 64 MiB of old heap data, then 32 MiB of new 64-byte
 * objects (the young generation's pages, pre-touched). The heap is pre-touched, so nothing else faults.
 * How much the clear costs depends on what backs the heap: with transparent huge pages a write
 * faults once per 2 MiB, with 4 KiB pages once per page; measure both.
 * <p>
 * Where soft-dirty is compiled out (our 6.18 hosts) the clear write-protects nothing and every backend
 * measures the same: the numbers that matter come from a soft-dirty kernel, e.g. the debian-6.1 guest:
 * <pre>
 * tracker/src/test/kernel-vm/vmrun.sh -- sh -c 'echo never &gt; /sys/kernel/mm/transparent_hugepage/enabled;
 *     java -jar jmh/target/benchmarks.jar CollectJvmCostBenchmark -p backend=card-table,uffd-sync,soft-dirty'
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.ADD_EXPORTS, JvmFlags.EXPORT_INTERNAL_MISC,
        JvmFlags.ALLOW_UNSAFE, JvmFlags.HEAP_MIN, JvmFlags.HEAP_MAX, "-XX:+AlwaysPreTouch"})
@Warmup(iterations = 5)
@Measurement(iterations = 20)
public class CollectJvmCostBenchmark {
    private static final long ARENA_BYTES = 8L << 20;
    private static final int OLD_DATA_BYTES = 64 << 20;
    private static final int NEW_OBJECT_BYTES = 32 << 20;
    private static final int LONGS_PER_PAGE = 4096 / Long.BYTES;

    @Param({"card-table", "uffd-async", "uffd-sync", "uffd-sigbus", "mprotect", "soft-dirty"})
    public String backend;

    private TrackedArena arena;
    private long[] oldData;

    @Setup(Level.Trial)
    public void open() {
        arena = Arenas.openPopulated(backend, ARENA_BYTES);
        arena.arm();
        oldData = new long[OLD_DATA_BYTES / Long.BYTES];
        Arrays.fill(oldData, 1L);
    }

    /** One write to the arena and one collect, as a consumer runs them, before each timed workload. */
    @Setup(Level.Iteration)
    public void collect() {
        arena.putLong(0, System.nanoTime());
        arena.collect();
    }

    @TearDown(Level.Trial)
    public void close() {
        arena.close();
    }

    @Benchmark
    public long heapWorkload(Blackhole bh) {
        long sum = 0;
        for (int i = 0; i < oldData.length; i += LONGS_PER_PAGE) sum += ++oldData[i];
        for (int i = 0; i < NEW_OBJECT_BYTES / 64; i++) bh.consume(new byte[48]);   // 16-byte header + 48 bytes
        return sum;
    }
}
