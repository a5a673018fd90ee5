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

import javax.management.ObjectName;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.StampedLock;

/**
 * A hot standby of a {@link Replicator}'s arena: receives its epochs over Aeron and applies each one
 * only once all of it has arrived and checked out, so that its readers always see the arena as it
 * was at one of the primary's cuts, never a partial epoch.
 *
 * <pre>{@code
 * try (AeronTransport transport = AeronTransport.embedded();
 *      Replica replica = Replica.builder().transport(transport)
 *              .channel("aeron:udp?endpoint=127.0.0.1:40456")          // where the primary sends
 *              .controlChannel("aeron:udp?endpoint=127.0.0.1:40457")   // where the primary listens
 *              .streamId(1001).start()) {
 *     replica.awaitEpoch(1, Duration.ofSeconds(10));                 // the first (full) epoch is applied
 *     long v = replica.read((state, epoch) -> state.get(ValueLayout.JAVA_LONG, 4096));
 *     TrackedArena mine = replica.promote();                          // failover: writable, tracking its own writes
 * }
 * }</pre>
 *
 * <p><b>How an epoch is applied.</b> The replica keeps two copies of the arena: the front, which
 * readers see, and the back, which no reader sees. Its page records are verified one by one and
 * written straight from Aeron's term into the back until its end arrives; the end's record count
 * and digests are checked, including the digest of the whole arena the epoch leads to; only then is
 * the back brought level with the front where the previous epoch wrote pages this one does not
 * carry, and the two are swapped, under the write side of a {@link StampedLock}: an apply is a swap,
 * not a copy. Readers ({@link #read}) read optimistically and retry under the read lock if a swap
 * overlapped them, so a reader never waits longer than a swap, and never returns what it read across
 * two epochs. The price is a second copy of the arena's memory. An epoch that fails a check is never applied:
 * the replica keeps its last good epoch, reports the reason ({@link #lastRejection()}), and asks the
 * primary to catch it up from there. The first epoch, applied while nothing is readable yet, goes
 * straight into the state.
 *
 * <p><b>What is rejected:</b> records of another format or stream, records of another session than
 * the one the epoch started on, page records of another epoch, an epoch out of order, a page whose
 * check fails, an epoch cut short (its stream ended, or the next epoch started first), an epoch
 * whose end does not match its records, or whose arena digest does not match the state it would make.
 */
