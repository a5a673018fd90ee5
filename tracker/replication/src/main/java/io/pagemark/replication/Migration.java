package io.pagemark.replication;

import io.aeron.ExclusivePublication;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.FragmentHandler;
import io.pagemark.DirtyPages;
import io.pagemark.PageRange;
import io.pagemark.PagemarkException;
import io.pagemark.TrackedArena;
import io.pagemark.WriterGate;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Live migration of a running {@link TrackedArena} to a {@link MigrationDestination} in another
 * process by iterative pre-copy over Aeron, on the replication records (docs/migration.md).
 *
 * <pre>{@code
 * WriterGate gate = new WriterGate();                 // the writers enter it around each batch of writes
 * Migration.Result r = Migration.builder().arena(arena).writerGate(gate).transport(transport)
 *         .channel("aeron:udp?endpoint=127.0.0.1:40460")          // pages: source -> destination
 *         .controlChannel("aeron:udp?endpoint=127.0.0.1:40461")   // acks and the switch: destination -> source
 *         .downtimeLimit(Duration.ofMillis(50)).timeLimit(Duration.ofSeconds(60))
 *         .onRound(round -> System.out.println(round))
 *         .migrate();                                  // blocks until switched or aborted
 * if (r.outcome() == Migration.Outcome.SWITCHED) ... the destination serves; stop this side's writers
 * else ... ABORTED: this side keeps serving, untouched
 * }</pre>
 *
 * <p><b>Rounds.</b> Round 0 sends every page of the arena, read while the writers run; each later
 * round sends the pages the arena's tracker reports dirtied during the round before, read the same
 * way. A page written after it was read is dirty again and goes in a later round. After each round
 * the final round's downtime is estimated (the dirty pages over the bandwidth measured so far, plus
 * a collect timed right after the round's, PREPARE/READY as long as a ping after that collect and
 * COMMIT/SERVING as long as one right after the round's acknowledgement); once it
 * fits {@link Builder#downtimeLimit}, the writers are stopped through the gate, the last dirty pages
 * go, and the switch hands the arena over.
 *
 * <p><b>Convergence.</b> When writers dirty more than half of what a round carried for two rounds in
 * a row, the writers are throttled through the gate ({@link WriterGate#throttle(double)}): 20% at
 * first, 10% more each further step, up to 99% (QEMU's auto-converge). A migration that cannot
 * finish within {@link Builder#timeLimit} is aborted: the throttle is lifted and the source goes on
 * serving. A destination silent for {@link Builder#peerTimeout} aborts it the same way.
 *
 * <p><b>The switch</b> (exactly one side serves): PREPARE (the last round's state digest) &rarr;
 * READY (the destination holds that state) &rarr; COMMIT &rarr; SERVING. The source never resumes its
 * writers once it has sent COMMIT; the destination serves only on COMMIT, and after discarding a
 * migration it answers COMMIT with REFUSED, on which the source resumes. A destination that goes
 * silent after COMMIT leaves the outcome {@link Outcome#IN_DOUBT IN_DOUBT}: the source does not serve.
 *
 * <p>The migration owns the arena's {@link TrackedArena#collect() collects} while it runs (it arms
 * the arena if it is not armed), and must run on a thread that is not inside the gate.
 */
public final class Migration {
    private static final long HEARTBEAT_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    private static final int PINGS = 8;
    /** Control is polled every this many page records (acks, heartbeats, a refusal) while a round goes out. */
    private static final int POLL_EVERY = 64;
    private static final long BANDWIDTH_ROUND_BYTES = 1L << 20;

    /** How a migration ended. */
    public enum Outcome {
        /** The destination serves; this side's writers stay stopped (the gate stays closed). */
        SWITCHED,
        /** The source serves, as before; the destination discarded what it had. */
        ABORTED,
        /** COMMIT was sent and the destination went silent: it may serve; the source does not. */
        IN_DOUBT
    }

    /**
     * One round, reported when it is acknowledged and the dirty pages it left are counted.
     *
     * @param round                     0 for the whole arena, then 1, 2, ...
     * @param pages                     page records sent
     * @param millis                    from its first record to the destination's acknowledgement
     * @param dirtyMBps                 MB/s the writers dirtied while it was sent (MB = 10^6 bytes)
     * @param bandwidthMBps             the link's bandwidth as estimated after it
     * @param leftPages                 the pages it left dirty: what the next round carries
     * @param estimatedDowntimeMillis   the downtime if the next round were the last
     * @param throttle                  the writers' throttle while it was sent
     */
    public record Round(int round, long pages, double millis, double dirtyMBps, double bandwidthMBps, long leftPages,
                        double estimatedDowntimeMillis, double throttle) {
        /** Megabytes (10^6 bytes) of page contents sent. */
        public double megabytes(long pageSize) {
            return pages * pageSize / 1e6;
        }
    }

    /**
     * Where a final round's downtime went (measured) or is expected to go (estimated), in ms; the
     * parts follow one another, so their sum is the downtime.
     *
     * @param stopMillis    closing the writer gate, until the last writer inside it has left
     * @param collectMillis the last collect, with the writers stopped, and merging its pages into the final round's
     * @param sendMillis    offering the final round's records to Aeron (back pressure included: the link's and the destination's pace)
     * @param readyMillis   PREPARE to READY: the destination applying what was still in flight, checking, answering (a round trip)
     * @param commitMillis  COMMIT to SERVING: a round trip (0 for a rehearsal)
     */
    public record Downtime(double stopMillis, double collectMillis, double sendMillis, double readyMillis, double commitMillis) {
        static final Downtime NONE = new Downtime(0, 0, 0, 0, 0);

        /** The whole downtime. */
        public double totalMillis() {
            return stopMillis + collectMillis + sendMillis + readyMillis + commitMillis;
        }

        /** The parts in ms, two decimals each, in their order: stop/collect/send/ready/commit. */
        public String partsText() {
            return String.format("%.2f/%.2f/%.2f/%.2f/%.2f", stopMillis, collectMillis, sendMillis, readyMillis, commitMillis);
        }
    }

    /**
     * What a migration did.
     *
     * @param reason        why it aborted (or is in doubt); empty when switched
     * @param rounds        the pre-copy rounds (empty for a stop-and-copy); the final round is apart
     * @param finalPages    pages sent with the writers stopped
     * @param bytesSent     every record's bytes
     * @param estimated     the downtime the final round was started on (NONE for a stop-and-copy)
     * @param measured      from the writers' stop to SERVING (READY for a rehearsal); the parts that passed if it aborted; NONE if never stopped
     * @param finalLosses   the source's driver's loss counters over the downtime (UDP: datagrams the destination's socket dropped, sent again)
     * @param totalMillis   from the start to the outcome
     * @param rttMillis     the round trip measured before round 0
     * @param maxThrottle   the strongest throttle applied
     */
    public record Result(Outcome outcome, String reason, List<Round> rounds, long finalPages, long bytesSent,
                         Downtime estimated, Downtime measured, AeronTransport.LossCounters finalLosses, double totalMillis, double rttMillis,
                         double maxThrottle) {
        /** Rounds including the final one. */
        public int roundCount() {
            return rounds.size() + 1;
        }

        /** The estimated downtime's total. */
        public double estimatedDowntimeMillis() {
            return estimated.totalMillis();
        }

        /** The measured downtime's total. */
        public double measuredDowntimeMillis() {
            return measured.totalMillis();
        }
    }

    private final TrackedArena arena;
    private final WriterGate gate;
    private final AeronTransport transport;
    private final String channel, controlChannel;
    private final int streamId;
    private final long downtimeLimitNanos, timeLimitNanos, peerTimeoutNanos;
    private final boolean autoConverge, stopAndCopy, rehearsal;
    private final Consumer<Round> onRound;
    private final long pageSize, pageCount, identity;
    private final IdleStrategy idle = new BackoffIdleStrategy(10, 20, 1_000, 100_000);
    private final FragmentHandler controlHandler = this::onControl;

    private RecordPublisher out;
    private Subscription control;
    private Records.PageDigests digests;
    private long startNanos, lastHeardNanos, lastSentNanos;
    private long helloId;
    private boolean started, paused, committed, newDestination;
    private long ackedRound = Records.NO_EPOCH, readyRound = Records.NO_EPOCH, readyDigest, servingRound = Records.NO_EPOCH;
    private String refusal;
    private long pingsSent, pingSeq = Records.NO_EPOCH, pingSentNanos, lastPingNanos;
    private long bytesSent;
    private final List<Round> rounds = new ArrayList<>();
    private double throttle, maxThrottle;
    private int heavyRounds;
    /** Rounds the bandwidth is measured on: round 0, and the later ones of at least BANDWIDTH_ROUND_BYTES. */
    private long firstBytes, firstNanos, laterBytes, laterNanos, lastRoundNanos;
    private long rttNanos;
    /** The round trip of the ping sent after the latest round's acknowledgement: what COMMIT/SERVING costs. */
    private long handshakeNanos;
    /** The downtime's marks, in order (0: not reached): each part of {@link Downtime} runs from one to the next. */
    private static final int STOPPING = 0, STOPPED = 1, COLLECTED = 2, SENT = 3, READY = 4, SERVED = 5;
    private final long[] marks = new long[SERVED + 1];
    private AeronTransport.LossCounters lossesAtStop;

    private Migration(Builder b) {
        this.arena = b.arena;
        this.gate = b.gate;
        this.transport = b.transport;
        this.channel = b.channel;
        this.controlChannel = b.controlChannel;
        this.streamId = b.streamId;
        this.downtimeLimitNanos = b.downtimeLimit.toNanos();
        this.timeLimitNanos = b.timeLimit.toNanos();
        this.peerTimeoutNanos = b.peerTimeout.toNanos();
        this.autoConverge = b.autoConverge;
        this.stopAndCopy = b.stopAndCopy;
        this.rehearsal = b.rehearsal;
        this.onRound = b.onRound;
        this.pageSize = arena.pageSize();
        this.pageCount = arena.pageCount();
        this.identity = ThreadLocalRandom.current().nextLong() | 1;
    }

    /** Starts a builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** Why the migration stops here; the source keeps serving (unless it committed). */
    private static class Abort extends RuntimeException {
        Abort(String reason) {
            super(reason, null, false, false);
        }
    }

    /** The destination said REFUSED: it discarded the migration and will not serve it, so the source may resume even after COMMIT. */
    private static final class Refused extends Abort {
        Refused(String reason) {
            super(reason);
        }
    }

    private Result run() {
        startNanos = System.nanoTime();
        digests = Records.PageDigests.zero(pageCount, pageSize);
        out = new RecordPublisher(identity, pageSize, this::refused);
        control = transport.aeron().addSubscription(controlChannel, streamId + 1);
        ExclusivePublication publication = null;
        Downtime estimate = Downtime.NONE;
        long finalPages = 0;
        try {
            publication = transport.aeron().addExclusivePublication(channel, streamId);
            out.publication(publication);
            awaitDestination();
            measureRoundTrip();
            if (!arena.isArmed()) arena.arm();
            arena.collect();   // from here on every write is in a later collect: round 0 reads every page after this
            long[] last;
            if (stopAndCopy) {
                stopWriters();
                marks[COLLECTED] = marks[STOPPED];
                last = null;
            } else {
                long collectedAt = System.nanoTime();
                int round = 0;
                long sent = sendRound(round, null, true);
                while (true) {
                    long[] dirtied = pagesOf(arena.collect());
                    // The final collect follows a collect by moments, with next to nothing dirty: it costs what a
                    // second collect right after this one costs (its pages join the round's), not what this one did.
                    long t = System.nanoTime();
                    long[] since = pagesOf(arena.collect());
                    long collectNanos = System.nanoTime() - t;
                    long interval = Math.max(1, t - collectedAt);
                    collectedAt = t;
                    last = union(dirtied, since);
                    // The final round starts on threads and drivers that idled through that collect; a ping now
                    // pays the same wake-ups on its way to READY (the rounds start warm: right after this ping).
                    long readyNanos = ping();
                    estimate = estimate(last.length, collectNanos, readyNanos);
                    double dirtyMBps = last.length * pageSize / 1e6 / (interval / 1e9);
                    Round r = new Round(round, sent, lastRoundNanos / 1e6, dirtyMBps, bandwidthBytesPerNano() * 1e3, last.length,
                            estimate.totalMillis(), throttle);
                    rounds.add(r);
                    onRound.accept(r);
                    // Round 0's bandwidth is not the link's (the destination faults its fresh arena in): the final round
                    // waits for a later round's measure unless what it carries is too small for the bandwidth to matter.
                    boolean measured = laterBytes > 0 || (long) last.length * pageSize < BANDWIDTH_ROUND_BYTES;
                    double estimateNanos = estimate.totalMillis() * 1e6;
                    if (estimateNanos <= downtimeLimitNanos && measured) break;
                    long elapsed = System.nanoTime() - startNanos;
                    if (elapsed + estimateNanos > timeLimitNanos) {
                        throw new Abort(String.format("did not converge within the time limit of %d ms: after %d rounds the final round"
                                        + " would still take %.1f ms (limit %.1f ms), the writers dirtying %.1f MB/s against %.1f MB/s of bandwidth%s",
                                TimeUnit.NANOSECONDS.toMillis(timeLimitNanos), rounds.size(), estimate.totalMillis(), downtimeLimitNanos / 1e6,
                                dirtyMBps, bandwidthBytesPerNano() * 1e3, autoConverge ? " at a throttle of " + Math.round(throttle * 100) + "%" : ""));
                    }
                    if (autoConverge) converge(last.length, sent);
                    round++;
                    sent = sendRound(round, last, true);
                }
                stopWriters();
                long[] more = pagesOf(arena.collect());
                last = union(last, more);
                marks[COLLECTED] = System.nanoTime();
            }
            finalPages = last == null ? pageCount : last.length;
            long finalRound = stopAndCopy ? 0 : rounds.size();
            sendRound(finalRound, last, false);
            marks[SENT] = System.nanoTime();
            prepareAndSwitch(finalRound);
            if (rehearsal) {
                Result r = result(Outcome.ABORTED, "a rehearsal: everything but the switch", finalPages, estimate);
                abortQuietly("a rehearsal: the switch is not made");
                resumeWriters();
                return r;
            }
            return result(Outcome.SWITCHED, "", finalPages, estimate);
        } catch (Abort a) {
            Result r = result(committed && !(a instanceof Refused) ? Outcome.IN_DOUBT : Outcome.ABORTED, a.getMessage(), finalPages, estimate);
            if (r.outcome() == Outcome.IN_DOUBT) return r;
            abortQuietly(a.getMessage());
            resumeWriters();
            return r;
        } catch (RuntimeException | Error e) {
            if (!committed) {
                abortQuietly("the source failed: " + e);
                resumeWriters();
            }
            throw e;
        } finally {
            gate.throttle(0);
            if (publication != null) publication.close();
            control.close();
        }
    }

    private Result result(Outcome outcome, String reason, long finalPages, Downtime estimate) {
        long now = System.nanoTime();
        AeronTransport.LossCounters losses = lossesAtStop == null ? new AeronTransport.LossCounters(0, 0, 0, 0)
                : transport.lossCounters().since(lossesAtStop);
        return new Result(outcome, reason, List.copyOf(rounds), finalPages, bytesSent, estimate, measured(now), losses,
                (now - startNanos) / 1e6, rttNanos / 1e6, maxThrottle);
    }

    /** The downtime's parts from the marks reached; the part under way when it ended runs to {@code now}. */
    private Downtime measured(long now) {
        if (marks[STOPPING] == 0) return Downtime.NONE;
        double[] parts = new double[SERVED];
        for (int i = STOPPING; i < SERVED && marks[i] != 0; i++) parts[i] = ((marks[i + 1] != 0 ? marks[i + 1] : now) - marks[i]) / 1e6;
        return new Downtime(parts[STOPPING], parts[STOPPED], parts[COLLECTED], parts[SENT], parts[READY]);
    }

    private void stopWriters() {
        gate.throttle(0);
        lossesAtStop = transport.lossCounters();
        marks[STOPPING] = System.nanoTime();
        gate.stopWriters();
        paused = true;
        marks[STOPPED] = System.nanoTime();
    }

    private void resumeWriters() {
        gate.throttle(0);
        if (paused) {
            paused = false;
            gate.resumeWriters();
        }
    }

    /** Auto-converge: two rounds in a row that left more than half of what they carried dirty raise the throttle a step. */
    private void converge(long dirtyPages, long sentPages) {
        heavyRounds = dirtyPages * 2 > sentPages ? heavyRounds + 1 : 0;
        if (heavyRounds < 2 || throttle >= 0.99) return;
        heavyRounds = 0;
        throttle = throttle == 0 ? 0.2 : Math.min(0.99, throttle + 0.1);
        maxThrottle = Math.max(maxThrottle, throttle);
        gate.throttle(throttle);
    }

    // ---- estimates ----

    /**
     * Bytes per nanosecond: the rounds after round 0 that carried at least {@value #BANDWIDTH_ROUND_BYTES}
     * bytes, each round's time less one round trip; round 0 alone until there is one. Round 0 is slower
     * than the link (the destination's first writes to its fresh arena fault), and a small round's
     * time is mostly its fixed costs, not the link's.
     */
    private double bandwidthBytesPerNano() {
        return laterBytes > 0 ? (double) laterBytes / laterNanos : firstNanos == 0 ? 0 : (double) firstBytes / firstNanos;
    }

    /**
     * The final round's downtime if it carried {@code pages}: a collect of {@code collectNanos}, the pages over the
     * bandwidth, PREPARE to READY as long as a ping after such a collect ({@code readyNanos}), and COMMIT to SERVING
     * as long as the latest round's ping (COMMIT goes right after READY, on threads still awake).
     */
    private Downtime estimate(long pages, long collectNanos, long readyNanos) {
        double bw = bandwidthBytesPerNano();
        double send = (pages * (double) Records.pageRecordBytes(pageSize) + Records.EPOCH_START_BYTES + Records.EPOCH_END_BYTES) / bw;
        return new Downtime(0, collectNanos / 1e6, send / 1e6, readyNanos / 1e6, handshakeNanos / 1e6);
    }

    // ---- rounds ----

    /**
     * Sends round {@code round}: every page ({@code pages} null) or those listed, read from the arena
     * as they are now; waits for its acknowledgement if asked. Returns the page records sent.
     */
    private long sendRound(long round, long[] pages, boolean awaitAck) {
        long start = System.nanoTime();
        long bytesBefore = bytesSent;
        RecordPublisher.PageSource memory = out.pagesOf(arena.segment());
        out.epochStart(round, round == 0 ? Records.NO_EPOCH : round - 1, helloId, pageCount * pageSize);
        sent(Records.EPOCH_START_BYTES);
        long digest = Records.RECORDS_DIGEST_SEED;
        long n = pages == null ? pageCount : pages.length;
        for (long i = 0; i < n; i++) {
            long p = pages == null ? i : pages[(int) i];
            int crc = out.page(round, p, memory);
            digests.set(p, crc);
            digest = Records.foldRecord(digest, p, crc);
            sent(Records.pageRecordBytes(pageSize));
            if ((i + 1) % POLL_EVERY == 0) pollControl();
        }
        out.epochEnd(round, n, digest, digests.state(), WallClock.nanos());
        sent(Records.EPOCH_END_BYTES);
        if (awaitAck) {
            await(() -> ackedRound >= round);
            long bytes = bytesSent - bytesBefore;
            lastRoundNanos = System.nanoTime() - start;
            // A ping right after the destination answered a round costs what COMMIT costs right after it answered
            // PREPARE: the same threads and drivers, just past the same burst (over UDP, milliseconds more than an idle ping).
            handshakeNanos = ping();
            long linkNanos = Math.max(1, lastRoundNanos - handshakeNanos);
            if (round == 0) {
                firstBytes = bytes;
                firstNanos = linkNanos;
            } else if (bytes >= BANDWIDTH_ROUND_BYTES) {
                laterBytes += bytes;
                laterNanos += linkNanos;
            }
        }
        return n;
    }

    private void sent(int bytes) {
        bytesSent += bytes;
        lastSentNanos = System.nanoTime();
    }

    /** The switch: PREPARE, READY, COMMIT, SERVING (a rehearsal stops at READY). */
    private void prepareAndSwitch(long round) {
        out.small().putLong(Records.SIGNAL_ARGUMENT_AT, digests.state(), Records.ORDER);
        out.small(Records.PREPARE, round, Records.SIGNAL_BYTES);
        sent(Records.SIGNAL_BYTES);
        await(() -> readyRound == round);
        marks[READY] = System.nanoTime();
        if (readyDigest != digests.state()) {
            throw new Abort(String.format("the destination is READY with state digest %x, the source's is %x", readyDigest, digests.state()));
        }
        if (rehearsal) {
            marks[SERVED] = marks[READY];
            return;
        }
        // The commit point: from here on this side never resumes its writers (docs/migration.md, "The switch").
        committed = true;
        out.small().putLong(Records.SIGNAL_ARGUMENT_AT, 0, Records.ORDER);
        out.small(Records.COMMIT, round, Records.SIGNAL_BYTES);
        sent(Records.SIGNAL_BYTES);
        await(() -> servingRound == round);
        marks[SERVED] = System.nanoTime();
    }

    private interface Condition {
        boolean met();
    }

    /** Polls the destination until {@code condition}; aborts on a refusal, a silent destination, or the time limit. */
    private void await(Condition condition) {
        while (true) {
            int work = pollControl();
            if (condition.met()) return;
            long now = System.nanoTime();
            if (now - lastSentNanos > HEARTBEAT_NANOS) heartbeat(Records.NO_EPOCH);
            idle.idle(work);
        }
    }

    /** Reads the control stream; throws Abort on a refusal, a destination silent too long, or the time limit (before the commit). */
    private int pollControl() {
        int work = control.poll(controlHandler, 16);
        if (refusal != null) throw new Refused("the destination refused: " + refusal);
        if (newDestination && !committed) {
            throw new Abort("a new destination said hello (the one migrating restarted, or discarded this migration)");
        }
        long now = System.nanoTime();
        if (now - lastHeardNanos > peerTimeoutNanos) {
            throw new Abort("the destination was silent for " + TimeUnit.NANOSECONDS.toMillis(now - lastHeardNanos) + " ms (peer timeout "
                    + TimeUnit.NANOSECONDS.toMillis(peerTimeoutNanos) + " ms): it died, or the link is down");
        }
        if (!committed && now - startNanos > timeLimitNanos) {
            throw new Abort("the time limit of " + TimeUnit.NANOSECONDS.toMillis(timeLimitNanos) + " ms ran out");
        }
        return work;
    }

    /** Aeron refused an offer: back pressure and a connection not yet up are waited out while the destination is heard. */
    private void refused(long result) {
        if (result == Publication.BACK_PRESSURED || result == Publication.ADMIN_ACTION || result == Publication.NOT_CONNECTED) {
            pollControl();
            return;
        }
        if (result == Publication.CLOSED) throw new Abort("the Aeron publication on " + channel + " was closed");
        if (result == Publication.MAX_POSITION_EXCEEDED) throw new Abort("the stream on " + channel + " reached its maximum position");
        throw new PagemarkException("unexpected Aeron offer result " + result);
    }

    private void heartbeat(long echo) {
        out.small().putLong(Records.SIGNAL_ARGUMENT_AT, 0, Records.ORDER);
        long r = out.publication().offer(out.small(), 0, headerAnd(Records.HEARTBEAT, echo));
        if (r >= 0) sent(Records.SIGNAL_BYTES);
    }

    /** Writes a signal's header into the small buffer; returns its length. */
    private int headerAnd(int type, long epoch) {
        Records.putHeader(out.small(), 0, type, identity, epoch);
        return Records.SIGNAL_BYTES;
    }

    /** Best effort: tells the destination to discard (it also discards when the source goes silent). */
    private void abortQuietly(String reason) {
        ExclusivePublication p = out == null ? null : out.publication();
        if (p == null || p.isClosed()) return;
        int length = Records.putReason(out.small(), "the source aborted: " + reason);
        Records.putHeader(out.small(), 0, Records.ABORT, identity, rounds.size());
        for (int tries = 0; tries < 1000 && p.offer(out.small(), 0, length) < 0; tries++) Thread.onSpinWait();
    }

    private void awaitDestination() {
        lastHeardNanos = System.nanoTime();
        long deadline = startNanos + Math.min(timeLimitNanos, TimeUnit.SECONDS.toNanos(30));
        while (helloId == 0 || !out.publication().isConnected()) {
            int work = control.poll(controlHandler, 16);
            long now = System.nanoTime();
            if (helloId != 0 && now - lastHeardNanos > peerTimeoutNanos) {
                throw new Abort("the destination said hello, then was silent for " + TimeUnit.NANOSECONDS.toMillis(now - lastHeardNanos)
                        + " ms (peer timeout " + TimeUnit.NANOSECONDS.toMillis(peerTimeoutNanos) + " ms)");
            }
            if (now > deadline) {
                throw new Abort("no destination answered on " + channel + " / " + controlChannel + " stream " + streamId + " within "
                        + TimeUnit.NANOSECONDS.toMillis(deadline - startNanos) + " ms");
            }
            idle.idle(work);
        }
        lastHeardNanos = System.nanoTime();
        started = true;
    }

    /** The round trip before round 0: the fastest of a few pings (a ping that found both sides asleep counts their wake-ups too). */
    private void measureRoundTrip() {
        long[] samples = new long[PINGS];
        for (int i = 0; i < PINGS; i++) samples[i] = ping();
        rttNanos = Arrays.stream(samples).min().orElseThrow();
    }

    /** One ping (a HEARTBEAT carrying the next ping number, echoed at once): its round trip in ns. */
    private long ping() {
        pingSeq = pingsSent++;
        lastPingNanos = 0;
        pingSentNanos = System.nanoTime();
        while (out.publication().offer(out.small(), 0, headerAnd(Records.HEARTBEAT, pingSeq)) < 0) pollControl();
        sent(Records.SIGNAL_BYTES);
        await(() -> lastPingNanos != 0);
        pingSeq = Records.NO_EPOCH;
        return lastPingNanos;
    }

    private void onControl(DirectBuffer b, int at, int length, io.aeron.logbuffer.Header header) {
        int type = Records.type(b, at, length);
        if (type < 0) return;
        long recordIdentity = Records.identity(b, at);
        long e = Records.epoch(b, at);
        if (type == Records.JOIN && recordIdentity == 0 && length >= Records.JOIN_BYTES) {
            long id = b.getLong(at + Records.JOIN_JOIN_ID_AT, Records.ORDER);
            if (!started) {
                helloId = id;
                lastHeardNanos = System.nanoTime();
            } else if (id != helloId) {
                newDestination = true;   // no proof the one migrating will not serve: after COMMIT only its REFUSED is
            }
            return;
        }
        if (recordIdentity != identity) return;
        lastHeardNanos = System.nanoTime();
        switch (type) {
            case Records.ACK -> ackedRound = Math.max(ackedRound, e);
            case Records.HEARTBEAT -> {
                if (e >= 0 && e == pingSeq) lastPingNanos = System.nanoTime() - pingSentNanos;
            }
            case Records.READY -> {
                readyRound = e;
                readyDigest = b.getLong(at + Records.SIGNAL_ARGUMENT_AT, Records.ORDER);
            }
            case Records.SERVING -> servingRound = e;
            case Records.REFUSED -> refusal = Records.reason(b, at, length);
            default -> { }
        }
    }

    private static long[] pagesOf(DirtyPages dirty) {
        long[] pages = new long[Math.toIntExact(dirty.pageCount())];
        int i = 0;
        for (PageRange r : dirty.ranges()) for (long p = r.firstPage(); p < r.firstPage() + r.pageCount(); p++) pages[i++] = p;
        return pages;
    }

    /** The sorted union of two ascending page lists. */
    private static long[] union(long[] a, long[] b) {
        long[] u = new long[a.length + b.length];
        int i = 0, j = 0, n = 0;
        while (i < a.length || j < b.length) {
            long next = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i] : b[j];
            if (i < a.length && a[i] == next) i++;
            if (j < b.length && b[j] == next) j++;
            u[n++] = next;
        }
        return Arrays.copyOf(u, n);
    }

    /**
     * Configures and runs a {@link Migration}.
     *
     * <pre>{@code
     * Migration.Result r = Migration.builder().arena(arena).writerGate(gate).transport(transport)
     *         .channel("aeron:ipc").streamId(1201).migrate();
     * }</pre>
     */
    public static final class Builder {
        private TrackedArena arena;
        private WriterGate gate;
        private AeronTransport transport;
        private String channel = "aeron:ipc";
        private String controlChannel = "aeron:ipc";
        private int streamId = 1201;
        private Duration downtimeLimit = Duration.ofMillis(50);
        private Duration timeLimit = Duration.ofSeconds(60);
        private Duration peerTimeout = Duration.ofSeconds(3);
        private boolean autoConverge = true;
        private boolean stopAndCopy;
        private boolean rehearsal;
        private Consumer<Round> onRound = round -> {};

        private Builder() {}

        /** The arena to migrate (required). */
        public Builder arena(TrackedArena arena) {
            this.arena = Objects.requireNonNull(arena, "arena");
            return this;
        }

        /** The gate the arena's writers enter around their writes (required): the final round stops them, auto-converge throttles them. */
        public Builder writerGate(WriterGate gate) {
            this.gate = Objects.requireNonNull(gate, "gate");
            return this;
        }

        /** The Aeron transport (required). */
        public Builder transport(AeronTransport transport) {
            this.transport = Objects.requireNonNull(transport, "transport");
            return this;
        }

        /** The channel the pages and the switch go out on (default {@code aeron:ipc}). */
        public Builder channel(String uri) {
            this.channel = Replicator.checkChannel(uri, "channel");
            return this;
        }

        /** The channel the destination's acknowledgements come back on (default {@code aeron:ipc}). */
        public Builder controlChannel(String uri) {
            this.controlChannel = Replicator.checkChannel(uri, "controlChannel");
            return this;
        }

        /** The stream id (default 1201); the control stream is the next one. */
        public Builder streamId(int id) {
            this.streamId = Replicator.checkStreamId(id);
            return this;
        }

        /** The longest the writers may be stopped for the final round (default 50 ms). */
        public Builder downtimeLimit(Duration limit) {
            this.downtimeLimit = positive(limit, "downtimeLimit");
            return this;
        }

        /** The longest the migration may take before it is aborted, the source serving on (default 60 s). */
        public Builder timeLimit(Duration limit) {
            this.timeLimit = positive(limit, "timeLimit");
            return this;
        }

        /** How long the destination may be silent before the migration aborts (default 3 s: over UDP a lost frame holds back the heartbeats behind it until it is retransmitted). */
        public Builder peerTimeout(Duration timeout) {
            this.peerTimeout = positive(timeout, "peerTimeout");
            return this;
        }

        /** Whether writers that outrun the link are throttled through the gate (default true). */
        public Builder autoConverge(boolean on) {
            this.autoConverge = on;
            return this;
        }

        /** Stop-and-copy instead of pre-copy: the writers stop first, then the whole arena goes (for comparison). */
        public Builder stopAndCopy(boolean on) {
            this.stopAndCopy = on;
            return this;
        }

        /** Everything but the switch: after READY the destination is told to discard and the source resumes (outcome ABORTED). */
        public Builder rehearsal(boolean on) {
            this.rehearsal = on;
            return this;
        }

        /** Called on the migrating thread after each pre-copy round. */
        public Builder onRound(Consumer<Round> listener) {
            this.onRound = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /**
         * Runs the migration on this thread; returns when the destination serves, or the migration
         * aborted (the source serving on), or is in doubt.
         *
         * @throws IllegalStateException if the arena, the gate or the transport is missing, or this thread is inside the gate
         */
        public Result migrate() {
            if (arena == null) throw new IllegalStateException("arena(...) is required");
            if (gate == null) {
                throw new IllegalStateException("writerGate(...) is required: the final round stops the arena's writers through it"
                        + " (and auto-converge throttles them)");
            }
            if (transport == null) throw new IllegalStateException("transport(...) is required: AeronTransport.embedded() or .external(dir)");
            return new Migration(this).run();
        }

        private static Duration positive(Duration d, String what) {
            if (d.isNegative() || d.isZero()) throw new IllegalArgumentException(what + " must be positive, got " + d);
            return d;
        }
    }
}
