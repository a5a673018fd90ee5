package io.pagemark.replication;

import io.pagemark.Backend;
import io.pagemark.Capabilities;
import io.pagemark.DirtyPages;
import io.pagemark.TrackedArena;
import io.pagemark.WriterGate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A real tracked arena under an overwriting writer, replicated epoch by epoch on every backend, over
 * IPC and UDP loopback: the replica ends byte-exact, and its readers never see an epoch half applied.
 */
class ArenaReplicationTest {
    private static final int PAGES = 1024;
    private static final long PAGE = 4096;
    private static final Capabilities CAPABILITIES = Capabilities.probe();

    static Stream<Arguments> backendsAndChannels() {
        return Arrays.stream(Backend.values()).filter(b -> b != Backend.AUTO)
                .flatMap(b -> Stream.of(Arguments.of(b, "ipc"), Arguments.of(b, "udp")));
    }

    @ParameterizedTest(name = "{0} over {1}")
    @MethodSource("backendsAndChannels")
    void replicaIsByteExactAfterAThousandEpochsOfOverwrites(Backend backend, String media) throws Exception {
        var support = CAPABILITIES.backends().get(backend);
        assumeTrue(support.usable(), () -> backend + " is not usable here: " + support.reason());
        String channel, control;
        if (media.equals("ipc")) {
            channel = "aeron:ipc?term-length=4m";
            control = "aeron:ipc?term-length=64k";
        } else {
            channel = AeronTransport.udpChannel("127.0.0.1:" + ReplicationStreamTest.freePort());
            control = "aeron:udp?endpoint=127.0.0.1:" + ReplicationStreamTest.freePort() + "|term-length=64k";
        }
        WriterGate gate = new WriterGate();
        try (AeronTransport transport = AeronTransport.embedded();
             AeronTransport replicaSide = media.equals("ipc") ? null : AeronTransport.embedded();   // UDP: a driver each, as two hosts have
             TrackedArena arena = TrackedArena.builder().size(PAGES * PAGE).backend(backend).writerPause(gate).open();
             Writer writer = new Writer(arena, gate);
             Replicator replicator = Replicator.builder().arena(arena).writerPause(gate).transport(transport).channel(channel)
                     .controlChannel(control).streamId(4001).epochInterval(Duration.ofMillis(1)).start();
             Replica replica = Replica.builder().transport(replicaSide != null ? replicaSide : transport).channel(channel)
                     .controlChannel(control).streamId(4001).start()) {
            assertTrue(replica.awaitEpoch(1, Duration.ofSeconds(20)), () -> "no first epoch: " + replica.lastRejection());
            AtomicLong reads = new AtomicLong();
            AtomicReference<String> torn = new AtomicReference<>();
            AtomicBoolean reading = new AtomicBoolean(true);
            Thread reader = Thread.ofPlatform().start(() -> {
                while (reading.get()) {
                    long[] pair = replica.read((state, epoch) -> new long[]{state.get(ValueLayout.JAVA_LONG, 0),
                            state.get(ValueLayout.JAVA_LONG, (PAGES - 1) * PAGE)});
                    if (pair[0] != pair[1]) torn.compareAndSet(null, "a reader saw batch " + pair[0] + " on page 0 and " + pair[1] + " on the last page");
                    reads.incrementAndGet();
                    java.util.concurrent.locks.LockSupport.parkNanos(100_000);
                }
            });
            long start = System.nanoTime();
            assertTrue(replica.awaitEpoch(1000, Duration.ofSeconds(60)), () -> "replica at epoch " + replica.epoch() + ": " + replicator.stats());
            System.out.printf("%s over %s: 1000 epochs in %.1f s, %d reads%n", backend, media, (System.nanoTime() - start) / 1e9, reads.get());
            reading.set(false);
            reader.join();
            writer.stop();
            long last = replicator.sync(Duration.ofSeconds(10));
            assertTrue(last >= 1000);
            assertEquals(null, torn.get());
            assertTrue(reads.get() > 0);
            long mismatch = replica.read((state, epoch) -> state.mismatch(arena.segment()));
            assertEquals(-1, mismatch, () -> "the replica differs from the primary at byte " + mismatch);
            assertEquals(0, replica.stats().rejected(), () -> replica.lastRejection().orElse(""));
            assertTrue(writer.batches.get() > 1000, "the writer wrote only " + writer.batches.get() + " batches");
        }
    }

