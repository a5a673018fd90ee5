package io.pagemark.replication;

import io.pagemark.DirtyPages;
import io.pagemark.TrackedArena;
import io.pagemark.WriterGate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Live migration in one JVM (source and destination each on their own driver for UDP, sharing one
 * for IPC) under a writer that overwrites random pages inside the gate: byte-exact after the switch,
 * at several write rates; a write rate the link cannot carry is throttled to a finish or fails within
 * the time limit, never hangs, never leaves two sides serving; a destination or a source that goes
 * away mid-migration leaves the other side as it should be. The SIGKILL tests are in the samples
 * (KvMigrationCrashTest), with real processes.
 */
@Timeout(120)
class MigrationTest {
    private static final long ARENA = 16L << 20;

    /** A writer overwriting random pages at {@code mbps} MB/s of pages (0: as fast as it can), a batch of 8 pages per gate entry. */
    static final class Writer implements AutoCloseable {
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong batches = new AtomicLong();
        final CompletableFuture<Void> done;

        Writer(TrackedArena arena, WriterGate gate, double mbps, long seed) {
            MemorySegment mem = arena.segment();
            long pages = arena.pageCount(), page = arena.pageSize();
            long nanosPerBatch = mbps <= 0 ? 0 : (long) (8 * page / (mbps * 1e6) * 1e9);
            done = CompletableFuture.runAsync(() -> {
                SplittableRandom random = new SplittableRandom(seed);
                long next = System.nanoTime();
                while (!stop.get()) {
                    gate.enter();
                    try {
                        for (int i = 0; i < 8; i++) {
                            long p = random.nextLong(pages);
                            long v = random.nextLong();
                            // Two stores per page, far apart: a page read between them would be torn, so only a later round can make it right.
                            mem.set(ValueLayout.JAVA_LONG, p * page, v);
                            mem.set(ValueLayout.JAVA_LONG, p * page + page - 8, v);
                        }
                    } finally {
                        gate.exit();
                    }
                    batches.incrementAndGet();
                    if (nanosPerBatch > 0) {
                        next += nanosPerBatch;
                        long wait = next - System.nanoTime();
                        if (wait > 0) java.util.concurrent.locks.LockSupport.parkNanos(wait);
                        else if (wait < -TimeUnit.MILLISECONDS.toNanos(50)) next = System.nanoTime();   // no bursts to catch up
                    }
                }
            }, r -> Thread.ofPlatform().daemon().start(r));
        }

        @Override
        public void close() {
            stop.set(true);
        }
    }

    static String[] channels(String media) throws java.io.IOException {
        if (media.equals("ipc")) return new String[] {"aeron:ipc?term-length=8m", "aeron:ipc?term-length=64k"};
        return new String[] {AeronTransport.udpChannel("127.0.0.1:" + ReplicationStreamTest.freePort()),
                "aeron:udp?endpoint=127.0.0.1:" + ReplicationStreamTest.freePort() + "|term-length=64k"};
    }

    @ParameterizedTest(name = "{0} at {1} MB/s")
    @CsvSource({"ipc, 5", "ipc, 40", "udp, 5", "udp, 40"})
    void destinationIsByteExactAfterTheSwitch(String media, double mbps) throws Exception {
        String[] ch = channels(media);
        WriterGate gate = new WriterGate();
        try (TrackedArena arena = TrackedArena.builder().size(ARENA).open();
             AeronTransport transport = AeronTransport.embedded();
             AeronTransport other = media.equals("ipc") ? null : AeronTransport.embedded();
             MigrationDestination destination = MigrationDestination.builder().transport(other == null ? transport : other)
                     .channel(ch[0]).controlChannel(ch[1]).start()) {
            Writer writer = new Writer(arena, gate, mbps, 7);
            Thread.sleep(100);
            Migration.Result r = Migration.builder().arena(arena).writerGate(gate)
                    .transport(transport).channel(ch[0]).controlChannel(ch[1]).downtimeLimit(Duration.ofMillis(50))
                    .timeLimit(Duration.ofSeconds(30)).migrate();
            assertEquals(Migration.Outcome.SWITCHED, r.outcome(), r.reason());
            assertTrue(gate.isStopped(), "the source's writers must stay stopped after the switch");
            MigrationDestination.Takeover t = destination.awaitTakeover(Duration.ofSeconds(5)).orElseThrow();
            try (TrackedArena taken = t.arena()) {
                assertEquals(-1, arena.segment().mismatch(taken.segment()), "the destination differs from the source's final state");
                assertEquals(ArenaDigest.of(arena.segment(), arena.pageSize()), t.stateDigest());
                assertTrue(writer.batches.get() > 0);
                assertTrue(r.measuredDowntimeMillis() > 0 && r.bytesSent() >= ARENA, r.toString());
                // The destination serves: its arena is armed and tracks its own writes.
                assertTrue(taken.isArmed());
                taken.putLong(4096 * 3, 1);
                DirtyPages d = taken.collect();
                assertTrue(d.pageCount() >= 1);
            } finally {
                writer.stop.set(true);
                gate.resumeWriters();   // the test thread stopped it (the migration ran on it); lets the writer end
                writer.done.get(10, TimeUnit.SECONDS);
            }
        }
    }

