package io.pagemark.bench;

import io.aeron.ExclusivePublication;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.BufferClaim;
import io.aeron.logbuffer.FragmentHandler;
import io.pagemark.Backend;
import io.pagemark.TrackedArena;
import io.pagemark.WriterGate;
import io.pagemark.replication.AeronTransport;
import io.pagemark.replication.Replica;
import io.pagemark.replication.Replicator;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
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

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Replication over Aeron against Aeron itself, on the same channel and MTU (8 KiB: one 4 KiB page per
 * frame), IPC and UDP loopback (a driver per side):
 * {@link #plainAeron} streams {@value #PAGES} messages of 4 KiB from one publication to one
 * subscriber (the limit here), copied into the claimed frames from one buffer or from the pages of
 * an arena ({@code source}), which counts them ({@code copyOut=false}) or copies each out; {@link #replicated} ships the same 16 MiB as one epoch of a dirtied
 * arena and returns when the replica has applied it (cut, copy, check, stage, apply, ack);
 * {@link #lag} records each epoch's lag from the primary's cut to the replica's apply while a writer
 * dirties pages at {@code dirtyMBps}; {@link #writes} is a writer's batch of random stores with and
 * without replication running.
 *
 * <pre>
 * java -jar jmh/target/benchmarks.jar ReplicationBenchmark
 * </pre>
 */
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.ADD_EXPORTS, JvmFlags.EXPORT_INTERNAL_MISC, JvmFlags.ALLOW_UNSAFE})
public class ReplicationBenchmark {
    static final int PAGES = 4096;
    static final int PAGE = 4096;

    static String channel(String media, int port) {
        return media.equals("ipc") ? "aeron:ipc?mtu=8k|term-length=16m"
                : AeronTransport.udpChannel("127.0.0.1:" + port);
    }

    static int freePort() {
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Two transports for UDP (two hosts' worth of drivers), one for IPC. */
    @State(Scope.Benchmark)
    public static class Link {
        @Param({"ipc", "udp"})
        String media;
        AeronTransport primarySide;
        AeronTransport replicaSide;
        String data;
        String control;

        @Setup(Level.Trial)
        public void open() {
            primarySide = AeronTransport.embedded();
            replicaSide = media.equals("ipc") ? primarySide : AeronTransport.embedded();
            data = channel(media, freePort());
            control = channel(media, freePort());
        }

        @TearDown(Level.Trial)
        public void close() {
            if (replicaSide != primarySide) replicaSide.close();
            primarySide.close();
        }
    }

    /**
     * A publication and a subscriber thread taking 4 KiB messages: Aeron alone. The publisher claims
     * each frame and copies a page into it, from one 4 KiB buffer ({@code source=buffer}: always in
     * the cache, Aeron's own limit) or from the next page of a 16 MiB arena ({@code source=page}: as
     * the replicator reads the pages of an epoch). With {@code copyOut} false the subscriber only
     * counts them (it never reads the payload); true, it copies each one out of the term into a
     * 16 MiB arena, the least a receiver that keeps the data does.
     */
    @State(Scope.Benchmark)
    public static class Plain {
        @Param({"false", "true"})
        boolean copyOut;
        @Param({"buffer", "page"})
        String source;
        ExclusivePublication publication;
        Subscription subscription;
        final BufferClaim claim = new BufferClaim();
        /** The replicator's back-off under back pressure (RecordPublisher), reset after each refused message goes out. */
        final IdleStrategy backPressure = new BackoffIdleStrategy(10, 20, 1_000, 50_000);
        final AtomicLong received = new AtomicLong();
        /** The message count the benchmark thread waits for, and that thread: woken by the subscriber, as Replicator.sync is by the ack. */
        volatile long awaited = Long.MAX_VALUE;
        volatile Thread awaiting;
        final AtomicBoolean running = new AtomicBoolean(true);
        Thread subscriber;
        MemorySegment pages;
        long pageStride;

        @Setup(Level.Trial)
        public void open(Link link) {
            subscription = link.replicaSide.aeron().addSubscription(link.data, 9001);
            publication = link.primarySide.aeron().addExclusivePublication(link.data, 9001);
            boolean fromPages = switch (source) {
                case "page" -> true;
                case "buffer" -> false;
                default -> throw new IllegalArgumentException("source must be page or buffer, got " + source);
            };
            pages = Arena.ofAuto().allocate(fromPages ? (long) PAGES * PAGE : PAGE, PAGE);
            SplittableRandom random = new SplittableRandom(3);
            for (long o = 0; o < pages.byteSize(); o += 8) pages.set(java.lang.foreign.ValueLayout.JAVA_LONG, o, random.nextLong());
            pageStride = fromPages ? PAGE : 0;
            MemorySegment kept = Arena.ofAuto().allocate((long) PAGES * PAGE, PAGE);
            FragmentHandler count = (buffer, offset, length, header) -> counted(received.incrementAndGet());
            FragmentHandler copy = (buffer, offset, length, header) -> {
                long n = received.get();
                MemorySegment.copy(termBytes(buffer.addressOffset() + offset, length), 0, kept, (n % PAGES) * PAGE, length);
                received.set(n + 1);   // this thread is the only writer
                counted(n + 1);
            };
            FragmentHandler handler = copyOut ? copy : count;
            subscriber = Thread.ofPlatform().daemon().start(() -> {
                // The replica's idle strategy, so that both sides leave the CPUs alike.
                IdleStrategy idle = new BackoffIdleStrategy(10, 20, 1_000, 200_000);
                while (running.get()) {
                    idle.idle(subscription.poll(handler, 64));
                }
            });
            while (!publication.isConnected()) LockSupport.parkNanos(1_000_000);
        }

        /**
         * Wakes the benchmark thread once the count reaches the one it waits for. It writes
         * {@code awaited} before it reads {@code received}, this thread writes {@code received} before
         * it reads {@code awaited} (all volatile): either it sees the last count or the last count sees its target.
         */
        private void counted(long n) {
            if (n >= awaited) LockSupport.unpark(awaiting);
        }

        @TearDown(Level.Trial)
        public void close() throws InterruptedException {
            running.set(false);
            subscriber.join();
            publication.close();
            subscription.close();
        }
    }

    /** A message in a term buffer, addressed as Agrona hands it. */
    @SuppressWarnings("restricted")
    static MemorySegment termBytes(long address, int length) {
        return MemorySegment.ofAddress(address).reinterpret(length);
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public long plainAeron(Plain plain) {
        long target = plain.received.get() + PAGES;
        plain.awaiting = Thread.currentThread();
        plain.awaited = target;
        for (int i = 0; i < PAGES; i++) {
            long r;
            boolean refused = false;
            while ((r = plain.publication.tryClaim(PAGE, plain.claim)) < 0) {
                if (r != Publication.BACK_PRESSURED && r != Publication.ADMIN_ACTION) throw new IllegalStateException("publication " + r);
                plain.backPressure.idle();
                refused = true;
            }
            if (refused) plain.backPressure.reset();
            var buffer = plain.claim.buffer();
            MemorySegment.copy(plain.pages, i * plain.pageStride, termBytes(buffer.addressOffset() + plain.claim.offset(), PAGE), 0, PAGE);
            plain.claim.commit();
        }
        while (plain.received.get() < target) LockSupport.parkNanos(plain, 1_000_000_000L);   // woken by the subscriber's last count
        return target;
    }

    /**
     * A primary and its replica on a 16 MiB arena of {@code backend}; epochs only on sync (a long
     * interval). On uffd-sync the cut re-protects the pages and the replicator reads them from the
     * arena while writers run (copy-before-write); on uffd-async the cut copies them in its pause.
     */
    @State(Scope.Benchmark)
    public static class Pipeline {
        @Param({"uffd-sync", "uffd-async"})
        String backend;
        final WriterGate gate = new WriterGate();
        TrackedArena arena;
        Replicator replicator;
        Replica replica;
        long round;

        @Setup(Level.Trial)
        public void open(Link link) throws Exception {
            arena = TrackedArena.builder().size((long) PAGES * PAGE).backend(Backend.parse(backend)).writerPause(gate).open();
            replicator = Replicator.builder().arena(arena).writerPause(gate).transport(link.primarySide).channel(link.data)
                    .controlChannel(link.control).streamId(9101).epochInterval(Duration.ofHours(1)).start();
            replica = Replica.builder().transport(link.replicaSide).channel(link.data).controlChannel(link.control).streamId(9101).start();
            if (!replica.awaitEpoch(1, Duration.ofSeconds(60))) throw new IllegalStateException("the replica never joined");
        }

        /** Every page dirtied (unmeasured): the next epoch carries the whole arena. */
        @Setup(Level.Invocation)
        public void dirtyEverything() {
            round++;
            gate.run(() -> {
                for (long p = 0; p < PAGES; p++) arena.putLong(p * PAGE, round);
            });
        }

        @TearDown(Level.Trial)
        public void close() {
            replica.close();
            replicator.close();
            arena.close();
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public long replicated(Pipeline pipeline) throws Exception {
        return pipeline.replicator.sync(Duration.ofSeconds(60));
    }

    /** A writer dirtying random pages of a {@code backend} arena at {@code dirtyMBps}, an epoch every millisecond. */
    @State(Scope.Benchmark)
    public static class Dirtying {
        @Param({"uffd-sync", "uffd-async"})
        String backend;
        @Param({"10", "100"})
        int dirtyMBps;
        final WriterGate gate = new WriterGate();
        final AtomicBoolean running = new AtomicBoolean(true);
        TrackedArena arena;
        Replicator replicator;
        Replica replica;
        Thread writer;

        @Setup(Level.Trial)
        public void open(Link link) throws Exception {
            arena = TrackedArena.builder().size(64L << 20).backend(Backend.parse(backend)).writerPause(gate).open();
            replicator = Replicator.builder().arena(arena).writerPause(gate).transport(link.primarySide).channel(link.data)
                    .controlChannel(link.control).streamId(9201).epochInterval(Duration.ofMillis(1)).start();
            replica = Replica.builder().transport(link.replicaSide).channel(link.data).controlChannel(link.control).streamId(9201).start();
            if (!replica.awaitEpoch(1, Duration.ofSeconds(60))) throw new IllegalStateException("the replica never joined");
            long pagesPerMilli = Math.max(1, (long) dirtyMBps * 1_000_000 / PAGE / 1000);
            writer = Thread.ofPlatform().daemon().start(() -> {
                SplittableRandom random = new SplittableRandom(1);
                long pages = arena.pageCount();
                long next = System.nanoTime();
                while (running.get()) {
                    gate.run(() -> {
                        for (long i = 0; i < pagesPerMilli; i++) arena.putLong(random.nextLong(pages) * PAGE, random.nextLong());
                    });
                    next += 1_000_000;
                    LockSupport.parkNanos(next - System.nanoTime());
                }
            });
        }

        @TearDown(Level.Trial)
        public void close() throws InterruptedException {
            running.set(false);
            writer.join();
            replica.close();
            replicator.close();
            arena.close();
        }
    }

    /** Waits for the next applied epoch and records its cut-to-apply lag (the histogram's percentiles are printed at the end). */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public long lag(Dirtying dirtying, LatencyHistograms histograms) throws InterruptedException {
        long next = dirtying.replica.epoch() + 1;
        if (!dirtying.replica.awaitEpoch(next, Duration.ofSeconds(10))) throw new IllegalStateException("no epoch for 10 s");
        histograms.writer(0).recordValue((long) (dirtying.replica.lag().lastMillis() * 1e6));
        return next;
    }

    /** The same writer batch (16 random stores inside the gate) with and without a replicator cutting every 10 ms. */
    @State(Scope.Benchmark)
    public static class Writing {
        @Param({"false", "true"})
        boolean replicating;
        final WriterGate gate = new WriterGate();
        final SplittableRandom random = new SplittableRandom(2);
        TrackedArena arena;
        Replicator replicator;
        Replica replica;

        @Setup(Level.Trial)
        public void open(Link link) throws Exception {
            arena = TrackedArena.builder().size(64L << 20).writerPause(gate).open();
            arena.arm();
            if (replicating) {
                replicator = Replicator.builder().arena(arena).writerPause(gate).transport(link.primarySide).channel(link.data)
                        .controlChannel(link.control).streamId(9301).epochInterval(Duration.ofMillis(10)).start();
                replica = Replica.builder().transport(link.replicaSide).channel(link.data).controlChannel(link.control).streamId(9301).start();
                if (!replica.awaitEpoch(1, Duration.ofSeconds(60))) throw new IllegalStateException("the replica never joined");
            }
        }

        @TearDown(Level.Trial)
        public void close() {
            if (replica != null) replica.close();
            if (replicator != null) replicator.close();
            arena.close();
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public void writes(Writing w) {
        long pages = w.arena.pageCount();
        w.gate.enter();
        try {
            for (int i = 0; i < 16; i++) w.arena.putLong(w.random.nextLong(pages) * PAGE, i);
        } finally {
            w.gate.exit();
        }
    }
}