    /**
     * What a reader is given is one epoch's state with that epoch's number and stream: the digest of
     * the state equals the digest the primary published for the number. (The number used to be
     * written after the swap that published the state, and a read in between paired the new state
     * with the old number.)
     */
    @Test
    void aReadersEpochNumberAndStreamAreThoseOfTheStateItReads() throws Exception {
        Backend backend = Capabilities.autoChoice().backend();
        java.util.concurrent.ConcurrentHashMap<Long, Long> published = new java.util.concurrent.ConcurrentHashMap<>();
        WriterGate gate = new WriterGate();
        try (AeronTransport transport = AeronTransport.embedded();
             TrackedArena arena = TrackedArena.builder().size(PAGES * PAGE).backend(backend).writerPause(gate).open();
             Writer writer = new Writer(arena, gate);
             Replicator replicator = Replicator.builder().arena(arena).writerPause(gate).transport(transport).channel("aeron:ipc?term-length=4m")
                     .controlChannel("aeron:ipc?term-length=64k").streamId(4003).epochInterval(Duration.ofMillis(1))
                     .onPublished(p -> published.put(p.epoch(), p.stateDigest())).start();
             Replica replica = Replica.builder().transport(transport).channel("aeron:ipc?term-length=4m")
                     .controlChannel("aeron:ipc?term-length=64k").streamId(4003).start()) {
            assertTrue(replica.awaitEpoch(1, Duration.ofSeconds(20)), () -> "no first epoch: " + replica.lastRejection());
            long reads = 0;
            long end = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(3);
            while (System.nanoTime() < end) {
                long[] seen = replica.read((state, epoch) -> new long[]{epoch, ArenaDigest.of(state, PAGE), replica.streamIdentity()});
                Long theirs = published.get(seen[0]);
                assertEquals(replicator.identity(), seen[2], "the stream a reader was told");
                assertEquals(theirs, Long.valueOf(seen[1]), "read " + reads + ": the state a reader was given as epoch " + seen[0]
                        + " is not the primary's epoch " + seen[0]);
                reads++;
            }
            writer.stop();
            assertTrue(replica.epoch() > 100 && reads > 100, () -> "epochs " + replica.epoch());
            System.out.printf("%d reads over %d epochs, each the state of the epoch it was told%n", reads, replica.epoch());
        }
    }

    /**
     * An epoch is received into the back copy, which no reader sees: once it is complete there, just
     * before the swap, the front readers see still holds the previous epoch, and a read returns it
     * without waiting; after the swap, reads see the new epoch whole.
     */
    @Test
    void readersSeeTheLastEpochWhileTheNextIsReceived() throws Exception {
        WriterGate gate = new WriterGate();
        try (AeronTransport transport = AeronTransport.embedded();
             TrackedArena arena = TrackedArena.builder().size(PAGES * PAGE).writerPause(gate).open();
             Replicator replicator = Replicator.builder().arena(arena).writerPause(gate).transport(transport).streamId(4101)
                     .epochInterval(Duration.ofMillis(1)).start();
             Replica replica = Replica.builder().transport(transport).streamId(4101).start()) {
            gate.run(() -> {
                arena.putLong(0, 1);
                arena.putLong((PAGES - 1) * PAGE, 1);
            });
            assertTrue(replica.awaitEpoch(1, Duration.ofSeconds(20)));
            replicator.sync(Duration.ofSeconds(10));
            MemorySegment front = replica.read((state, epoch) -> state);
            AtomicReference<long[]> beforeSwap = new AtomicReference<>();
            AtomicReference<long[]> readBeforeSwap = new AtomicReference<>();
            replica.midApply = () -> {
                replica.midApply = null;
                beforeSwap.set(new long[]{front.get(ValueLayout.JAVA_LONG, 0), front.get(ValueLayout.JAVA_LONG, (PAGES - 1) * PAGE)});
                try {
                    readBeforeSwap.set(CompletableFuture.supplyAsync(() -> replica.read((state, epoch) -> new long[]{
                            state.get(ValueLayout.JAVA_LONG, 0), state.get(ValueLayout.JAVA_LONG, (PAGES - 1) * PAGE)}))
                            .get(10, TimeUnit.SECONDS));
                } catch (Exception e) {
                    throw new AssertionError("a read waited on an epoch being received", e);
                }
            };
            gate.run(() -> {
                arena.putLong(0, 2);
                arena.putLong((PAGES - 1) * PAGE, 2);
            });
            replicator.sync(Duration.ofSeconds(10));
            assertTrue(beforeSwap.get() != null, "the apply hook never ran");
            assertArrayEquals(new long[]{1, 1}, beforeSwap.get(), "the front readers see was written before the epoch was complete");
            assertArrayEquals(new long[]{1, 1}, readBeforeSwap.get(), "a read before the swap saw something else than the last epoch");
            long[] after = replica.read((state, epoch) -> new long[]{state.get(ValueLayout.JAVA_LONG, 0), state.get(ValueLayout.JAVA_LONG, (PAGES - 1) * PAGE)});
            assertArrayEquals(new long[]{2, 2}, after);
        }
    }

