package io.pagemark.replication;

import io.aeron.ChannelUri;
import io.aeron.CommonContext;
import io.aeron.ExclusivePublication;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.FragmentHandler;
import io.pagemark.PagemarkException;
import io.pagemark.TrackedArena;
import io.pagemark.WriterPause;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

/**
 * The primary side of replication: streams a {@link TrackedArena}'s consistent cuts, one epoch each,
 * to a {@link Replica} over Aeron.
 *
 * <pre>{@code
 * WriterGate gate = new WriterGate();                       // the writers enter it around each batch of writes
 * try (AeronTransport transport = AeronTransport.embedded();
 *      Replicator replicator = Replicator.builder()
 *              .arena(arena).writerPause(gate)
 *              .transport(transport)
 *              .channel("aeron:udp?endpoint=127.0.0.1:40456")          // to the replica
 *              .controlChannel("aeron:udp?endpoint=127.0.0.1:40457")   // from the replica
 *              .streamId(1001)
 *              .epochInterval(Duration.ofMillis(10))
 *              .start()) {
 *     ... writers run ...
 *     long epoch = replicator.sync(Duration.ofSeconds(1));   // a cut now, applied by the replica on return
 * }
 * }</pre>
 *
 * <p><b>Epochs.</b> Every {@code epochInterval} the replicator takes a cut (the pages written since
 * the previous one, as they were at the cut) and publishes it: an epoch start, one record per page
 * (index, contents, a check binding them to the stream and the epoch), an epoch end (how many page
 * records, a digest of them, a digest of the whole arena at the cut). A replica applies an epoch
 * only once it holds all of it. The cut ({@code io.pagemark.cut}) stops the writers through the
 * {@link WriterPause} for as long as it takes to re-protect the pages written since the previous cut
 * (uffd-sync, uffd-sigbus, mprotect: they are copied before write, and read while the writers run) or
 * to copy them (the other backends).
 *
 * <p><b>Joining and catching up.</b> A replica that starts, restarts or fell out of the stream asks
 * to join, saying which epoch it holds. If that epoch is one this replicator published (its digest
 * matches), the answer is a catch-up epoch: the pages written since that epoch, read while the
 * writers run, then the next cut; otherwise a full epoch, every page of the arena the same way. Both
 * are consistent as at their cut, and neither stops the writers longer than an ordinary cut does.
 *
 * <p><b>A slow replica.</b> Writers never wait for the replica. When Aeron back-pressures the
 * publication, the next cut simply waits until the epoch in flight is sent, and the pages written
 * meanwhile merge into it: pending epochs coalesce, and the primary holds at most one epoch's pages
 * (never more than the arena) whatever the lag. A replica that acknowledges nothing for
 * {@code maxLag} is dropped: the publication is closed and reopened, and the replica, seeing its
 * stream end, joins again and catches up. {@link #sync} is the synchronous mode: the calling thread
 * waits, at most its timeout, until the replica has applied a cut taken after the call.
 *
 * <p>The replicator owns the arena's {@link TrackedArena#collect() collects} (it arms the arena if
 * it is not armed); one replica per replicator.
 */
public final class Replicator implements AutoCloseable {
    /** Digests of this many recent epochs are kept: a replica holding one of them catches up without a full copy. */
    private static final int DIGEST_HISTORY = 4096;

    private final EpochSource source;
    private final AeronTransport transport;
    private final String channel;
    private final int streamId;
    private final long intervalNanos;
    private final long maxLagNanos;
    private final long identity;
    private final long pageSize;
    private final long pageCount;
    private final Subscription control;
    private final FragmentHandler controlHandler = this::onControl;
    /** Between cuts with nothing to do: parks growing to 0.5 ms (a sync() wakes the thread at once). */
    private final IdleStrategy idle = new BackoffIdleStrategy(10, 20, 1_000, 500_000);
    /** While an epoch sent is not yet acknowledged: parks of at most 50 us, since only this thread reads the ack a {@link #sync} caller waits for. */
    private final IdleStrategy awaitingAck = new BackoffIdleStrategy(10, 20, 1_000, 50_000);
    private final Thread thread;
    private final ObjectName mbeanName;
    private final java.util.function.Consumer<Published> published;

    private ExclusivePublication publication;
    private final RecordPublisher out;