    /** Writers as fast as they can against a 1 ms limit: without auto-converge it fails within the time limit, the source serving on. */
    @Test
    void aRateTheLinkCannotCarryFailsCleanlyWithinTheTimeLimit() throws Exception {
        String[] ch = channels("ipc");
        WriterGate gate = new WriterGate();
        try (TrackedArena arena = TrackedArena.builder().size(ARENA).open();
             AeronTransport transport = AeronTransport.embedded();
             MigrationDestination destination = MigrationDestination.builder().transport(transport).channel(ch[0]).controlChannel(ch[1]).start();
             Writer writer = new Writer(arena, gate, 0, 11)) {
            long start = System.nanoTime();
            Migration.Result r = Migration.builder().arena(arena).writerGate(gate)
                    .transport(transport).channel(ch[0]).controlChannel(ch[1]).downtimeLimit(Duration.ofNanos(1))
                    .timeLimit(Duration.ofSeconds(2)).autoConverge(false).migrate();
            double seconds = (System.nanoTime() - start) / 1e9;
            assertEquals(Migration.Outcome.ABORTED, r.outcome());
            assertTrue(r.reason().contains("did not converge") || r.reason().contains("time limit"), r.reason());
            assertTrue(seconds < 2 + 1, "it took " + seconds + " s against a time limit of 2 s");
            assertSourceServesOn(gate, writer);
            awaitDiscard(destination);
        }
    }

    /** The same writers with auto-converge: throttled through the gate until the final round fits, or failed within the limit. */
    @Test
    void autoConvergeThrottlesTheWritersToAFinishOrFailsWithinTheLimit() throws Exception {
        String[] ch = channels("ipc");
        WriterGate gate = new WriterGate();
        try (TrackedArena arena = TrackedArena.builder().size(ARENA).open();
             AeronTransport transport = AeronTransport.embedded();
             MigrationDestination destination = MigrationDestination.builder().transport(transport).channel(ch[0]).controlChannel(ch[1]).start()) {
            Writer writer = new Writer(arena, gate, 0, 13);
            Migration.Result r = Migration.builder().arena(arena).writerGate(gate)
                    .transport(transport).channel(ch[0]).controlChannel(ch[1]).downtimeLimit(Duration.ofMillis(5))
                    .timeLimit(Duration.ofSeconds(20)).onRound(System.out::println).migrate();
            System.out.println(r);
            try {
                if (r.outcome() == Migration.Outcome.SWITCHED) {
                    assertTrue(r.maxThrottle() >= 0.2, "it converged without a throttle; the writers did not outrun the link: " + r);
                    try (TrackedArena taken = destination.awaitTakeover(Duration.ofSeconds(5)).orElseThrow().arena()) {
                        assertEquals(-1, arena.segment().mismatch(taken.segment()));
                    }
                    assertTrue(gate.isStopped());
                    assertEquals(0, gate.throttle());
                } else {
                    assertEquals(Migration.Outcome.ABORTED, r.outcome(), r.reason());
                    assertSourceServesOn(gate, writer);
                    awaitDiscard(destination);
                }
            } finally {
                writer.stop.set(true);
                if (gate.isStopped()) gate.resumeWriters();
                writer.done.get(10, TimeUnit.SECONDS);
            }
        }
    }

    /** The destination's driver goes away mid-migration (as a killed process's does): the source aborts and serves on. */
    @Test
    void destinationGoneMidMigrationLeavesTheSourceServing() throws Exception {
        String[] ch = channels("udp");
        WriterGate gate = new WriterGate();
        try (TrackedArena arena = TrackedArena.builder().size(ARENA * 4).open();
             AeronTransport transport = AeronTransport.embedded();
             Writer writer = new Writer(arena, gate, 5, 17)) {
            AeronTransport other = AeronTransport.embedded();
            MigrationDestination destination = MigrationDestination.builder().transport(other).channel(ch[0]).controlChannel(ch[1]).start();
            AtomicBoolean killed = new AtomicBoolean();
            Migration.Result r = Migration.builder().arena(arena).writerGate(gate)
                    .transport(transport).channel(ch[0]).controlChannel(ch[1]).downtimeLimit(Duration.ofNanos(1)).autoConverge(false)
                    .peerTimeout(Duration.ofMillis(500)).timeLimit(Duration.ofSeconds(20))
                    .onRound(round -> {
                        if (round.round() == 1 && killed.compareAndSet(false, true)) {
                            destination.close();
                            other.close();
                        }
                    }).migrate();
            assertTrue(killed.get(), "the migration ended before its second round: " + r);
            assertEquals(Migration.Outcome.ABORTED, r.outcome());
            assertTrue(r.reason().contains("silent") || r.reason().contains("refused"), r.reason());
            assertSourceServesOn(gate, writer);
        }
    }

