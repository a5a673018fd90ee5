package io.pagemark.replication;

import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Image;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.Header;
import io.pagemark.Backend;
import io.pagemark.PagemarkException;
import io.pagemark.TrackedArena;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The receiving side of a {@link Migration}: says hello on the control channel, takes the rounds
 * into an arena of its own, and takes over (serves) on the source's COMMIT, handing the arena,
 * armed, to the caller. Until then nothing it holds is anyone's: a migration the source aborts,
 * or whose source goes silent for {@link Builder#peerTimeout}, is discarded, and the destination
 * waits for the next one.
 *
 * <pre>{@code
 * try (AeronTransport transport = AeronTransport.embedded();
 *      MigrationDestination destination = MigrationDestination.builder().transport(transport)
 *              .channel("aeron:udp?endpoint=127.0.0.1:40460").controlChannel("aeron:udp?endpoint=127.0.0.1:40461").start()) {
 *     Optional<MigrationDestination.Takeover> t = destination.awaitTakeover(Duration.ofMinutes(1));
 *     try (TrackedArena arena = t.orElseThrow().arena()) { ... serve ... }
 * }
 * }</pre>
 *
 * <p>The arena is armed when the migration begins (arming is O(arena); done at the switch it would
 * count in the downtime), so it tracks the migration's own writes too: the first collect after the
 * takeover reports every page the migration wrote. Every page record is checked (its check binds it to the migration, the round and the page) and
 * written straight into the arena; each round's end is checked (record count, records digest, the
 * state digest of the whole arena) before it is acknowledged. PREPARE is answered READY only if the
 * arena's digest is the source's; a failed check is answered REFUSED with the reason, and the
 * migration is discarded.
 */