    // ---- replicator thread state ----
    private final long[] lastWritten;          // per page: the last epoch whose cut held it
    private final Records.PageDigests digests; // the arena as the replica holds it after the last epoch sent
    private final long[] historyEpoch = new long[DIGEST_HISTORY];
    private final long[] historyDigest = new long[DIGEST_HISTORY];
    private volatile long epoch;               // the last epoch number used (the one in flight while sending)
    private boolean following;                 // a replica joined and takes the ordinary epochs
    private Join pendingJoin;
    private long answeredJoin;
    private long lastProgressNanos;
    private long recordsDigest;
    private long pageRecords;
    private long epochBackPressured;
    private long requestsBeforeCut;

    // ---- shared with other threads ----
    private volatile boolean running = true;
    /** Synchronous requests so far ({@link #sync}); the thread reads it before each cut. */
    private final java.util.concurrent.atomic.AtomicLong syncRequests = new java.util.concurrent.atomic.AtomicLong();
    /** The last epoch published, and the sync requests made before its cut was taken. */
    private volatile CutMark lastCut = new CutMark(0, Records.NO_EPOCH);
    private volatile Throwable failure;
    private volatile long ackedEpoch = Records.NO_EPOCH;
    /**
     * Threads in {@link #sync}, unparked when an ack advances {@link #ackedEpoch} and when this
     * thread stops. A caller joins before it first reads ackedEpoch and this thread writes ackedEpoch
     * before it reads the set (both sides' accesses are sequentially consistent: volatile, and the
     * set's CAS and volatile reads), so either the caller sees the new ack or it is in the set when
     * the unpark goes out, whose permit then keeps its next park from sleeping: no wake-up is lost.
     * Waking on the ack, not polling, keeps a waiting caller off the two CPUs the replicator and
     * the replica stream on.
     */
    private final java.util.Set<Thread> syncWaiters = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile long publishedEpoch = Records.NO_EPOCH;
    private volatile long epochsPublished, pagesPublished, bytesPublished, fullEpochs, catchUpEpochs, backPressured, dropped;

    private record CutMark(long requestsBefore, long epoch) {}

    private record Join(long joinId, long identity, long epoch, long digest) {}

    private Replicator(Builder b, EpochSource source) {
        this.source = source;
        this.transport = b.transport;
        this.channel = b.channel;
        this.streamId = b.streamId;
        this.intervalNanos = b.epochInterval.toNanos();
        this.maxLagNanos = b.maxLag.toNanos();
        this.published = b.onPublished;
        this.identity = ThreadLocalRandom.current().nextLong() | 1;
        this.pageSize = source.pageSize();
        this.pageCount = source.pageCount();
        this.lastWritten = new long[Math.toIntExact(pageCount)];
        this.digests = Records.PageDigests.zero(pageCount, pageSize);
        java.util.Arrays.fill(historyEpoch, Records.NO_EPOCH);
        this.out = new RecordPublisher(identity, pageSize, this::handleRefusal);
        this.control = transport.aeron().addSubscription(b.controlChannel, streamId + 1);
        try {
            openPublication();
            this.mbeanName = registerMBean();
        } catch (RuntimeException e) {
            control.close();
            if (publication != null) publication.close();
            throw e;
        }
        this.thread = Thread.ofPlatform().daemon().name("pagemark-replicator-" + streamId).unstarted(this::run);
        thread.start();
    }

    /** Starts a builder. */
    public static Builder builder() {
        return new Builder();
    }

    private void openPublication() {
        publication = transport.aeron().addExclusivePublication(channel, streamId);
        out.publication(publication);
    }

    // ---- the replicator thread ----

    private void run() {
        long nextCut = System.nanoTime() + intervalNanos;
        lastProgressNanos = System.nanoTime();
        try {
            while (running) {
                int work = control.poll(controlHandler, 16);
                long now = System.nanoTime();
                try {
                    if (pendingJoin != null && publication.isConnected()) {
                        Join join = pendingJoin;
                        pendingJoin = null;
                        answeredJoin = join.joinId;
                        catchUp(join);
                        nextCut = System.nanoTime() + intervalNanos;
                        work++;
                    } else if (following && (now >= nextCut || syncRequests.get() > lastCut.requestsBefore())) {
                        try (EpochSource.Cut cut = takeCut()) {
                            publishEpoch(epoch, 0, false, cut, null);
                        }
                        nextCut = now + intervalNanos;
                        work++;
                    }
                } catch (Disconnected d) {
                    following = false;
                }
                if (following && ackedEpoch < epoch && now - lastProgressNanos > maxLagNanos) dropReplica();
                if (following && ackedEpoch < publishedEpoch) awaitingAck.idle(work);
                else idle.idle(work);
            }
        } catch (Throwable t) {
            failure = t;
        } finally {
            wakeSyncWaiters();   // closed or failed: a waiting sync() says so now, not at its timeout
        }
    }