    /** The source's streams close mid-migration (its process gone): the destination discards and waits for the next migration. */
    @Test
    void sourceGoneBeforeTheSwitchIsDiscardedAndTheNextMigrationSwitches() throws Exception {
        String[] ch = channels("udp");
        WriterGate gate = new WriterGate();
        try (TrackedArena arena = TrackedArena.builder().size(ARENA).open();
             AeronTransport other = AeronTransport.embedded();
             MigrationDestination destination = MigrationDestination.builder().transport(other).channel(ch[0]).controlChannel(ch[1])
                     .peerTimeout(Duration.ofMillis(500)).start()) {
            AeronTransport first = AeronTransport.embedded();
            AtomicBoolean killed = new AtomicBoolean();
            try {
                Migration.builder().arena(arena).writerGate(gate).transport(first).channel(ch[0]).controlChannel(ch[1])
                        .downtimeLimit(Duration.ofNanos(1)).autoConverge(false).timeLimit(Duration.ofSeconds(20))
                        .onRound(round -> {
                            killed.set(true);
                            first.close();   // the source's driver and client go away mid-migration, as a killed process's do
                        }).migrate();
            } catch (RuntimeException expected) {
                // the migrating thread finds its own transport closed: whatever it throws, the destination must not serve
            }
            assertTrue(killed.get());
            awaitDiscard(destination);
            assertFalse(destination.stats().serving());
            // A new source migrates to the same destination.
            try (AeronTransport second = AeronTransport.embedded()) {
                Migration.Result r = Migration.builder().arena(arena).writerGate(gate).transport(second).channel(ch[0]).controlChannel(ch[1])
                        .timeLimit(Duration.ofSeconds(20)).migrate();
                assertEquals(Migration.Outcome.SWITCHED, r.outcome(), r.reason());
                try (TrackedArena taken = destination.awaitTakeover(Duration.ofSeconds(5)).orElseThrow().arena()) {
                    assertEquals(-1, arena.segment().mismatch(taken.segment()));
                }
            } finally {
                gate.resumeWriters();
            }
        }
    }

    /** A rehearsal does everything but the switch: the destination discards and the source serves on; a stop-and-copy switches. */
    @Test
    void rehearsalThenStopAndCopy() throws Exception {
        String[] ch = channels("ipc");
        WriterGate gate = new WriterGate();
        try (TrackedArena arena = TrackedArena.builder().size(ARENA).open();
             AeronTransport transport = AeronTransport.embedded();
             MigrationDestination destination = MigrationDestination.builder().transport(transport).channel(ch[0]).controlChannel(ch[1]).start()) {
            Writer writer = new Writer(arena, gate, 5, 19);
            Migration.Result rehearsal = Migration.builder().arena(arena).writerGate(gate).transport(transport).channel(ch[0]).controlChannel(ch[1])
                    .stopAndCopy(true).rehearsal(true).migrate();
            assertEquals(Migration.Outcome.ABORTED, rehearsal.outcome(), rehearsal.reason());
            assertTrue(rehearsal.measuredDowntimeMillis() > 0 && rehearsal.finalPages() == arena.pageCount(), rehearsal.toString());
            assertSourceServesOn(gate, writer);
            awaitDiscard(destination);
            Migration.Result r = Migration.builder().arena(arena).writerGate(gate).transport(transport).channel(ch[0]).controlChannel(ch[1])
                    .stopAndCopy(true).migrate();
            assertEquals(Migration.Outcome.SWITCHED, r.outcome(), r.reason());
            try (TrackedArena taken = destination.awaitTakeover(Duration.ofSeconds(5)).orElseThrow().arena()) {
                assertEquals(-1, arena.segment().mismatch(taken.segment()));
            } finally {
                writer.stop.set(true);
                gate.resumeWriters();
                writer.done.get(10, TimeUnit.SECONDS);
            }
        }
    }

    private static void assertSourceServesOn(WriterGate gate, Writer writer) throws InterruptedException {
        assertFalse(gate.isStopped(), "the source's writers are still stopped");
        assertEquals(0, gate.throttle(), "the source's writers are still throttled");
        long before = writer.batches.get();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (writer.batches.get() == before && System.nanoTime() < deadline) Thread.sleep(5);
        assertTrue(writer.batches.get() > before, "the source's writers do not run after the abort");
    }

    private static void awaitDiscard(MigrationDestination destination) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (destination.stats().discarded() == 0 && System.nanoTime() < deadline) Thread.sleep(5);
        assertTrue(destination.stats().discarded() > 0, "the destination did not discard the migration");
        assertFalse(destination.stats().serving(), "the destination serves a migration that did not switch");
    }
}