public final class MigrationDestination implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(MigrationDestination.class.getName());
    private static final long HELLO_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long HEARTBEAT_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    private enum State { IDLE, RECEIVING, PREPARED, SERVING }

    /**
     * A migration taken over: the arena (armed, tracking its own writes; the caller owns and closes it).
     *
     * @param sourceIdentity the migration's identity (random per source)
     * @param rounds         rounds received, the final one included
     * @param stateDigest    the {@link ArenaDigest} of the arena as taken over (the source's)
     * @param servingWallNanos when it started serving, ns since 1970
     */
    public record Takeover(TrackedArena arena, long sourceIdentity, long rounds, long stateDigest, long servingWallNanos) {}

    private final AeronTransport transport;
    private final int streamId;
    private final Backend backend;
    private final long peerTimeoutNanos;
    private final Subscription subscription;
    private final ExclusivePublication control;
    private final FragmentAssembler assembler = new FragmentAssembler(this::onRecord, 0, true);
    private final IdleStrategy idle = new BackoffIdleStrategy(10, 20, 1_000, 100_000);
    private final UnsafeBuffer signal = new UnsafeBuffer(new byte[Records.REASON_AT + Records.REASON_MAX_BYTES]);
    private final Thread thread;

    // ---- the destination thread's state ----
    private State state = State.IDLE;
    private TrackedArena arena;
    private MemorySegment memory;
    private long pageSize, pageCount;
    private Records.PageDigests digests;
    private final BufferViews views = new BufferViews();   // the records' buffers, read on this object's thread only
    private long helloId, lastHelloNanos, lastSignalNanos, lastHeardNanos;
    private long identity;               // the migration being received (0: none)
    private int session;
    private long discardedIdentity;      // the last migration discarded: its COMMIT is REFUSED
    private String discardReason;
    private long round = Records.NO_EPOCH, appliedRound = Records.NO_EPOCH;
    private long roundRecords, roundDigest;
    private long servingSince;
    /** Sessions whose stream ended, from the client conductor's thread. */
    private final java.util.concurrent.ConcurrentLinkedQueue<Integer> endedSessions = new java.util.concurrent.ConcurrentLinkedQueue<>();

    // ---- shared ----
    private volatile boolean running = true;
    private volatile Takeover takeover;
    private volatile Throwable failure;
    private volatile String lastDiscard;
    private volatile long migrationsStarted, migrationsDiscarded;
    private boolean handedOver;

    private MigrationDestination(Builder b) {
        this.transport = b.transport;
        this.streamId = b.streamId;
        this.backend = b.backend;
        this.peerTimeoutNanos = b.peerTimeout.toNanos();
        // A page's worth of the backend now: the first arena of a JVM loads the native library and probes the kernel,
        // which on a busy machine took seconds; inside a migration's round 0 that silence aborted it. A backend that
        // cannot open fails here, at start, instead.
        TrackedArena.builder().size(4096).backend(backend).open().close();
        this.subscription = transport.aeron().addSubscription(b.channel, streamId, image -> {}, this::onImageLost);
        try {
            this.control = transport.aeron().addExclusivePublication(b.controlChannel, streamId + 1);
        } catch (RuntimeException e) {
            subscription.close();
            throw e;
        }
        this.thread = Thread.ofPlatform().daemon().name("pagemark-migration-destination-" + streamId).unstarted(this::run);
        thread.start();
    }

    /** Starts a builder. */
    public static Builder builder() {
        return new Builder();
    }

    private void onImageLost(Image image) {
        endedSessions.add(image.sessionId());
    }

    private void run() {
        try {
            newHello();
            while (running) {
                int work = subscription.poll(assembler, 64);
                long now = System.nanoTime();
                Integer ended;
                while ((ended = endedSessions.poll()) != null) {
                    if (identity != 0 && state != State.SERVING && ended == session) discard("the source's stream ended before the switch");
                }
                if (state == State.IDLE) {
                    if (now - lastHelloNanos > HELLO_NANOS) sendHello();
                } else {
                    if (now - lastSignalNanos > HEARTBEAT_NANOS) signal(Records.HEARTBEAT, Records.NO_EPOCH, 0);
                    if (state != State.SERVING && now - lastHeardNanos > peerTimeoutNanos) {
                        discard("the source was silent for " + TimeUnit.NANOSECONDS.toMillis(now - lastHeardNanos) + " ms before the switch (peer timeout "
                                + TimeUnit.NANOSECONDS.toMillis(peerTimeoutNanos) + " ms): it died, or the link is down");
                    }
                }
                idle.idle(work);
            }
        } catch (Throwable t) {
            failure = t;
            LOG.log(System.Logger.Level.ERROR, "the migration destination stopped", t);
        }
    }

    private void newHello() {
        helloId = ThreadLocalRandom.current().nextLong() | 1;
        sendHello();
    }

    private void sendHello() {
        lastHelloNanos = System.nanoTime();
        Records.putHeader(signal, 0, Records.JOIN, 0, Records.NO_EPOCH);
        signal.putLong(Records.JOIN_DIGEST_AT, 0, Records.ORDER);
        signal.putLong(Records.JOIN_JOIN_ID_AT, helloId, Records.ORDER);
        control.offer(signal, 0, Records.JOIN_BYTES);   // refused (not connected yet): sent again in 100 ms
    }

    /** A signal to the source (its identity, or {@code to}); small records: a short wait on back pressure. */
    private void signal(int type, long epoch, long argument) {
        signalTo(identity, type, epoch, argument);
    }

    private void signalTo(long to, int type, long epoch, long argument) {
        Records.putHeader(signal, 0, type, to, epoch);
        signal.putLong(Records.SIGNAL_ARGUMENT_AT, argument, Records.ORDER);
        offer(Records.SIGNAL_BYTES);
    }

    private void offer(int length) {
        lastSignalNanos = System.nanoTime();
        for (int tries = 0; tries < 10_000; tries++) {
            long r = control.offer(signal, 0, length);
            if (r >= 0 || (r != Publication.BACK_PRESSURED && r != Publication.ADMIN_ACTION)) return;
            Thread.onSpinWait();
        }
    }

    private void refuse(long to, long e, String reason) {
        Records.putHeader(signal, 0, Records.REFUSED, to, e);
        offer(Records.putReason(signal, reason));
    }

    private void onRecord(DirectBuffer b, int at, int length, Header header) {
        int type = Records.type(b, at, length);
        if (type < 0) return;
        long recordIdentity = Records.identity(b, at);
        long e = Records.epoch(b, at);
        if (type == Records.HEARTBEAT) {
            if (recordIdentity == identity) lastHeardNanos = System.nanoTime();
            if (e >= 0) signalTo(recordIdentity, Records.HEARTBEAT, e, 0);   // a ping: echoed at once
            return;
        }
        if (type == Records.EPOCH_START && e == 0 && state == State.IDLE) {
            begin(b, at, length, recordIdentity, header.sessionId());
            return;
        }
        if (type == Records.COMMIT && recordIdentity != identity && recordIdentity == discardedIdentity) {
            refuse(recordIdentity, e, "this destination had discarded the migration: " + discardReason);
            return;
        }
        if (recordIdentity != identity || identity == 0 || header.sessionId() != session) return;   // another migration's, or one discarded
        lastHeardNanos = System.nanoTime();
        switch (type) {
            case Records.EPOCH_START -> startRound(b, at, e);
            case Records.PAGE -> page(b, at, length, e);
            case Records.EPOCH_END -> endRound(b, at, length, e);
            case Records.PREPARE -> prepare(b, at, e);
            case Records.COMMIT -> commit(e);
            case Records.ABORT -> discard(Records.reason(b, at, length), System.Logger.Level.DEBUG);
            default -> failCheck("a record of type " + type + " on the migration stream");
        }
    }

    private void begin(DirectBuffer b, int at, int length, long recordIdentity, int sessionId) {
        if (length < Records.EPOCH_START_BYTES || b.getLong(at + Records.JOIN_ID_AT, Records.ORDER) != helloId) return;   // not an answer to this hello
        long arenaBytes = b.getLong(at + Records.ARENA_BYTES_AT, Records.ORDER);
        long streamPageSize = b.getInt(at + Records.PAGE_SIZE_AT, Records.ORDER) & 0xffffffffL;
        identity = recordIdentity;
        session = sessionId;
        lastHeardNanos = System.nanoTime();
        migrationsStarted++;
        if (arenaBytes <= 0 || streamPageSize <= 0 || arenaBytes % streamPageSize != 0) {
            failCheck("a migration of an arena of " + arenaBytes + " bytes in pages of " + streamPageSize);
            return;
        }
        TrackedArena opened;
        try {
            opened = TrackedArena.builder().size(arenaBytes).backend(backend).open();
        } catch (RuntimeException ex) {
            failCheck("could not open an arena of " + arenaBytes + " bytes on " + backend.id() + ": " + ex.getMessage());
            return;
        }
        if (opened.pageSize() != streamPageSize) {
            opened.close();
            failCheck("the source's pages are " + streamPageSize + " bytes, this machine's " + opened.pageSize());
            return;
        }
        // Armed now, not at the switch: arming is O(arena) and would count in the downtime. The rounds'
        // writes are tracked too, so the first collect after the takeover reports every page the migration wrote.
        opened.arm();
        arena = opened;
        memory = opened.segment();
        pageSize = streamPageSize;
        pageCount = arenaBytes / streamPageSize;
        digests = Records.PageDigests.zero(pageCount, pageSize);
        state = State.RECEIVING;
        appliedRound = Records.NO_EPOCH;
        round = 0;
        roundRecords = 0;
        roundDigest = Records.RECORDS_DIGEST_SEED;
        signal(Records.HEARTBEAT, Records.NO_EPOCH, 0);
    }

    private void startRound(DirectBuffer b, int at, long e) {
        long base = b.getLong(at + Records.BASE_AT, Records.ORDER);
        if (state != State.RECEIVING || round != Records.NO_EPOCH || e != appliedRound + 1 || base != appliedRound) {
            failCheck("round " + e + " (on round " + base + ") started after round " + appliedRound + (round != Records.NO_EPOCH ? " while round " + round + " was arriving" : ""));
            return;
        }
        round = e;
        roundRecords = 0;
        roundDigest = Records.RECORDS_DIGEST_SEED;
    }

    private void page(DirectBuffer b, int at, int length, long e) {
        if (round == Records.NO_EPOCH || e != round) {
            failCheck("a page record of round " + e + " outside it (round " + round + " arriving)");
            return;
        }
        long page = b.getLong(at + Records.PAGE_INDEX_AT, Records.ORDER);
        if (length != Records.pageRecordBytes(pageSize) || page < 0 || page >= pageCount) {
            failCheck("a page record of " + length + " bytes for page " + page + " of " + pageCount);
            return;
        }
        int contentsAt = at + Records.CONTENTS_AT;
        int crc = views.crc(b, contentsAt, (int) pageSize);
        if (b.getLong(at + Records.CHECK_AT, Records.ORDER) != Records.check(identity, e, page, crc)) {
            failCheck("page " + page + " of round " + e + " fails its check (corrupted, or sent for another round, page or migration)");
            return;
        }
        MemorySegment.copy(views.segment(b), contentsAt, memory, page * pageSize, pageSize);
        digests.set(page, crc);
        roundRecords++;
        roundDigest = Records.foldRecord(roundDigest, page, crc);
    }

    private void endRound(DirectBuffer b, int at, int length, long e) {
        if (round == Records.NO_EPOCH || e != round || length < Records.EPOCH_END_BYTES) {
            failCheck("an end of round " + e + " while round " + round + " was arriving");
            return;
        }
        long records = b.getLong(at + Records.RECORDS_AT, Records.ORDER);
        long digest = b.getLong(at + Records.RECORDS_DIGEST_AT, Records.ORDER);
        long stateDigest = b.getLong(at + Records.STATE_DIGEST_AT, Records.ORDER);
        if (records != roundRecords || digest != roundDigest) {
            failCheck("round " + e + "'s end says " + records + " page records, " + roundRecords + " arrived" + (records == roundRecords ? " with another digest" : ""));
            return;
        }
        if (stateDigest != digests.state()) {
            failCheck(String.format("after round %d the arena's digest is %x, the source's %x", e, digests.state(), stateDigest));
            return;
        }
        appliedRound = e;
        round = Records.NO_EPOCH;
        signal(Records.ACK, e, WallClock.nanos());
    }

    private void prepare(DirectBuffer b, int at, long e) {
        long theirs = b.getLong(at + Records.SIGNAL_ARGUMENT_AT, Records.ORDER);
        if (state != State.RECEIVING || e != appliedRound || round != Records.NO_EPOCH || theirs != digests.state()) {
            failCheck(String.format("PREPARE of round %d with digest %x; this destination applied round %d, digest %x", e, theirs, appliedRound, digests.state()));
            return;
        }
        state = State.PREPARED;
        signal(Records.READY, e, digests.state());
    }

    private void commit(long e) {
        if (state == State.SERVING) {
            signal(Records.SERVING, e, servingSince);   // a repeated COMMIT: the same answer
            return;
        }
        if (state != State.PREPARED || e != appliedRound) {
            failCheck("COMMIT of round " + e + " before READY (state " + state + ", round " + appliedRound + ")");
            return;
        }
        // The switch: from here on this side serves, and never discards (docs/migration.md).
        state = State.SERVING;
        servingSince = WallClock.nanos();
        takeover = new Takeover(arena, identity, appliedRound + 1, digests.state(), servingSince);
        signal(Records.SERVING, e, servingSince);
    }

    /** A check failed: REFUSED with the reason, and the migration discarded. */
    private void failCheck(String reason) {
        if (identity != 0) refuse(identity, Math.max(appliedRound, round), reason);
        discard(reason);
    }

    private void discard(String reason) {
        discard(reason, System.Logger.Level.WARNING);
    }

    /** Drops the migration in progress (never one that serves) and says hello for the next one. */
    private void discard(String reason, System.Logger.Level level) {
        if (state == State.SERVING) return;
        if (identity != 0) {
            migrationsDiscarded++;
            discardedIdentity = identity;
            discardReason = reason;
            lastDiscard = reason;
            LOG.log(level, "migration " + Long.toHexString(identity) + " discarded: " + reason);
        }
        if (arena != null) {
            arena.close();
            arena = null;
            memory = null;
        }
        identity = 0;
        state = State.IDLE;
        round = Records.NO_EPOCH;
        appliedRound = Records.NO_EPOCH;
        newHello();
    }

    // ---- the public side ----

    /**
     * Waits until a migration has switched to this destination: the arena is then this side's, armed
     * and tracking its writes, and the caller owns it. Empty if none did within {@code timeout}.
     *
     * @throws PagemarkException if the destination stopped on an error
     */
    public Optional<Takeover> awaitTakeover(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (takeover == null) {
            Throwable t = failure;
            if (t != null) throw new PagemarkException("the migration destination stopped: " + t, t);
            if (Thread.interrupted()) throw new InterruptedException();
            if (System.nanoTime() > deadline) return Optional.empty();
            LockSupport.parkNanos(100_000);
        }
        synchronized (this) {
            handedOver = true;
        }
        return Optional.of(takeover);
    }

    /** Why the last migration was discarded, if one was. */
    public Optional<String> lastDiscard() {
        return Optional.ofNullable(lastDiscard);
    }

    /** Migrations begun here, and those discarded. */
    public record Stats(long started, long discarded, boolean serving) {}

    public Stats stats() {
        return new Stats(migrationsStarted, migrationsDiscarded, takeover != null);
    }

    /**
     * Stops listening. An arena taken over stays the caller's; one received but not switched to is
     * freed; a switch that completed but was never collected with {@link #awaitTakeover} is freed too.
     */
    @Override
    public synchronized void close() {
        if (!running && !thread.isAlive()) return;
        running = false;
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            subscription.close();
            control.close();
        } finally {
            if (arena != null && !handedOver) arena.close();
            arena = null;
        }
    }

    /**
     * Configures and starts a {@link MigrationDestination}.
     *
     * <pre>{@code
     * MigrationDestination d = MigrationDestination.builder().transport(transport).channel("aeron:ipc").streamId(1201).start();
     * }</pre>
     */
    public static final class Builder {
        private AeronTransport transport;
        private String channel = "aeron:ipc";
        private String controlChannel = "aeron:ipc";
        private int streamId = 1201;
        private Backend backend = Backend.AUTO;
        private Duration peerTimeout = Duration.ofSeconds(3);

        private Builder() {}

        /** The Aeron transport (required). */
        public Builder transport(AeronTransport transport) {
            this.transport = Objects.requireNonNull(transport, "transport");
            return this;
        }

        /** The channel the source's pages arrive on (default {@code aeron:ipc}). */
        public Builder channel(String uri) {
            this.channel = Replicator.checkChannel(uri, "channel");
            return this;
        }

        /** The channel to the source (default {@code aeron:ipc}). */
        public Builder controlChannel(String uri) {
            this.controlChannel = Replicator.checkChannel(uri, "controlChannel");
            return this;
        }

        /** The migration's stream id (default 1201). */
        public Builder streamId(int id) {
            this.streamId = Replicator.checkStreamId(id);
            return this;
        }

        /** The backend of the arena taken over (default auto). */
        public Builder backend(Backend backend) {
            this.backend = Objects.requireNonNull(backend, "backend");
            return this;
        }

        /** How long the source may be silent before the switch until the migration is discarded (default 3 s: over UDP a lost frame holds back the heartbeats behind it until it is retransmitted). */
        public Builder peerTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("peerTimeout must be positive, got " + timeout);
            this.peerTimeout = timeout;
            return this;
        }

        /** Starts listening: says hello until a source begins a migration. */
        public MigrationDestination start() {
            if (transport == null) throw new IllegalStateException("transport(...) is required: AeronTransport.embedded() or .external(dir)");
            return new MigrationDestination(this);
        }
    }
}