public final class Replica implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Replica.class.getName());
    private static final long JOIN_RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
    private static final int LAG_SAMPLES = 1 << 16;

    private final AeronTransport transport;
    private final int streamId;
    private final Backend backend;
    private final Subscription subscription;
    private final String controlChannel;
    /** To the primary: joins and acks; replaced by the replica thread (a new session) at its maximum position, closed after that thread ended. */
    private ExclusivePublication control;
    /** Reassembles records spanning frames (small MTUs) into an off-heap buffer, so that every record's contents have an address. */
    private final FragmentAssembler assembler = new FragmentAssembler(this::onRecord, 0, true);
    private final IdleStrategy idle = new BackoffIdleStrategy(10, 20, 1_000, 200_000);
    private final UnsafeBuffer out = new UnsafeBuffer(new byte[Records.JOIN_BYTES]);
    private final StampedLock lock = new StampedLock();
    private final Thread thread;
    private final ObjectName mbeanName;

    // ---- the replica thread's state ----
    private TrackedArena arena;                // the front: what readers see (the last applied epoch)
    private TrackedArena back;                 // the back: the epoch being received is written here
    /** The front's memory, swapped under the write lock; readers read it after taking a stamp. */
    private volatile MemorySegment state;
    private MemorySegment backState;
    /** Pages where the back differs from the front (the last applied epoch's), {@code behindCount} of them. */
    private long[] behind = new long[0];
    private int behindCount;
    private long pageSize;
    private long pageCount;
    private Records.PageDigests digests;
    private final BufferViews views = new BufferViews();   // the records' buffers, read on this object's thread only
    private long identity;                     // the stream the state came from (0: none yet)
    private long joinId;                       // the join being asked (0: none)
    private long lastJoinNanos;
    // the epoch being received
    private long stagingEpoch = Records.NO_EPOCH;
    private boolean stagingDirect;             // a full epoch on an empty replica: straight into the state
    private int stagingSession;
    private long stagingIdentity;
    private long stagingRecords;
    private long stagingDigest;
    private int[] slotOfPage;
    private long[] pageOfSlot = new long[0];
    private int[] crcOfSlot = new int[0];
    private int slots;
    private long lastLoggedNanos = Long.MIN_VALUE / 2;
    private long unlogged;
    /** Streams that started (a primary, or a new session of one), counted by the client conductor's thread. */
    private final java.util.concurrent.atomic.AtomicLong newSessions = new java.util.concurrent.atomic.AtomicLong();
    private long newSessionsSeen;
    /** Sessions whose stream ended, handed over by the client conductor's thread. */
    private final java.util.concurrent.ConcurrentLinkedQueue<Integer> endedSessions = new java.util.concurrent.ConcurrentLinkedQueue<>();

    // ---- shared ----
    private volatile long epoch = Records.NO_EPOCH;
    private volatile long appliedIdentity;
    private volatile long newestSeen = Records.NO_EPOCH;
    private volatile long lastCutNanos;
    private volatile long lastLagNanos;
    private volatile boolean running = true;
    private volatile boolean promoted;
    private boolean closed;
    private volatile Throwable failure;
    private volatile String lastRejection;
    private volatile long epochsApplied, pagesApplied, epochsRejected, stagedBytes;
    /** Tests: while true the replica reads nothing (a stalled standby). */
    volatile boolean stalled;
    /** Tests: run on the replica thread once an epoch with pages is complete in the back, just before the swap (no lock held). */
    volatile Runnable midApply;
    private final long[] lagSamples = new long[LAG_SAMPLES];
    private long lagCount;                     // guarded by lagSamples

    private Replica(Builder b) {
        this.transport = b.transport;
        this.streamId = b.streamId;
        this.backend = b.backend;
        this.controlChannel = b.controlChannel;
        this.subscription = transport.aeron().addSubscription(b.channel, streamId, image -> newSessions.incrementAndGet(), this::onImageLost);
        try {
            this.control = transport.aeron().addExclusivePublication(b.controlChannel, streamId + 1);
        } catch (RuntimeException e) {
            subscription.close();
            throw e;
        }
        this.mbeanName = registerMBean();
        this.thread = Thread.ofPlatform().daemon().name("pagemark-replica-" + streamId).unstarted(this::run);
        thread.start();
    }

    /** Starts a builder. */
    public static Builder builder() {
        return new Builder();
    }

    // ---- the replica thread ----

    private void run() {
        try {
            newJoin();
            while (running) {
                if (stalled) {
                    LockSupport.parkNanos(1_000_000);
                    continue;
                }
                int work = subscription.poll(assembler, 64);
                // A new stream on the channel (a restarted primary, one that dropped this replica): ask it at once,
                // rather than after the old stream's image times out.
                long sessions = newSessions.get();
                if (sessions != newSessionsSeen) {
                    newSessionsSeen = sessions;
                    if (joinId == 0) newJoin();
                    else sendJoin();
                }
                Integer ended;
                while ((ended = endedSessions.poll()) != null) {
                    if (stagingEpoch != Records.NO_EPOCH && ended == stagingSession) {
                        reject(stagingEpoch, "truncated: its stream ended (the primary died, or dropped this replica for lag) before the epoch's end");
                    } else if (joinId == 0) {
                        newJoin();
                    }
                }
                // Unanswered (the control stream was not connected yet): ask again; not while the answer arrives.
                if (joinId != 0 && stagingEpoch == Records.NO_EPOCH && System.nanoTime() - lastJoinNanos > JOIN_RETRY_NANOS) sendJoin();
                idle.idle(work);
            }
        } catch (Throwable t) {
            failure = t;
            LOG.log(System.Logger.Level.ERROR, "the replica stopped", t);
        }
    }

    /** Runs on the client conductor's thread: hands the ended session to the replica thread. */
    private void onImageLost(Image image) {
        endedSessions.add(image.sessionId());
    }

    private void newJoin() {
        joinId = ThreadLocalRandom.current().nextLong() | 1;
        sendJoin();
    }

    private void sendJoin() {
        lastJoinNanos = System.nanoTime();
        Records.putHeader(out, 0, Records.JOIN, identity, epoch);
        out.putLong(Records.JOIN_DIGEST_AT, digests == null ? 0 : digests.state(), Records.ORDER);
        out.putLong(Records.JOIN_JOIN_ID_AT, joinId, Records.ORDER);
        offerControl(Records.JOIN_BYTES, 1);   // refused (not connected yet, back pressure): the retry sends it again
    }

    private void sendAck(long applied) {
        Records.putHeader(out, 0, Records.ACK, identity, applied);
        out.putLong(Records.ACK_TIME_AT, WallClock.nanos(), Records.ORDER);
        offerControl(Records.ACK_BYTES, 1000);   // a later ack supersedes a lost one
    }

    /**
     * Offers the control record in {@code out}, retrying back pressure and admin actions up to
     * {@code tries} times (a record lost is sent again: a join by its retry, an ack by the next one).
     * Not connected: the primary is not there yet or is gone, dropped. At its maximum position the
     * publication is replaced by a new session. Closed: only when the replica closes it.
     */
    private void offerControl(int length, int tries) {
        for (int i = 0; i < tries; i++) {
            long r = control.offer(out, 0, length);
            if (r >= 0 || r == Publication.NOT_CONNECTED || r == Publication.CLOSED) return;
            if (r == Publication.MAX_POSITION_EXCEEDED) {
                control.close();
                control = transport.aeron().addExclusivePublication(controlChannel, streamId + 1);
                return;
            }
            if (r != Publication.BACK_PRESSURED && r != Publication.ADMIN_ACTION) throw new PagemarkException("unexpected Aeron offer result " + r);
            Thread.onSpinWait();
        }
    }

    private void onRecord(DirectBuffer buffer, int offset, int length, Header header) {
        int type = Records.type(buffer, offset, length);
        int session = header.sessionId();
        if (type < 0) {
            rejectRecord("from session " + session + ": " + Records.describeForeign(buffer, offset, length));
            return;
        }
        long recordEpoch = Records.epoch(buffer, offset);
        long recordIdentity = Records.identity(buffer, offset);
        switch (type) {
            case Records.EPOCH_START -> onEpochStart(buffer, offset, length, session, recordIdentity, recordEpoch);
            case Records.PAGE, Records.EPOCH_END -> {
                if (stagingEpoch == Records.NO_EPOCH) return;   // an epoch this replica does not take (or one already rejected)
                if (session != stagingSession) {
                    rejectRecord("a record from session " + session + " while epoch " + stagingEpoch + " arrives on session " + stagingSession);
                    return;
                }
                if (recordIdentity != stagingIdentity || recordEpoch != stagingEpoch) {
                    reject(stagingEpoch, String.format("a record of stream %x epoch %d inside epoch %d of stream %x (wrong epoch order or another stream)",
                            recordIdentity, recordEpoch, stagingEpoch, stagingIdentity));
                    return;
                }
                if (type == Records.PAGE) onPage(buffer, offset, length);
                else onEpochEnd(buffer, offset, length);
            }
            default -> rejectRecord("a record of type " + type + " on the epoch stream (from session " + session + ")");
        }
    }

    private void onEpochStart(DirectBuffer b, int at, int length, int session, long recordIdentity, long e) {
        if (length < Records.EPOCH_START_BYTES) {
            rejectRecord("an epoch start of " + length + " bytes (expected " + Records.EPOCH_START_BYTES + ")");
            return;
        }
        long base = b.getLong(at + Records.BASE_AT, Records.ORDER);
        long answersJoin = b.getLong(at + Records.JOIN_ID_AT, Records.ORDER);
        if (stagingEpoch != Records.NO_EPOCH) {
            if (session != stagingSession) {
                if (joinId == 0 || answersJoin != joinId) {
                    rejectRecord("an epoch start from session " + session + " while epoch " + stagingEpoch + " arrives on session " + stagingSession);
                    return;
                }
                // The answer to this replica's join, from a new stream (its primary restarted, or dropped it): the old one is over.
                abandon(stagingEpoch, "truncated: a new stream (session " + session + ") answered this replica's join before the epoch ended");
            } else {
                abandon(stagingEpoch, "truncated: epoch " + e + " started before epoch " + stagingEpoch + " ended");
            }
        }
        long arenaBytes = b.getLong(at + Records.ARENA_BYTES_AT, Records.ORDER);
        long streamPageSize = b.getInt(at + Records.PAGE_SIZE_AT, Records.ORDER) & 0xffffffffL;
        if (recordIdentity == identity) newestSeen = Math.max(newestSeen, e);
        boolean forUs = joinId != 0 ? answersJoin == joinId : recordIdentity == identity && base == epoch && answersJoin == 0;
        if (!forUs) {
            // Behind the stream it follows (a rejected or missed epoch): ask to be caught up.
            if (joinId == 0 && recordIdentity == identity && base > epoch) newJoin();
            if (joinId == 0 && recordIdentity == identity && e <= epoch) {
                rejectRecord("epoch " + e + " of stream " + Long.toHexString(recordIdentity) + " after epoch " + epoch + " was applied (wrong epoch order)");
            }
            return;
        }
        if (base != Records.NO_EPOCH && (recordIdentity != identity || base != epoch)) {
            rejectRecord("a catch-up epoch on epoch " + base + " of stream " + Long.toHexString(recordIdentity) + ", but this replica holds epoch "
                    + epoch + " of stream " + Long.toHexString(identity));
            return;
        }
        if (!geometryFits(arenaBytes, streamPageSize)) return;
        stagingEpoch = e;
        stagingIdentity = recordIdentity;
        stagingSession = session;
        stagingRecords = 0;
        stagingDigest = Records.RECORDS_DIGEST_SEED;
        stagingDirect = epoch == Records.NO_EPOCH && base == Records.NO_EPOCH;
        slots = 0;
        if (stagingDirect) digests = Records.PageDigests.zero(pageCount, pageSize);
    }

    /** Maps the state on the first epoch; later epochs must have the same geometry. */
    private boolean geometryFits(long arenaBytes, long streamPageSize) {
        if (arena == null) {
            if (arenaBytes <= 0 || streamPageSize <= 0 || arenaBytes % streamPageSize != 0) {
                rejectRecord("an epoch start with arena size " + arenaBytes + " and page size " + streamPageSize);
                return false;
            }
            TrackedArena opened = TrackedArena.builder().size(arenaBytes).backend(backend).open();
            if (opened.pageSize() != streamPageSize) {
                opened.close();
                rejectRecord("the primary's pages are " + streamPageSize + " bytes, this machine's " + opened.pageSize());
                return false;
            }
            TrackedArena second;
            try {
                second = TrackedArena.builder().size(arenaBytes).backend(backend).open();
            } catch (RuntimeException e) {
                opened.close();
                throw e;
            }
            arena = opened;
            state = opened.segment();
            back = second;
            backState = second.segment();
            pageSize = streamPageSize;
            pageCount = arenaBytes / streamPageSize;
            int pages = Math.toIntExact(pageCount);
            slotOfPage = new int[pages];
            Arrays.fill(slotOfPage, -1);
            pageOfSlot = new long[pages];
            crcOfSlot = new int[pages];
            behind = new long[pages];
            return true;
        }
        if (arenaBytes != arena.size() || streamPageSize != pageSize) {
            rejectRecord("an epoch start for an arena of " + arenaBytes + " bytes in pages of " + streamPageSize + "; this replica holds "
                    + arena.size() + " bytes in pages of " + pageSize);
            return false;
        }
        return true;
    }

    private void onPage(DirectBuffer b, int at, int length) {
        long page = b.getLong(at + Records.PAGE_INDEX_AT, Records.ORDER);
        if (length != Records.pageRecordBytes(pageSize)) {
            reject(stagingEpoch, "a page record of " + length + " bytes (expected " + Records.pageRecordBytes(pageSize) + ")");
            return;
        }
        if (page < 0 || page >= pageCount) {
            reject(stagingEpoch, "a record of page " + page + " of an arena of " + pageCount + " pages");
            return;
        }
        int contentsAt = at + Records.CONTENTS_AT;
        int crc = views.crc(b, contentsAt, (int) pageSize);
        if (b.getLong(at + Records.CHECK_AT, Records.ORDER) != Records.check(stagingIdentity, stagingEpoch, page, crc)) {
            reject(stagingEpoch, "page " + page + " fails its check (corrupted, or sent for another epoch, page or stream)");
            return;
        }
        MemorySegment source = views.segment(b);
        if (stagingDirect) {
            MemorySegment.copy(source, contentsAt, state, page * pageSize, pageSize);
            digests.set(page, crc);
        } else {
            int slot = slotOfPage[(int) page];
            if (slot < 0) {
                slot = slots++;
                slotOfPage[(int) page] = slot;
                pageOfSlot[slot] = page;
            }
            crcOfSlot[slot] = crc;
            MemorySegment.copy(source, contentsAt, backState, page * pageSize, pageSize);   // no reader sees the back
        }
        stagingRecords++;
        stagingDigest = Records.foldRecord(stagingDigest, page, crc);
        stagedBytes = stagingRecords * pageSize;
    }

    private void onEpochEnd(DirectBuffer b, int at, int length) {
        long e = stagingEpoch;
        if (length < Records.EPOCH_END_BYTES) {
            reject(e, "an epoch end of " + length + " bytes");
            return;
        }
        long records = b.getLong(at + Records.RECORDS_AT, Records.ORDER);
        long digest = b.getLong(at + Records.RECORDS_DIGEST_AT, Records.ORDER);
        long stateDigest = b.getLong(at + Records.STATE_DIGEST_AT, Records.ORDER);
        long cutNanos = b.getLong(at + Records.CUT_TIME_AT, Records.ORDER);
        if (records != stagingRecords || digest != stagingDigest) {
            reject(e, "its end says " + records + " page records, " + stagingRecords + " arrived" + (records == stagingRecords ? " with another digest" : ""));
            return;
        }
        long newState = digests.state();
        if (!stagingDirect) for (int s = 0; s < slots; s++) newState = digests.stateWith(newState, pageOfSlot[s], crcOfSlot[s]);
        if (newState != stateDigest) {
            reject(e, "the arena it makes would not be the primary's: state digest " + Long.toHexString(newState) + ", the primary's "
                    + Long.toHexString(stateDigest));
            return;
        }
        long heldNanos = 0;   // how long readers were held off: the swap alone
        long applied = stagingDirect ? pageCount : slots;
        boolean sameStream = stagingIdentity == appliedIdentity;
        if (!stagingDirect) {
            // The back holds this epoch's pages; where the previous epoch wrote others, the front has them.
            for (int i = 0; i < behindCount; i++) {
                long p = behind[i];
                if (slotOfPage[(int) p] < 0) MemorySegment.copy(state, p * pageSize, backState, p * pageSize, pageSize);
            }
            if (slots > 0) {
                if (midApply != null) midApply.run();
                long swapStart = System.nanoTime();
                long stamp = lock.writeLock();
                try {
                    TrackedArena was = arena;
                    arena = back;
                    back = was;
                    backState = state;
                    state = arena.segment();
                    publish(e);
                } finally {
                    lock.unlockWrite(stamp);
                }
                heldNanos = System.nanoTime() - swapStart;
            } else {
                publish(e);   // an empty epoch: the state of the previous one is this one's too
            }
            // The new back (the old front) lacks exactly this epoch's pages (none: an empty epoch left the two level, unswapped).
            System.arraycopy(pageOfSlot, 0, behind, 0, slots);
            behindCount = slots;
            for (int s = 0; s < slots; s++) {
                digests.set(pageOfSlot[s], crcOfSlot[s]);
                slotOfPage[(int) pageOfSlot[s]] = -1;
            }
            slots = 0;
        } else {
            // Nothing was readable before: the lock's write side publishes the state to readers all the same.
            long start = System.nanoTime();
            long stamp = lock.writeLock();
            try {
                publish(e);
            } finally {
                lock.unlockWrite(stamp);
            }
            heldNanos = System.nanoTime() - start;
            for (int p = 0; p < pageCount; p++) behind[p] = p;   // the back is still empty
            behindCount = (int) pageCount;
        }
        long now = WallClock.nanos();
        identity = stagingIdentity;
        joinId = 0;
        stagingEpoch = Records.NO_EPOCH;
        stagedBytes = 0;
        lastCutNanos = cutNanos;
        lastLagNanos = now - cutNanos;
        newestSeen = sameStream ? Math.max(newestSeen, e) : e;   // a new stream counts from here
        epochsApplied++;
        pagesApplied += applied;
        synchronized (lagSamples) {
            lagSamples[(int) (lagCount++ % LAG_SAMPLES)] = lastLagNanos;
        }
        sendAck(e);
        ReplicationEvents.EpochApplied event = new ReplicationEvents.EpochApplied();
        if (event.shouldCommit()) {
            event.identity = identity;
            event.epoch = e;
            event.pages = applied;
            event.lagNanos = lastLagNanos;
            event.applyNanos = heldNanos;
            event.commit();
        }
    }

    /**
     * Names the state readers see from now on: epoch {@code e} of the stream being received. Called
     * in the same write-locked section that makes that state the front (or, for an empty epoch, with
     * the front unchanged), so that {@link #read} never pairs one epoch's state with another's number
     * or stream: an optimistic read that saw the old number fails its validate(), a locked one waits.
     */
    private void publish(long e) {
        appliedIdentity = stagingIdentity;
        epoch = e;
    }

    /** The epoch being received is not applied: the state stays at the last good epoch; the primary is asked to catch up from it. */
    private void reject(long e, String reason) {
        abandon(e, reason);
        newJoin();
    }

    /** The epoch being received is not applied; the state stays at the last good epoch. */
    private void abandon(long e, String reason) {
        if (stagingDirect) {
            // The first epoch was going straight into the state: nothing readable was touched, but the digests start over.
            digests = null;
        }
        for (int s = 0; s < slots; s++) {
            long p = pageOfSlot[s];
            slotOfPage[(int) p] = -1;
            // The back took this page of the epoch; it goes back to the front's (a page also behind is copied again at the next apply).
            if (!stagingDirect) MemorySegment.copy(state, p * pageSize, backState, p * pageSize, pageSize);
        }
        slots = 0;
        stagingEpoch = Records.NO_EPOCH;
        stagingDirect = false;
        stagedBytes = 0;
        report(e, "epoch " + e + " rejected: " + reason + "; kept epoch " + epoch);
    }

    /** A record that belongs to no epoch this replica takes: dropped and reported. */
    private void rejectRecord(String what) {
        report(Records.NO_EPOCH, "record rejected: " + what + "; kept epoch " + epoch);
    }

    private void report(long e, String message) {
        epochsRejected++;
        lastRejection = message;
        // One line per second at most: a stream of bad records is one problem, not thousands of lines.
        long now = System.nanoTime();
        if (now - lastLoggedNanos > TimeUnit.SECONDS.toNanos(1)) {
            LOG.log(System.Logger.Level.WARNING, message + (unlogged > 0 ? " (and " + unlogged + " more rejections in the last second)" : ""));
            lastLoggedNanos = now;
            unlogged = 0;
        } else {
            unlogged++;
        }
        ReplicationEvents.EpochRejected event = new ReplicationEvents.EpochRejected();
        if (event.shouldCommit()) {
            event.epoch = e;
            event.reason = message;
            event.commit();
        }
    }

    // ---- the public side ----

    /** Reads the replica's state: {@code state} is the arena as at the primary's cut of {@code epoch}. */
    @FunctionalInterface
    public interface Reader<T> {
        T read(MemorySegment state, long epoch);
    }

    /**
     * Runs {@code reader} on the state of the last applied epoch (read-only). It may be run twice:
     * first optimistically, then again under the read lock if an epoch was applied meanwhile (so it
     * must have no side effects beyond its result). Whatever it returns was read within one epoch.
     *
     * @throws IllegalStateException if no epoch is applied yet, or the replica was promoted or closed
     */
    public <T> T read(Reader<T> reader) {
        Objects.requireNonNull(reader, "reader");
        long e = epoch;
        if (e == Records.NO_EPOCH) throw new IllegalStateException("no epoch applied yet: awaitEpoch(1, timeout) first");
        if (promoted) throw new IllegalStateException("the replica was promoted: read its arena");
        if (!running) throw new IllegalStateException("the replica is closed");
        long stamp = lock.tryOptimisticRead();
        if (stamp != 0) {
            try {
                // Read after the stamp: a swap after it fails validate() (the old front becomes the back, which the next epoch writes).
                MemorySegment view = state.asReadOnly();
                long at = epoch;
                T result = reader.read(view, at);
                if (lock.validate(stamp)) return result;
            } catch (RuntimeException torn) {
                // Read across an apply (an index from one epoch, data from the next): only a valid stamp makes it real.
                if (lock.validate(stamp)) throw torn;
            }
        }
        stamp = lock.readLock();
        try {
            return reader.read(state.asReadOnly(), epoch);
        } finally {
            lock.unlockRead(stamp);
        }
    }

    /** The identity of the stream ({@link Replicator#identity()}) the applied state came from; 0 before the first epoch. */
    public long streamIdentity() {
        return appliedIdentity;
    }

    /** The last applied epoch, or -1 before the first. */
    public long epoch() {
        return epoch;
    }

    /**
     * Waits until epoch {@code target} (or a later one) is applied; true if it was within {@code timeout}.
     *
     * @throws PagemarkException if the replica stopped on an error meanwhile
     */
    public boolean awaitEpoch(long target, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (epoch < target) {
            Throwable t = failure;
            if (t != null) throw new PagemarkException("the replica stopped: " + t, t);
            if (Thread.interrupted()) throw new InterruptedException();
            if (System.nanoTime() > deadline) return false;
            LockSupport.parkNanos(100_000);
        }
        return true;
    }

    /**
     * How far behind the primary this replica is.
     *
     * @param epochs      epochs the primary has started that are not applied here
     * @param bytes       page bytes received of the epoch not yet applied
     * @param lastMillis  the last applied epoch: from its cut on the primary to its apply here
     * @param stateMillis how old the state readers see is: from its cut to now
     */
    public record Lag(long epochs, long bytes, double lastMillis, double stateMillis) {}

    public Lag lag() {
        long e = epoch;
        return new Lag(Math.max(0, newestSeen - e), stagedBytes, lastLagNanos / 1e6,
                e == Records.NO_EPOCH ? 0 : (WallClock.nanos() - lastCutNanos) / 1e6);
    }

    /** The cut-to-apply lag of the recent epochs (up to 65536) at quantile {@code q} (0..1), in milliseconds. */
    public double lagPercentile(double q) {
        long[] copy;
        synchronized (lagSamples) {
            copy = Arrays.copyOf(lagSamples, (int) Math.min(lagCount, LAG_SAMPLES));
        }
        if (copy.length == 0) return 0;
        Arrays.sort(copy);
        return copy[(int) Math.min(copy.length - 1, Math.round(q * (copy.length - 1)))] / 1e6;
    }

    /** Why the last record or epoch was rejected, if any was. */
    public Optional<String> lastRejection() {
        return Optional.ofNullable(lastRejection);
    }

    /** Counters so far. */
    public Stats stats() {
        return new Stats(epoch, epochsApplied, pagesApplied, epochsRejected);
    }

    /** A replica's counters; {@code rejected} counts rejected epochs and records. */
    public record Stats(long epoch, long epochsApplied, long pagesApplied, long rejected) {}

    /**
     * Failover: stops receiving, makes the state writable and starts tracking it ({@link TrackedArena#arm()}),
     * and hands it over: the caller owns the arena from now on (and closes it). The arena holds the
     * last applied epoch exactly; a partial epoch is dropped.
     *
     * @throws IllegalStateException if no epoch was applied
     */
    public synchronized TrackedArena promote() {
        if (closed || promoted) throw new IllegalStateException("the replica is " + (closed ? "closed" : "already promoted"));
        if (epoch == Records.NO_EPOCH) throw new IllegalStateException("no epoch applied yet: nothing to promote");
        stopThread();
        promoted = true;
        closeStreams();
        TrackedArena owned = arena;
        arena = null;
        if (back != null) {
            back.close();
            back = null;
        }
        long stamp = lock.writeLock();
        lock.unlockWrite(stamp);
        owned.arm();
        return owned;
    }

    private void stopThread() {
        running = false;
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void closeStreams() {
        try {
            subscription.close();
            control.close();
        } finally {
            unregisterMBean();
        }
    }

    /** Stops receiving and frees the state (unless it was promoted). Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        stopThread();
        if (!promoted) closeStreams();
        if (arena != null) {
            arena.close();
            arena = null;
        }
        if (back != null) {
            back.close();
            back = null;
        }
    }

    private ObjectName registerMBean() {
        try {
            ObjectName name = new ObjectName("io.pagemark:type=Replica,stream=" + streamId);
            var server = ManagementFactory.getPlatformMBeanServer();
            if (server.isRegistered(name)) return null;
            server.registerMBean(new Bean(), name);
            return name;
        } catch (javax.management.JMException e) {
            throw new PagemarkException("could not register the replica's MBean: " + e.getMessage(), e);
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

    private final class Bean implements ReplicaMXBean {
        @Override public long getEpoch() { return epoch; }
        @Override public long getEpochsApplied() { return epochsApplied; }
        @Override public long getPagesApplied() { return pagesApplied; }
        @Override public long getEpochsRejected() { return epochsRejected; }
        @Override public long getLagEpochs() { return lag().epochs(); }
        @Override public long getLastLagMicros() { return lastLagNanos / 1000; }
        @Override public String getLastRejection() { return lastRejection; }
    }

    /**
     * Configures and starts a {@link Replica}.
     *
     * <pre>{@code
     * Replica replica = Replica.builder().transport(transport).channel("aeron:ipc").streamId(1001).start();
     * }</pre>
     */
    public static final class Builder {
        private AeronTransport transport;
        private String channel = "aeron:ipc";
        private String controlChannel = "aeron:ipc";
        private int streamId = 1001;
        private Backend backend = Backend.AUTO;

        private Builder() {}

        /** The Aeron transport (required). */
        public Builder transport(AeronTransport transport) {
            this.transport = Objects.requireNonNull(transport, "transport");
            return this;
        }

        /** The channel the primary's epochs arrive on (default {@code aeron:ipc}). */
        public Builder channel(String uri) {
            this.channel = Replicator.checkChannel(uri, "channel");
            return this;
        }

        /** The channel to the primary for joins and acknowledgements (default {@code aeron:ipc}). */
        public Builder controlChannel(String uri) {
            this.controlChannel = Replicator.checkChannel(uri, "controlChannel");
            return this;
        }

        /** The primary's stream id (default 1001). */
        public Builder streamId(int id) {
            this.streamId = Replicator.checkStreamId(id);
            return this;
        }

        /** The backend of the arena the state lives in, which tracks writes after {@link Replica#promote()} (default auto). */
        public Builder backend(Backend backend) {
            this.backend = Objects.requireNonNull(backend, "backend");
            return this;
        }

        /** Starts receiving; the replica joins the primary's stream as soon as both are connected. */
        public Replica start() {
            if (transport == null) throw new IllegalStateException("transport(...) is required: AeronTransport.embedded() or .external(dir)");
            return new Replica(this);
        }
    }
}