    private void wakeSyncWaiters() {
        for (Thread t : syncWaiters) LockSupport.unpark(t);
    }

    private void catchUp(Join join) {
        boolean delta = join.identity == identity && join.epoch >= 0 && join.epoch <= publishedEpoch
                && historyEpoch[(int) (join.epoch % DIGEST_HISTORY)] == join.epoch
                && historyDigest[(int) (join.epoch % DIGEST_HISTORY)] == join.digest;
        long base = delta ? join.epoch : Records.NO_EPOCH;
        long[] live = delta ? writtenSince(join.epoch) : null;
        following = true;
        lastProgressNanos = System.nanoTime();   // a joining replica gets maxLag to take its catch-up
        publishEpoch(base, join.joinId, !delta, null, live);
        if (delta) catchUpEpochs++;
        else fullEpochs++;
    }

    /** The pages whose last cut came after epoch {@code since}. */
    private long[] writtenSince(long since) {
        int n = 0;
        for (long w : lastWritten) if (w > since) n++;
        long[] pages = new long[n];
        for (int p = 0, i = 0; p < lastWritten.length; p++) if (lastWritten[p] > since) pages[i++] = p;
        return pages;
    }

    /**
     * Publishes epoch {@code epoch + 1}, to be applied on {@code base} (NO_EPOCH: on anything): its
     * start, the live pages ({@code full}: every page; else {@code livePages}, may be null), then the
     * cut's pages ({@code given}, or one taken after the live pages when null), then its end.
     */
    private void publishEpoch(long base, long joinId, boolean full, EpochSource.Cut given, long[] livePages) {
        long e = epoch + 1;
        long bytesBefore = bytesPublished;
        // The lag clock starts when the replica, caught up so far, has an epoch to take.
        if (ackedEpoch >= e - 1) lastProgressNanos = System.nanoTime();
        epoch = e;
        recordsDigest = Records.RECORDS_DIGEST_SEED;
        pageRecords = 0;
        epochBackPressured = 0;
        EpochSource.Cut cut = given;
        try {
            if (cut != null) markWritten(cut, e);
            out.epochStart(e, base, joinId, pageCount * pageSize);
            bytesPublished += Records.EPOCH_START_BYTES;
            RecordPublisher.PageSource live = out.pagesOf(source.live());
            if (full) {
                for (long p = 0; p < pageCount; p++) offerPage(e, p, live);
            } else if (livePages != null) {
                for (long p : livePages) offerPage(e, p, live);
            }
            if (cut == null) {
                cut = takeCut();
                markWritten(cut, e);
            }
            for (int i = 0; i < cut.pageCount(); i++) offerPage(e, cut.page(i), cut);
            published.accept(new Published(identity, e, base, pageRecords, digests.state(), cut.wallNanos()));
            out.epochEnd(e, pageRecords, recordsDigest, digests.state(), cut.wallNanos());
            bytesPublished += Records.EPOCH_END_BYTES;
        } finally {
            if (cut != null && cut != given) cut.close();
        }
        lastCut = new CutMark(requestsBeforeCut, e);
        historyEpoch[(int) (e % DIGEST_HISTORY)] = e;
        historyDigest[(int) (e % DIGEST_HISTORY)] = digests.state();
        publishedEpoch = e;
        epochsPublished++;
        pagesPublished += pageRecords;
        ReplicationEvents.EpochPublished event = new ReplicationEvents.EpochPublished();
        if (event.shouldCommit()) {
            event.identity = identity;
            event.epoch = e;
            event.baseEpoch = base;
            event.pages = pageRecords;
            event.bytes = bytesPublished - bytesBefore;
            event.backPressured = epochBackPressured;
            event.commit();
        }
    }

    /** A cut, noting the sync requests made before it: those are covered by the epoch that carries it. */
    private EpochSource.Cut takeCut() {
        requestsBeforeCut = syncRequests.get();
        return source.cut();
    }

    private void markWritten(EpochSource.Cut cut, long e) {
        for (int i = 0; i < cut.pageCount(); i++) lastWritten[(int) cut.page(i)] = e;
    }