    /** Failover: the promoted state is writable and tracked. */
    @Test
    void aPromotedReplicaIsWritableAndTracksItsWrites() throws Exception {
        WriterGate gate = new WriterGate();
        try (AeronTransport transport = AeronTransport.embedded();
             TrackedArena arena = TrackedArena.builder().size(PAGES * PAGE).writerPause(gate).open();
             Replicator replicator = Replicator.builder().arena(arena).writerPause(gate).transport(transport).streamId(4201).start();
             Replica replica = Replica.builder().transport(transport).streamId(4201).start()) {
            gate.run(() -> arena.putLong(5 * PAGE, 55));
            assertTrue(replica.awaitEpoch(1, Duration.ofSeconds(20)));
            replicator.sync(Duration.ofSeconds(10));
            try (TrackedArena promoted = replica.promote()) {
                assertEquals(55, promoted.getLong(5 * PAGE));
                assertTrue(promoted.isArmed());
                promoted.putLong(9 * PAGE, 99);
                DirtyPages dirty = promoted.collect();
                assertTrue(dirty.contains(9), dirty.toString());
                assertFalse(dirty.contains(5), dirty.toString());
            }
        }
    }

    /** A sync() waits for an ack without polling; the replicator's close must still end the wait at once, not at its timeout. */
    @Test
    void aSyncWaitingForAReplicaThatNeverCameEndsWhenTheReplicatorCloses() throws Exception {
        WriterGate gate = new WriterGate();
        try (AeronTransport transport = AeronTransport.embedded();
             TrackedArena arena = TrackedArena.builder().size(PAGES * PAGE).writerPause(gate).open()) {
            Replicator replicator = Replicator.builder().arena(arena).writerPause(gate).transport(transport).streamId(4301).start();
            CompletableFuture<Throwable> waiting = CompletableFuture.supplyAsync(() -> {
                try {
                    replicator.sync(Duration.ofSeconds(60));
                    return null;
                } catch (Throwable t) {
                    return t;
                }
            });
            Thread.sleep(300);
            assertFalse(waiting.isDone(), "sync returned with no replica: " + waiting.getNow(null));
            long closed = System.nanoTime();
            replicator.close();
            Throwable t = waiting.get(10, TimeUnit.SECONDS);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closed);
            assertTrue(t instanceof IllegalStateException && "the replicator is closed".equals(t.getMessage()), () -> "sync ended with " + t);
            assertTrue(ms < 5_000, () -> "sync ended " + ms + " ms after the close");
        }
    }

    /** Overwrites random pages, and in every batch the same counter on the first and the last page. */
    private static final class Writer implements AutoCloseable {
        final AtomicLong batches = new AtomicLong();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread;

        Writer(TrackedArena arena, WriterGate gate) {
            thread = Thread.ofPlatform().name("overwriter").start(() -> {
                SplittableRandom random = new SplittableRandom(3);
                for (long batch = 1; running.get(); batch++) {
                    long b = batch;
                    gate.enter();
                    try {
                        for (int i = 0; i < 8; i++) arena.putLong(random.nextLong(PAGES) * PAGE + random.nextInt(512) * 8L, random.nextLong());
                        arena.putLong(0, b);
                        arena.putLong((PAGES - 1) * PAGE, b);
                    } finally {
                        gate.exit();
                    }
                    batches.set(b);
                    if ((b & 7) == 0) java.util.concurrent.locks.LockSupport.parkNanos(200_000);   // leave the CPUs some room
                }
            });
        }

        void stop() throws InterruptedException {
            running.set(false);
            thread.join();
        }

        @Override
        public void close() {
            running.set(false);
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
