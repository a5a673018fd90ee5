package io.pagemark.bench;

import io.pagemark.TrackedArena;
import io.pagemark.WriterGate;
import io.pagemark.replication.AeronTransport;
import io.pagemark.replication.Migration;
import io.pagemark.replication.MigrationDestination;
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

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * Live migration's downtime against a stop-and-copy of the same arena: each invocation migrates a
 * {@code arenaMiB} arena, under a writer dirtying {@code writeMBps} of unique pages (it walks the
 * arena page by page, a store per page, 16 pages per gate entry), to a fresh destination over IPC
 * or UDP loopback (a driver per side), and switches; the score is the downtime measured (from the
 * writers' stop to the destination's SERVING), in ms. The pre-copy's rounds, its estimate of the
 * downtime and the ratio of the estimate to the measured downtime are auxiliary counters; each
 * trial also prints them per invocation. The source's gate is opened again after each switch so
 * the next invocation migrates the same running arena.
 *
 * <pre>
 * java -jar jmh/target/benchmarks.jar MigrationBenchmark -p arenaMiB=256 -p writeMBps=50
 * </pre>
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 10)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.ADD_EXPORTS, JvmFlags.EXPORT_INTERNAL_MISC, JvmFlags.ALLOW_UNSAFE, "-Xmx2g"})
public class MigrationBenchmark {
    /** Longer than the default 1 s: on a loaded 2-CPU machine a busy side was once unheard for a second over UDP (docs/migration.md). */
    static final Duration PEER_TIMEOUT = Duration.ofSeconds(5);

    /** The source: an arena, its writer, a transport per side. */
    @State(Scope.Benchmark)
    public static class Source {
        @Param({"256", "1024"})
        int arenaMiB;
        @Param({"10", "50", "200"})
        double writeMBps;
        @Param({"ipc", "udp"})
        String media;

        TrackedArena arena;
        final WriterGate gate = new WriterGate();
        AeronTransport sourceSide, destinationSide;
        String data, control;
        final AtomicBoolean stop = new AtomicBoolean();
        Thread writer;
        final List<String> lines = new ArrayList<>();

        @Setup(Level.Trial)
        public void open() {
            arena = TrackedArena.builder().size((long) arenaMiB << 20).open();
            MemorySegment mem = arena.segment();
            for (long p = 0; p < arena.pageCount(); p++) mem.set(ValueLayout.JAVA_LONG, p * arena.pageSize(), p);   // every page populated
            sourceSide = AeronTransport.embedded();
            destinationSide = media.equals("ipc") ? sourceSide : AeronTransport.embedded();
            data = ReplicationBenchmark.channel(media, ReplicationBenchmark.freePort());
            control = ReplicationBenchmark.channel(media, ReplicationBenchmark.freePort());
            long pages = arena.pageCount(), page = arena.pageSize();
            long nanosPerBatch = (long) (16 * page / (writeMBps * 1e6) * 1e9);
            writer = Thread.ofPlatform().daemon().name("migration-bench-writer").start(() -> {
                long p = 0, next = System.nanoTime(), value = 1;
                while (!stop.get()) {
                    gate.enter();
                    try {
                        for (int i = 0; i < 16; i++, p = (p + 1) % pages) mem.set(ValueLayout.JAVA_LONG, p * page + 8, value++);
                    } finally {
                        gate.exit();
                    }
                    next += nanosPerBatch;
                    long wait = next - System.nanoTime();
                    if (wait > 0) LockSupport.parkNanos(wait);
                    else if (wait < -TimeUnit.MILLISECONDS.toNanos(2)) next = System.nanoTime();   // time lost to a throttle is not made up in a burst
                }
            });
        }

        @TearDown(Level.Trial)
        public void close() throws InterruptedException {
            stop.set(true);
            writer.join(10_000);
            for (String l : lines) System.out.println(l);
            if (destinationSide != sourceSide) destinationSide.close();
            sourceSide.close();
            arena.close();
        }
    }

    @Benchmark
    public double preCopy(Source s, LatencyHistograms downtimes) throws Exception {
        return migrate(s, downtimes, false);
    }

    @Benchmark
    public double stopAndCopy(Source s, LatencyHistograms downtimes) throws Exception {
        return migrate(s, downtimes, true);
    }

    private static double migrate(Source s, LatencyHistograms downtimes, boolean stopAndCopy) throws Exception {
        try (MigrationDestination destination = MigrationDestination.builder().transport(s.destinationSide)
                .channel(s.data).controlChannel(s.control).peerTimeout(PEER_TIMEOUT).start()) {
            Migration.Result r = Migration.builder().arena(s.arena).writerGate(s.gate).transport(s.sourceSide)
                    .channel(s.data).controlChannel(s.control).stopAndCopy(stopAndCopy).timeLimit(Duration.ofMinutes(2)).peerTimeout(PEER_TIMEOUT).migrate();
            try {
                if (r.outcome() != Migration.Outcome.SWITCHED) throw new IllegalStateException("the migration did not switch: " + r);
                destination.awaitTakeover(Duration.ofSeconds(10)).orElseThrow().arena().close();
            } finally {
                if (s.gate.isStopped()) s.gate.resumeWriters();   // this benchmark is the source's owner: its writer runs on for the next invocation
            }
            downtimes.writer(0).recordValue((long) (r.measuredDowntimeMillis() * 1e6));
            List<Migration.Round> rounds = r.rounds();
            double bandwidth = rounds.isEmpty() ? 0 : rounds.getLast().bandwidthMBps();
            double dirty = rounds.isEmpty() ? 0 : rounds.getLast().dirtyMBps();
            s.lines.add(String.format("migration %s %d MiB at %.0f MB/s over %s: %d rounds, final %d pages, downtime estimated %.2f ms,"
                            + " measured %.2f ms (estimate/measured %.2f), total %.0f ms, last dirty rate %.1f MB/s, bandwidth %.1f MB/s,"
                            + " max throttle %.0f%%; stop/collect/send/ready/commit ms estimated %s, measured %s; final round NAKs %d, retransmits %d;"
                    + " rounds (pages in ms): %s",
                    stopAndCopy ? "stop-and-copy" : "pre-copy", s.arenaMiB, s.writeMBps, s.media, r.roundCount(), r.finalPages(),
                    r.estimatedDowntimeMillis(), r.measuredDowntimeMillis(), r.estimatedDowntimeMillis() / r.measuredDowntimeMillis(),
                    r.totalMillis(), dirty, bandwidth, r.maxThrottle() * 100, r.estimated().partsText(), r.measured().partsText(),
                    r.finalLosses().naksReceived(), r.finalLosses().retransmitsSent(),
                    rounds.stream().map(round -> String.format("%d in %.2f", round.pages(), round.millis())).toList()));
            return r.measuredDowntimeMillis();
        }
    }
}