    /** One page record (its check is over the bytes sent: a live page may change under the copy; a later cut carries it again). */
    private void offerPage(long e, long page, RecordPublisher.PageSource contents) {
        recorded(page, out.page(e, page, contents), Records.pageRecordBytes(pageSize));
    }

    private void recorded(long page, int crc, int length) {
        recordsDigest = Records.foldRecord(recordsDigest, page, crc);
        pageRecords++;
        digests.set(page, crc);
        bytesPublished += length;
    }

    /**
     * What to do when Aeron refuses an offer or a claim: back pressure and admin actions are retried
     * after the publisher's back-off (the writers keep running; their pages merge into the next cut),
     * the control stream read meanwhile; no replica, a closed publication, or one at its maximum
     * position abandon the epoch in flight.
     */
    private void handleRefusal(long result) {
        if (result == Publication.BACK_PRESSURED || result == Publication.ADMIN_ACTION) {
            backPressured++;
            epochBackPressured++;
            if (!running) throw new Disconnected();
            if (ackedEpoch < epoch && System.nanoTime() - lastProgressNanos > maxLagNanos) {
                dropReplica();
                throw new Disconnected();
            }
            control.poll(controlHandler, 16);
            return;
        }
        if (result == Publication.NOT_CONNECTED) throw new Disconnected();
        if (result == Publication.MAX_POSITION_EXCEEDED) {
            // The stream has used all its positions: a new session starts; the replica joins it again.
            publication.close();
            openPublication();
            throw new Disconnected();
        }
        if (result == Publication.CLOSED) {
            if (!running) throw new Disconnected();
            throw new PagemarkException("the Aeron publication on " + channel + " stream " + streamId + " was closed under the replicator");
        }
        throw new PagemarkException("unexpected Aeron offer result " + result);
    }

    /** The replica acknowledged nothing for maxLag: end its stream; it joins again and catches up. */
    private void dropReplica() {
        dropped++;
        following = false;
        publication.close();
        openPublication();
        lastProgressNanos = System.nanoTime();
    }

    private void onControl(DirectBuffer buffer, int offset, int length, io.aeron.logbuffer.Header header) {
        int type = Records.type(buffer, offset, length);
        if (type == Records.JOIN && length >= Records.JOIN_BYTES) {
            long joinId = buffer.getLong(offset + Records.JOIN_JOIN_ID_AT, Records.ORDER);
            if (joinId == answeredJoin) return;   // a repeat of a join already answered (the replica asks until it hears)
            pendingJoin = new Join(joinId, Records.identity(buffer, offset),
                    Records.epoch(buffer, offset), buffer.getLong(offset + Records.JOIN_DIGEST_AT, Records.ORDER));
        } else if (type == Records.ACK && length >= Records.ACK_BYTES && Records.identity(buffer, offset) == identity) {
            long acked = Records.epoch(buffer, offset);
            if (acked > ackedEpoch && acked <= publishedEpoch) {
                ackedEpoch = acked;
                lastProgressNanos = System.nanoTime();
                wakeSyncWaiters();
            }
        }
    }

    /** An epoch abandoned because no replica can take it: it will join again. */
    private static final class Disconnected extends RuntimeException {
        Disconnected() {
            super(null, null, false, false);
        }
    }

    // ---- the public side ----

