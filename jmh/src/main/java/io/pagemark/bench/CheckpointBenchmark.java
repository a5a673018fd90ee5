package io.pagemark.bench;

import io.pagemark.TrackedArena;
import io.pagemark.checkpoint.Checkpoint;
import io.pagemark.checkpoint.Checkpointer;
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

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The incremental checkpointer against copying the whole arena: one checkpoint (a delta, fsynced and
 * published) of a 1 GiB arena with 1%, 10% or 100% of its pages dirtied, versus a full copy of the
 * arena to memory ({@link FullCopy#toMemory}) and to a file with fsync ({@link FullCopy#toFile}).
 * MB/s = dirty bytes / time; the delta file is {@code pages x (4096 + 12) + 84} bytes. And a restore
 * of a base and three 10% deltas into memory of the caller's (verified first) or into a new arena.
 *
 * <pre>
 * java -jar jmh/target/benchmarks.jar CheckpointBenchmark                        # on the disk of java.io.tmpdir
 * java -jar jmh/target/benchmarks.jar CheckpointBenchmark -p directory=/dev/shm  # tmpfs: the CPU cost alone
 * </pre>
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 8)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.ADD_EXPORTS, JvmFlags.EXPORT_INTERNAL_MISC, JvmFlags.ALLOW_UNSAFE})
public class CheckpointBenchmark {

    /** A 1 GiB arena of random bytes, checkpointed once (the base); each invocation dirties its share of pages anew. */
    @State(Scope.Benchmark)
    public static class Checkpointed {
        @Param({"1", "10", "100"})
        int dirtyPercent;
        @Param({"1073741824"})
        long arenaBytes;
        @Param({"auto"})
        String backend;
        /** Where the chain goes; empty: a new directory under java.io.tmpdir. */
        @Param({""})
        String directory;

        TrackedArena arena;
        Checkpointer checkpointer;
        Path dir;
        private final SplittableRandom random = new SplittableRandom(42);
        private long[] pages;

        @Setup(Level.Trial)
        public void open() throws IOException {
            arena = TrackedArena.builder().size(arenaBytes).backend(backend).open();
            fillRandom(arena.segment(), random);
            dir = Files.createTempDirectory(directory.isEmpty() ? Path.of(System.getProperty("java.io.tmpdir")) : Path.of(directory),
                    "pagemark-bench-");
            checkpointer = Checkpointer.open(arena, dir);
            checkpointer.checkpoint();
            pages = new long[(int) arena.pageCount()];
            for (int p = 0; p < pages.length; p++) pages[p] = p;
        }

        /** Dirties {@code dirtyPercent} of the pages (a random choice each time) with one 8-byte store each (the write API: seen by every backend). */
        @Setup(Level.Invocation)
        public void dirty() throws IOException {
            // Keep the chain's disk use bounded: fold it once its deltas outweigh the arena (not measured).
            if (checkpointer.chain().bytes() > 2 * arenaBytes) checkpointer.compact();
            int count = (int) (pages.length * (long) dirtyPercent / 100);
            for (int i = 0; i < count; i++) {
                int j = i + random.nextInt(pages.length - i);
                long swap = pages[i];
                pages[i] = pages[j];
                pages[j] = swap;
                arena.putLong(pages[i] * arena.pageSize() + 8L * random.nextInt(512), random.nextLong());
            }
        }

        @TearDown(Level.Trial)
        public void close() throws IOException {
            checkpointer.close();
            arena.close();
            deleteTree(dir);
        }
    }

    @Benchmark
    public Checkpoint checkpoint(Checkpointed state) throws IOException {
        return state.checkpointer.checkpoint();
    }

