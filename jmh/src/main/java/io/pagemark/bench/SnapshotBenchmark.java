package io.pagemark.bench;

import io.pagemark.TrackedArena;
import io.pagemark.snapshot.LiveSnapshot;
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

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Live snapshots (copy-before-write) of a 1 GiB arena against a stop-the-world copy of it:
 * {@link #arm} the pause a snapshot's start can impose on writers (write-protecting the arena);
 * {@link #snapshot} a whole snapshot in memory (the background thread's work, writers unaffected);
 * {@link #stopTheWorldCopy} the pause of the alternative; {@link #writes} a writer's random-page
 * store time alone and with snapshots taken back to back meanwhile ({@code duringSnapshots}).
 *
 * <pre>
 * java -jar jmh/target/benchmarks.jar SnapshotBenchmark
 * </pre>
 */
@Warmup(iterations = 1)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.ADD_EXPORTS, JvmFlags.EXPORT_INTERNAL_MISC, JvmFlags.ALLOW_UNSAFE})
public class SnapshotBenchmark {
    /** Random stores per invocation of {@link #writes}. */
    static final int STORES = 1024;

    /** An arena of random bytes on a backend that can copy before write. */
    @State(Scope.Benchmark)
    public static class Filled {
        @Param({"uffd-sync", "uffd-sigbus", "mprotect"})
        String backend;
        @Param({"1073741824"})
        long arenaBytes;

        TrackedArena arena;
        LiveSnapshot running;

        @Setup(Level.Trial)
        public void open() {
            arena = TrackedArena.builder().size(arenaBytes).backend(backend).open();
            CheckpointBenchmark.fillRandom(arena.segment(), new SplittableRandom(42));
        }

        /** Completes (unmeasured) the snapshot {@link #arm} started. */
        @TearDown(Level.Invocation)
        public void finishSnapshot() throws IOException, InterruptedException {
            if (running == null) return;
            try {
                running.await();
            } finally {
                running.close();
                running = null;
            }
        }

        @TearDown(Level.Trial)
        public void close() {
            arena.close();
        }
    }

    /** The start of a snapshot: mapping its image and write-protecting the arena; writers faulting meanwhile wait this long at most. */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public LiveSnapshot arm(Filled state) {
        return state.running = LiveSnapshot.inMemory(state.arena);
    }

    /** A whole snapshot into memory, start to last page saved (nobody writing). */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public LiveSnapshot.Stats snapshot(Filled state) throws IOException, InterruptedException {
        try (LiveSnapshot snapshot = LiveSnapshot.inMemory(state.arena)) {
            return snapshot.await();
        }
    }

    /** The alternative: writers stopped while the whole arena is copied to memory (the target mapped beforehand). */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public MemorySegment stopTheWorldCopy(Copy copy) {
        MemorySegment.copy(copy.filled.arena.segment(), 0, copy.target, 0, copy.target.byteSize());
        return copy.target;
    }

    /** The stop-the-world copy's target, mapped and touched before anything is measured. */
    @State(Scope.Benchmark)
    public static class Copy {
        Filled filled;
        Arena scope;
        MemorySegment target;

        @Setup(Level.Trial)
        public void map(Filled filled) {
            this.filled = filled;
            scope = Arena.ofShared();
            target = scope.allocate(filled.arenaBytes, 4096);
        }

        @TearDown(Level.Trial)
        public void unmap() {
            scope.close();
        }
    }

    /** A writer's random stores, with or without snapshots of the arena taken back to back by another thread. */
    @State(Scope.Benchmark)
    public static class Snapshotting {
        @Param({"false", "true"})
        boolean duringSnapshots;

        Filled filled;
        Thread snapshotter;
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicReference<Throwable> failure = new AtomicReference<>();

        @Setup(Level.Trial)
        public void start(Filled filled) {
            this.filled = filled;
            if (!duringSnapshots) return;
            snapshotter = Thread.ofPlatform().name("snapshotter").start(() -> {
                try {
                    while (!stop.get()) {
                        try (LiveSnapshot snapshot = LiveSnapshot.inMemory(filled.arena)) {
                            snapshot.await();
                        }
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
        }

        @TearDown(Level.Trial)
        public void stop() throws InterruptedException {
            stop.set(true);
            if (snapshotter != null) snapshotter.join();
            if (failure.get() != null) throw new IllegalStateException("the snapshotter failed", failure.get());
        }
    }

    /** Per-thread randomness for {@link #writes}. */
    @State(Scope.Thread)
    public static class Writer {
        final SplittableRandom random = new SplittableRandom(7);
    }

    /** Time per random store: alone, and while snapshots run back to back (the writer's slowdown). */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    @OperationsPerInvocation(STORES)
    public void writes(Snapshotting state, Writer writer) {
        MemorySegment memory = state.filled.arena.segment();
        long pages = state.filled.arena.pageCount(), pageSize = state.filled.arena.pageSize();
        for (int i = 0; i < STORES; i++) {
            memory.set(ValueLayout.JAVA_LONG, writer.random.nextLong(pages) * pageSize, i);
        }
    }
}