    /**
     * Synchronous replication: takes a cut now and waits until the replica has applied it. A writer
     * calling this waits at most {@code timeout}; returns the epoch applied.
     *
     * @throws TimeoutException if the replica had not applied it within {@code timeout}
     */
    public long sync(Duration timeout) throws TimeoutException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long request = syncRequests.incrementAndGet();
        LockSupport.unpark(thread);   // its idle strategy may be parked for up to 0.5 ms: the cut starts now
        long target = Long.MAX_VALUE;   // the first epoch whose cut was taken after this call
        Thread caller = Thread.currentThread();
        syncWaiters.add(caller);
        try {
            while (true) {
                CutMark cut = lastCut;
                if (target == Long.MAX_VALUE && cut.requestsBefore() >= request) target = cut.epoch();
                if (ackedEpoch >= target) return ackedEpoch;
                checkRunning();
                if (Thread.interrupted()) throw new InterruptedException();
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new TimeoutException("the replica had applied epoch " + ackedEpoch + ", not yet "
                            + (target == Long.MAX_VALUE ? "a cut taken after the call (none published yet)" : "epoch " + target) + ", after " + timeout);
                }
                LockSupport.parkNanos(this, left);   // until an ack, the replicator's stop, an interrupt or the deadline
            }
        } finally {
            syncWaiters.remove(caller);
        }
    }

    /**
     * An epoch about to be completed: all its page records are out, its end is not, so no replica
     * can have applied it yet when {@link Builder#onPublished} hears of it.
     *
     * @param identity    the stream's identity ({@link #identity()})
     * @param baseEpoch   the epoch it applies on (-1: a full epoch)
     * @param stateDigest the {@link ArenaDigest} of the arena at its cut
     * @param cutWallNanos its cut's instant, nanoseconds since 1970
     */
    public record Published(long identity, long epoch, long baseEpoch, long pageRecords, long stateDigest, long cutWallNanos) {}

    /** The last epoch published (NO_EPOCH, -1, before the first). */
    public long epoch() {
        return publishedEpoch;
    }

    /** The last epoch the replica said it applied. */
    public long ackedEpoch() {
        return ackedEpoch;
    }

    /** This stream's identity: every record carries it. */
    public long identity() {
        return identity;
    }

    /** The counters so far. */
    public Stats stats() {
        return new Stats(epochsPublished, pagesPublished, bytesPublished, fullEpochs, catchUpEpochs, backPressured, dropped,
                ackedEpoch, Math.max(0, epoch - ackedEpoch), source.heldBytes());
    }

    /**
     * A replicator's counters.
     *
     * @param backPressuredOffers offers Aeron refused with BACK_PRESSURED or ADMIN_ACTION (retried)
     * @param replicasDropped     times the replica was dropped for acknowledging nothing within maxLag
     * @param lagEpochs           epochs published or in flight and not yet acknowledged
     * @param heldBytes           memory held for the cut in flight (page copies; at most the arena), besides Aeron's term buffers
     */
    public record Stats(long epochsPublished, long pagesPublished, long bytesPublished, long fullEpochs, long catchUpEpochs,
                        long backPressuredOffers, long replicasDropped, long ackedEpoch, long lagEpochs, long heldBytes) {}

    private void checkRunning() {
        Throwable t = failure;
        if (t != null) throw new PagemarkException("the replicator stopped: " + t, t);
        if (!running) throw new IllegalStateException("the replicator is closed");
    }

    /** Stops publishing (an epoch in flight is abandoned), closes the streams. The arena stays armed and open. */
    @Override
    public void close() {
        if (!running && !thread.isAlive()) return;
        running = false;
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            publication.close();
            control.close();
        } finally {
            source.close();
            unregisterMBean();
        }
    }

    private ObjectName registerMBean() {
        try {
            ObjectName name = new ObjectName("io.pagemark:type=Replicator,stream=" + streamId);
            var server = ManagementFactory.getPlatformMBeanServer();
            if (server.isRegistered(name)) return null;   // another replicator of this stream id in this JVM keeps the name
            server.registerMBean(new Bean(), name);
            return name;
        } catch (javax.management.JMException e) {
            throw new PagemarkException("could not register the replicator's MBean: " + e.getMessage(), e);
        }
    }

    private void unregisterMBean() {
        if (mbeanName == null) return;
        try {
            ManagementFactory.getPlatformMBeanServer().unregisterMBean(mbeanName);
        } catch (javax.management.JMException ignored) {
            // already gone
        }
    }

    private final class Bean implements ReplicatorMXBean {
        @Override public long getEpochsPublished() { return epochsPublished; }
        @Override public long getPagesPublished() { return pagesPublished; }
        @Override public long getBytesPublished() { return bytesPublished; }
        @Override public long getFullEpochs() { return fullEpochs; }
        @Override public long getCatchUpEpochs() { return catchUpEpochs; }
        @Override public long getBackPressuredOffers() { return backPressured; }
        @Override public long getReplicasDropped() { return dropped; }
        @Override public long getAckedEpoch() { return ackedEpoch; }
        @Override public long getLagEpochs() { return Math.max(0, epoch - ackedEpoch); }
    }

    /**
     * Configures and starts a {@link Replicator}.
     *
     * <pre>{@code
     * Replicator r = Replicator.builder().arena(arena).writerPause(gate).transport(transport)
     *         .channel("aeron:ipc").streamId(1001).epochInterval(Duration.ofMillis(10)).start();
     * }</pre>
     */
    public static final class Builder {
        private TrackedArena arena;
        private WriterPause writerPause;
        private EpochSource source;
        private AeronTransport transport;
        private String channel = "aeron:ipc";
        private String controlChannel = "aeron:ipc";
        private int streamId = 1001;
        private Duration epochInterval = Duration.ofMillis(10);
        private Duration maxLag = Duration.ofSeconds(10);
        private java.util.function.Consumer<Published> onPublished = published -> {};

        private Builder() {}

        /**
         * Called on the replicator's thread for every epoch, after its pages are sent and before its
         * end is (so before any replica can apply it): a place to record each epoch's digest. It
         * holds up the stream while it runs.
         */
        public Builder onPublished(java.util.function.Consumer<Published> listener) {
            this.onPublished = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /** The arena to replicate (required). */
        public Builder arena(TrackedArena arena) {
            this.arena = Objects.requireNonNull(arena, "arena");
            return this;
        }

        /** How to stop the arena's writers for the moment of a cut (required: the cut copies the pages written since the previous one meanwhile). */
        public Builder writerPause(WriterPause pause) {
            this.writerPause = Objects.requireNonNull(pause, "pause");
            return this;
        }

        /** Tests: epochs from a synthetic source instead of an arena. */
        Builder source(EpochSource source) {
            this.source = Objects.requireNonNull(source, "source");
            return this;
        }

        /** The Aeron transport (required). */
        public Builder transport(AeronTransport transport) {
            this.transport = Objects.requireNonNull(transport, "transport");
            return this;
        }

        /** The channel the epochs go out on (default {@code aeron:ipc}); any Aeron channel URI. */
        public Builder channel(String uri) {
            this.channel = checkChannel(uri, "channel");
            return this;
        }

        /** The channel the replica's joins and acknowledgements come in on (default {@code aeron:ipc}). */
        public Builder controlChannel(String uri) {
            this.controlChannel = checkChannel(uri, "controlChannel");
            return this;
        }

        /** The epochs' stream id (default 1001); the control stream is the next one. */
        public Builder streamId(int id) {
            this.streamId = checkStreamId(id);
            return this;
        }

        /** How often a cut is taken (default 10 ms; zero: as often as the stream takes them). */
        public Builder epochInterval(Duration interval) {
            if (interval.isNegative()) throw new IllegalArgumentException("epochInterval must not be negative, got " + interval);
            this.epochInterval = interval;
            return this;
        }

        /** How long the replica may acknowledge nothing before it is dropped and must catch up (default 10 s). */
        public Builder maxLag(Duration lag) {
            if (lag.isNegative() || lag.isZero()) throw new IllegalArgumentException("maxLag must be positive, got " + lag);
            this.maxLag = lag;
            return this;
        }

        /**
         * Starts publishing: the replicator's thread cuts and streams epochs from now on, the first
         * once a replica joins.
         *
         * @throws IllegalStateException if the arena, its writer pause or the transport is missing
         */
        public Replicator start() {
            if (transport == null) throw new IllegalStateException("transport(...) is required: AeronTransport.embedded() or .external(dir)");
            EpochSource s = source;
            if (s == null) {
                if (arena == null) throw new IllegalStateException("arena(...) is required");
                if (writerPause == null) {
                    throw new IllegalStateException("writerPause(...) is required: a cut stops the arena's writers while it re-protects or copies"
                            + " the pages written since the previous cut (a WriterGate the writers enter around their writes, or your runtime's pause)");
                }
                s = new ArenaCutSource(arena, writerPause);
            }
            try {
                return new Replicator(this, s);
            } catch (RuntimeException e) {
                s.close();
                throw e;
            }
        }
    }

    static String checkChannel(String uri, String what) {
        Objects.requireNonNull(uri, what);
        try {
            ChannelUri parsed = ChannelUri.parse(uri);
            if (!CommonContext.IPC_MEDIA.equals(parsed.media()) && !CommonContext.UDP_MEDIA.equals(parsed.media())) {
                throw new IllegalArgumentException("media " + parsed.media());
            }
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(what + " '" + uri + "' is not an Aeron channel URI (" + e.getMessage()
                    + "); accepted: aeron:ipc, aeron:udp?endpoint=HOST:PORT, or any aeron:ipc|aeron:udp URI with its parameters", e);
        }
        return uri;
    }

    static int checkStreamId(int id) {
        if (id == Integer.MAX_VALUE) throw new IllegalArgumentException("streamId must leave room for the control stream (id + 1), got " + id);
        return id;
    }
}