    /** The baselines: what saving the arena costs without knowing which pages changed (JMH reads annotations per class). */
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 2)
    @Measurement(iterations = 8)
    @Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.ADD_EXPORTS, JvmFlags.EXPORT_INTERNAL_MISC, JvmFlags.ALLOW_UNSAFE})
    public static class FullCopy {
        @State(Scope.Benchmark)
        public static class Source {
            @Param({"1073741824"})
            long arenaBytes;
            /** Where the copy goes; empty: java.io.tmpdir. */
            @Param({""})
            String directory;

            TrackedArena arena;
            Arena copyScope;
            MemorySegment copy;
            Path file;

            @Setup(Level.Trial)
            public void open() throws IOException {
                arena = TrackedArena.open(arenaBytes);
                fillRandom(arena.segment(), new SplittableRandom(42));
                copyScope = Arena.ofShared();
                copy = copyScope.allocate(arenaBytes, 4096);
                file = Files.createTempFile(directory.isEmpty() ? Path.of(System.getProperty("java.io.tmpdir")) : Path.of(directory),
                        "pagemark-bench-", ".copy");
            }

            @TearDown(Level.Trial)
            public void close() throws IOException {
                copyScope.close();
                arena.close();
                Files.deleteIfExists(file);
            }
        }

        /** A stop-the-world copy of the whole arena into memory. */
        @Benchmark
        public MemorySegment toMemory(Source source) {
            MemorySegment.copy(source.arena.segment(), 0, source.copy, 0, source.arenaBytes);
            return source.copy;
        }

        /** The whole arena written to a file and fsynced: a full dump, no checksums. */
        @Benchmark
        public long toFile(Source source) throws IOException {
            try (FileChannel channel = FileChannel.open(source.file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer bytes = source.arena.segment().asByteBuffer();
                while (bytes.hasRemaining()) channel.write(bytes);
                channel.force(true);
                return channel.size();
            }
        }
    }

    /**
     * What a restore costs: a chain of a random arena's base and three deltas of 10% each, written once.
     * The memory restored into is faulted in once, so {@link #restoreIntoSegment} measures the restore alone.
     */
    @State(Scope.Benchmark)
    public static class RestoreChain {
        @Param({"1073741824"})
        long arenaBytes;
        /** Where the chain goes; empty: a new directory under java.io.tmpdir. */
        @Param({""})
        String directory;

        Path dir;
        Arena targetScope;
        MemorySegment target;

        @Setup(Level.Trial)
        public void write() throws IOException {
            dir = Files.createTempDirectory(directory.isEmpty() ? Path.of(System.getProperty("java.io.tmpdir")) : Path.of(directory),
                    "pagemark-bench-");
            SplittableRandom random = new SplittableRandom(42);
            try (TrackedArena arena = TrackedArena.open(arenaBytes); Checkpointer checkpointer = Checkpointer.open(arena, dir)) {
                fillRandom(arena.segment(), random);
                checkpointer.checkpoint();
                long pages = arena.pageCount();
                for (int delta = 0; delta < 3; delta++) {
                    for (long i = 0; i < pages / 10; i++) arena.putLong(random.nextLong(pages) * arena.pageSize(), random.nextLong());
                    checkpointer.checkpoint();
                }
            }
            targetScope = Arena.ofShared();
            target = targetScope.allocate(arenaBytes, 4096);
            target.fill((byte) 1);
        }

        @TearDown(Level.Trial)
        public void delete() throws IOException {
            targetScope.close();
            deleteTree(dir);
        }
    }

    /** {@code Checkpointer.restore(dir, segment)}: the whole chain read and checked, then read again and applied (a damaged chain leaves the memory as it was). */
    @Benchmark
    public long restoreIntoSegment(RestoreChain chain) throws IOException {
        return Checkpointer.restore(chain.dir, chain.target).sequence();
    }

    /** {@code Checkpointer.restore(dir, builder)}: the chain read once, into a new arena (mapped, written, closed each time). */
    @Benchmark
    public long restoreIntoNewArena(RestoreChain chain) throws IOException {
        try (TrackedArena restored = Checkpointer.restore(chain.dir, TrackedArena.builder())) {
            return restored.size();
        }
    }

    static void fillRandom(MemorySegment memory, SplittableRandom random) {
        for (long at = 0; at < memory.byteSize(); at += Long.BYTES) memory.set(ValueLayout.JAVA_LONG_UNALIGNED, at, random.nextLong());
    }

    static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
