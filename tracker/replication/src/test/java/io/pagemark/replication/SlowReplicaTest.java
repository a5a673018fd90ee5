package io.pagemark.replication;

import io.pagemark.TrackedArena;
import io.pagemark.WriterGate;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A replica that stops reading: the writers go on unblocked, the epochs coalesce instead of queueing
 * (the primary holds at most one cut's pages, never more than the arena), the lag shows, the replica
 * is dropped after maxLag, and when it reads again it catches up from the epoch it holds without a
 * full copy and ends byte-exact.
 */
class SlowReplicaTest {
    private static final int PAGES = 2048;
    private static final long PAGE = 4096;

    @Test
    void aStalledReplicaCostsThePrimaryNoMoreThanOneCutAndCatchesUpWithoutAFullCopy() throws Exception {
        WriterGate gate = new WriterGate();
        AtomicBoolean writing = new AtomicBoolean(true);
        try (AeronTransport transport = AeronTransport.embedded();
             TrackedArena arena = TrackedArena.builder().size(PAGES * PAGE).writerPause(gate).open();
             Replicator replicator = Replicator.builder().arena(arena).writerPause(gate).transport(transport)
                     .channel("aeron:ipc?term-length=64k").controlChannel("aeron:ipc?term-length=64k").streamId(5001)
                     .epochInterval(Duration.ofMillis(2)).maxLag(Duration.ofMillis(700)).start();
             Replica replica = Replica.builder().transport(transport).channel("aeron:ipc?term-length=64k")
                     .controlChannel("aeron:ipc?term-length=64k").streamId(5001).start()) {
            long[] batches = new long[1];
            Thread writer = Thread.ofPlatform().start(() -> {
                SplittableRandom random = new SplittableRandom(5);
                while (writing.get()) {
                    gate.run(() -> {
                        for (int i = 0; i < 4; i++) arena.putLong(random.nextLong(PAGES) * PAGE, random.nextLong());
                    });
                    batches[0]++;
                    if ((batches[0] & 15) == 0) Thread.yield();
                }
            });
            assertTrue(replica.awaitEpoch(20, Duration.ofSeconds(20)));

            replica.stalled = true;
            long stalledAt = replicator.epoch();
            long batchesAt = batches[0];
            Thread.sleep(400);
            Replicator.Stats during = replicator.stats();
            // A 64 KiB term holds a few dozen page records: the stream is back-pressured, so at most the epoch in flight goes on.
            assertTrue(during.epochsPublished() - stalledAt <= 3, () -> "epochs kept coming while nothing was read: " + during);
            assertTrue(during.backPressuredOffers() > 0, during::toString);
            assertTrue(during.heldBytes() <= arena.size(), during::toString);
            assertTrue(during.lagEpochs() >= 1, during::toString);
            assertTrue(batches[0] - batchesAt > 1000, "the writer was held up: " + (batches[0] - batchesAt) + " batches in 400 ms");
            Thread.sleep(800);   // past maxLag: the replica is dropped
            assertTrue(replicator.stats().replicasDropped() >= 1, () -> replicator.stats().toString());

            replica.stalled = false;
            long resumed = replicator.epoch();
            assertTrue(replica.awaitEpoch(resumed + 5, Duration.ofSeconds(20)), () -> replica.epoch() + " " + replicator.stats());
            writing.set(false);
            writer.join();
            replicator.sync(Duration.ofSeconds(10));
            Replicator.Stats after = replicator.stats();
            assertEquals(1, after.fullEpochs(), () -> "the replica was caught up with a full copy: " + after);
            assertTrue(after.catchUpEpochs() >= 1, after::toString);
            assertEquals(-1L, (long) replica.read((state, epoch) -> state.mismatch(arena.segment())));
            assertTrue(replica.lastRejection().orElse("").isEmpty() || replica.lastRejection().get().contains("truncated"),
                    () -> replica.lastRejection().get());
        } finally {
            writing.set(false);
        }
    }
}
