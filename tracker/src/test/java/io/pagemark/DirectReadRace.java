package io.pagemark;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import com.sun.nio.file.ExtendedOpenOption;

/**
 * The race of issue 20: two threads read a file with O_DIRECT ({@code ExtendedOpenOption.DIRECT},
 * 64 KiB to 1 MiB, block-aligned) into random places of the arena while a collector spins
 * {@code collect()} and copies every reported page into a shadow; at quiescent points (no read in
 * flight, then one more collect and copy) the shadow is compared with the arena: a page that differs
 * is a lost write. One reader goes through {@link TrackedArena#read}, the other reads raw into the
 * segment inside a {@link TrackedArena#kernelWrite} scope; {@link Route#RAW} reads raw on both, outside
 * the API (the unsupported route, for comparison).
 *
 * <p>The test ({@code PinnedWritesTest}) runs it a few seconds per backend; {@link #main} runs it as
 * long as asked, for the figures of docs/pinned-writes.md:
 * {@code java -cp <test class path> io.pagemark.DirectReadRace <backend> <seconds> [report-again|collect-waits] [api|raw] [dir]}.
 */
final class DirectReadRace {
    /** Which writes the readers make. */
    enum Route { API, RAW }

    /** The outcome of one run. */
    record Result(Backend backend, String mode, Route route, double seconds, long reads, long bytesRead, long failedReads,
                  String firstFailure, long collects, long pagesReported, long checks, long pagesLost) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%s (%s, %s route): %.1f s, %,d reads (%.1f MiB/s), %,d failed%s, %,d collects (%.0f/s),"
                            + " %,d pages reported, %,d quiescent checks, %,d pages lost",
                    backend, mode, route.name().toLowerCase(Locale.ROOT), seconds, reads, bytesRead / seconds / (1 << 20), failedReads,
                    firstFailure == null ? "" : " (" + firstFailure + ")", collects, collects / seconds, pagesReported, checks, pagesLost);
        }
    }

    static final int MIN_READ = 64 << 10;
    static final int MAX_READ = 1 << 20;

    private DirectReadRace() {}

    /** Null if O_DIRECT reads work in {@code dir}, else why not (the tests skip with it). */
    static String directIoUnusable(Path dir) {
        Path probe = dir.resolve("o-direct-probe");
        try (Arena memory = Arena.ofConfined()) {
            Files.write(probe, new byte[MIN_READ]);
            try (FileChannel ch = FileChannel.open(probe, StandardOpenOption.READ, ExtendedOpenOption.DIRECT)) {
                ByteBuffer target = memory.allocate(MIN_READ, 4096).asByteBuffer();
                ch.read(target, 0);
                return null;
            }
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            // IllegalArgumentException: the JDK takes the file system's block size as the alignment O_DIRECT
            // needs and refuses one that is not a power of two (9p reports its message size, 507904 in the guest).
            return "O_DIRECT reads do not work in " + dir + " (" + e + ")";
        } finally {
            try {
                Files.deleteIfExists(probe);
            } catch (IOException ignored) {
                // the temporary directory goes anyway
            }
        }
    }

    /** A file of {@code size} random bytes in {@code dir}. */
    static Path dataFile(Path dir, long size) throws IOException {
        Path file = dir.resolve("direct-race-data");
        SplittableRandom random = new SplittableRandom(20);
        byte[] chunk = new byte[1 << 20];
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            for (long written = 0; written < size; written += chunk.length) {
                for (int i = 0; i < chunk.length; i += 8) {
                    long v = random.nextLong();
                    for (int b = 0; b < 8; b++) chunk[i + b] = (byte) (v >>> (b * 8));
                }
                ch.write(ByteBuffer.wrap(chunk));
            }
        }
        return file;
    }

    /** Runs the race on an armed {@code arena} for {@code seconds}, quiescent checks every {@code checkMillis}. */
    static Result run(TrackedArena arena, Path file, Route route, double seconds, long checkMillis) throws Exception {
        long size = arena.size();
        long fileSize = Files.size(file);
        long pageSize = arena.pageSize();
        try (Arena shadowMemory = Arena.ofShared()) {
            MemorySegment shadow = shadowMemory.allocate(size, pageSize);
            MemorySegment.copy(arena.segment(), 0, shadow, 0, size);
            arena.arm();
            // Readers hold the read side for each read; a quiescent check takes the write side (fair: it is not starved).
            ReentrantReadWriteLock quiescence = new ReentrantReadWriteLock(true);
            AtomicLong reads = new AtomicLong(), bytes = new AtomicLong(), failed = new AtomicLong();
            AtomicReference<String> firstFailure = new AtomicReference<>();
            AtomicReference<Throwable> crash = new AtomicReference<>();
            long[] collected = new long[2]; // collects, pages reported: the collector's and the checker's, under `collector`
            Object collector = new Object();
            long deadline = System.nanoTime() + (long) (seconds * 1e9);
            List<Thread> threads = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                boolean throughRead = r == 0;
                long seed = 1000 + r;
                threads.add(Thread.ofPlatform().name("direct-reader-" + r).start(() -> {
                    SplittableRandom random = new SplittableRandom(seed);
                    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, ExtendedOpenOption.DIRECT)) {
                        while (System.nanoTime() < deadline && crash.get() == null) {
                            int length = (random.nextInt(MIN_READ / 4096, MAX_READ / 4096 + 1)) * 4096;
                            long at = random.nextLong((size - length) / 4096 + 1) * 4096;
                            long from = random.nextLong((fileSize - length) / 4096 + 1) * 4096;
                            quiescence.readLock().lock();
                            try {
                                ch.position(from);
                                int n;
                                if (route == Route.RAW) {
                                    n = ch.read(arena.segment().asSlice(at, length).asByteBuffer());
                                } else if (throughRead) {
                                    n = arena.read(ch, at, length);
                                } else {
                                    try (KernelWrite write = arena.kernelWrite(at, length)) {
                                        n = ch.read(arena.segment().asSlice(at, length).asByteBuffer());
                                    }
                                }
                                reads.incrementAndGet();
                                bytes.addAndGet(Math.max(n, 0));
                            } catch (IOException e) {
                                failed.incrementAndGet();
                                firstFailure.compareAndSet(null, e.toString());
                            } finally {
                                quiescence.readLock().unlock();
                            }
                        }
                    } catch (Throwable t) {
                        crash.compareAndSet(null, t);
                    }
                }));
            }
            Thread spinner = Thread.ofPlatform().name("direct-collector").start(() -> {
                try {
                    while (System.nanoTime() < deadline && crash.get() == null) collectAndCopy(arena, shadow, collector, collected);
                } catch (Throwable t) {
                    crash.compareAndSet(null, t);
                }
            });
            long checks = 0, lost = 0;
            long start = System.nanoTime();
            while (System.nanoTime() < deadline && crash.get() == null) {
                Thread.sleep(checkMillis);
                lost += check(arena, shadow, quiescence, collector, collected);
                checks++;
            }
            for (Thread t : threads) t.join();
            spinner.join();
            if (crash.get() != null) throw new AssertionError("the race crashed", crash.get());
            lost += check(arena, shadow, quiescence, collector, collected);
            checks++;
            double elapsed = (System.nanoTime() - start) / 1e9;
            return new Result(arena.backend(), arena.inFlightWrites().toString(), route, elapsed, reads.get(), bytes.get(), failed.get(),
                    firstFailure.get(), collected[0], collected[1], checks, lost);
        }
    }

    /** One collect, then every reported page copied from the arena into the shadow. */
    private static void collectAndCopy(TrackedArena arena, MemorySegment shadow, Object collector, long[] collected) {
        synchronized (collector) {
            DirtyPages dirty = arena.collect();
            long pageSize = arena.pageSize();
            for (PageRange run : dirty) {
                MemorySegment.copy(arena.segment(), run.firstPage() * pageSize, shadow, run.firstPage() * pageSize, run.pageCount() * pageSize);
            }
            collected[0]++;
            collected[1] += dirty.pageCount();
        }
    }

    /** A quiescent point: no read in flight, one more collect and copy; the pages where shadow and arena differ (then made equal). */
    private static long check(TrackedArena arena, MemorySegment shadow, ReentrantReadWriteLock quiescence, Object collector, long[] collected) {
        quiescence.writeLock().lock();
        try {
            collectAndCopy(arena, shadow, collector, collected);
            long pageSize = arena.pageSize();
            long lost = 0;
            for (long off = 0; off < arena.size(); off += pageSize) {
                MemorySegment a = arena.segment().asSlice(off, pageSize), s = shadow.asSlice(off, pageSize);
                if (a.mismatch(s) >= 0) {
                    lost++;
                    MemorySegment.copy(a, 0, s, 0, pageSize); // counted once: the next check starts equal
                }
            }
            return lost;
        } finally {
            quiescence.writeLock().unlock();
        }
    }

    /** The figures of docs/pinned-writes.md: one backend, as long as asked. */
    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: DirectReadRace <backend> <seconds> [report-again|collect-waits] [api|raw] [dir]");
            System.exit(2);
        }
        Backend backend = Backend.parse(args[0]);
        double seconds = Double.parseDouble(args[1]);
        TrackedArena.InFlightWrites mode = args.length > 2 && !args[2].equals("default")
                ? TrackedArena.InFlightWrites.valueOf(args[2].toUpperCase(Locale.ROOT).replace('-', '_')) : null;
        Route route = args.length > 3 ? Route.valueOf(args[3].toUpperCase(Locale.ROOT)) : Route.API;
        Path dir = Path.of(args.length > 4 ? args[4] : System.getProperty("java.io.tmpdir"));
        String unusable = directIoUnusable(dir);
        if (unusable != null) {
            System.err.println(unusable);
            System.exit(1);
        }
        Path file = dataFile(dir, 128L << 20);
        try {
            TrackedArena.Builder builder = TrackedArena.builder().size(64L << 20).backend(backend);
            if (backend.needsWriterPause()) builder.writerPause(new WriterGate());
            if (mode != null) builder.inFlightWrites(mode);
            try (TrackedArena arena = builder.open()) {
                System.out.println(arena.describe());
                System.out.println(run(arena, file, route, seconds, 500));
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
