package io.pagemark.replication;

import io.aeron.ExclusivePublication;
import io.aeron.logbuffer.BufferClaim;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.lang.foreign.MemorySegment;

/**
 * Writes records to one Aeron publication for the sending side of a stream (the {@link Replicator},
 * the {@link Migration}): page records, claimed in place when a record fits one frame and otherwise
 * copied into a scratch record that Aeron fragments, and small records. A refused offer or claim goes
 * to the owner's {@link Refusals}, which returns to have it retried (after a short back-off) or
 * throws to abandon it.
 */
final class RecordPublisher {
    /** What to do with a refused offer or claim (Aeron's negative result): return to retry, throw to give up. */
    interface Refusals {
        void refused(long result);
    }

    /** Where a page record's contents come from: copies page {@code page} into {@code destination} at {@code offset}. */
    interface PageSource {
        void copyPage(long page, MemorySegment destination, long offset);
    }

    /** The largest small record: an abort with its reason. */
    private static final int SMALL_BYTES = Records.REASON_AT + Records.REASON_MAX_BYTES;

    private final long identity;
    private final long pageSize;
    private final Refusals refusals;
    /**
     * Between retries of a refused record: a few spins and yields, then parks growing to 50 us. Back
     * pressure ends as soon as the receiver reads (over IPC within microseconds), so a long park would
     * leave the window open and idle; reset after every record that went out after a refusal, so one
     * stall does not make the next one sleep longer.
     */
    private final IdleStrategy backOff = new BackoffIdleStrategy(10, 20, 1_000, 50_000);
    private final BufferClaim claim = new BufferClaim();
    private final UnsafeBuffer small = new UnsafeBuffer(new byte[SMALL_BYTES]);
    private final MemorySegment pageScratch;
    private final UnsafeBuffer pageBuffer;
    private final BufferViews views = new BufferViews();
    private ExclusivePublication publication;
    private boolean claimable;

    RecordPublisher(long identity, long pageSize, Refusals refusals) {
        this.identity = identity;
        this.pageSize = pageSize;
        this.refusals = refusals;
        this.pageScratch = java.lang.foreign.Arena.ofAuto().allocate(Records.pageRecordBytes(pageSize), 64);
        this.pageBuffer = new UnsafeBuffer(pageScratch.address(), (int) pageScratch.byteSize());
    }

    /** The publication records go to from now on (a new session's, after the old one was closed). */
    void publication(ExclusivePublication p) {
        publication = p;
        claimable = p.maxPayloadLength() >= Records.pageRecordBytes(pageSize);
    }

    ExclusivePublication publication() {
        return publication;
    }

    /**
     * Sends page {@code page}'s record of epoch {@code epoch}, its contents copied once, by
     * {@code source}, straight into the claimed frame (or the scratch record when a record spans
     * frames); returns the CRC32C of the contents sent. The CRC and the check are computed over the
     * bytes in the record, after the copy, since a page read while writers run may change under it.
     */
    int page(long epoch, long page, PageSource source) {
        int length = Records.pageRecordBytes(pageSize);
        if (claimable) {
            long r;
            boolean refused = false;
            while ((r = publication.tryClaim(length, claim)) < 0) refused = retry(r);
            if (refused) backOff.reset();
            var buffer = claim.buffer();
            int at = claim.offset();
            int contentsAt = at + Records.CONTENTS_AT;
            int crc;
            try {
                source.copyPage(page, views.segment(buffer), contentsAt);
                crc = views.crc(buffer, contentsAt, (int) pageSize);
            } catch (RuntimeException | Error e) {
                claim.abort();   // a claimed frame neither committed nor aborted would hold up the stream
                throw e;
            }
            Records.putHeader(buffer, at, Records.PAGE, identity, epoch);
            buffer.putLong(at + Records.PAGE_INDEX_AT, page, Records.ORDER);
            buffer.putLong(at + Records.CHECK_AT, Records.check(identity, epoch, page, crc), Records.ORDER);
            claim.commit();
            return crc;
        }
        source.copyPage(page, pageScratch, Records.CONTENTS_AT);
        int crc = views.crc(pageBuffer, Records.CONTENTS_AT, (int) pageSize);
        Records.putHeader(pageBuffer, 0, Records.PAGE, identity, epoch);
        pageBuffer.putLong(Records.PAGE_INDEX_AT, page, Records.ORDER);
        pageBuffer.putLong(Records.CHECK_AT, Records.check(identity, epoch, page, crc), Records.ORDER);
        offer(pageBuffer, length);
        return crc;
    }

    /** Pages of {@code memory} (page p at {@code p * pageSize}) as they are now. */
    PageSource pagesOf(MemorySegment memory) {
        return (page, destination, offset) -> MemorySegment.copy(memory, page * pageSize, destination, offset, pageSize);
    }

    /** A refused offer or claim: the owner decides (returns to retry, or throws), then the back-off. Returns true. */
    private boolean retry(long result) {
        refusals.refused(result);
        backOff.idle();
        return true;
    }

    private void offer(UnsafeBuffer buffer, int length) {
        long r;
        boolean refused = false;
        while ((r = publication.offer(buffer, 0, length)) < 0) refused = retry(r);
        if (refused) backOff.reset();
    }

    /** The buffer of the next small record: fill the fields after its header, then {@link #small(int, long, int)}. */
    UnsafeBuffer small() {
        return small;
    }

    /** Sends the small record in {@link #small()}, of {@code length} bytes, with its header. */
    void small(int type, long epoch, int length) {
        Records.putHeader(small, 0, type, identity, epoch);
        offer(small, length);
    }

    /** An epoch start: epoch {@code epoch} applies on {@code base} (NO_EPOCH: on anything), answering join {@code joinId} (0: none). */
    void epochStart(long epoch, long base, long joinId, long arenaBytes) {
        small.putLong(Records.BASE_AT, base, Records.ORDER);
        small.putLong(Records.JOIN_ID_AT, joinId, Records.ORDER);
        small.putLong(Records.ARENA_BYTES_AT, arenaBytes, Records.ORDER);
        small.putInt(Records.PAGE_SIZE_AT, (int) pageSize, Records.ORDER);
        small.putInt(Records.PAGE_SIZE_AT + 4, 0, Records.ORDER);
        small(Records.EPOCH_START, epoch, Records.EPOCH_START_BYTES);
    }

    /** An epoch end: its page records, their digest, the state digest the epoch leads to, its cut's instant. */
    void epochEnd(long epoch, long pageRecords, long recordsDigest, long stateDigest, long cutWallNanos) {
        small.putLong(Records.RECORDS_AT, pageRecords, Records.ORDER);
        small.putLong(Records.RECORDS_DIGEST_AT, recordsDigest, Records.ORDER);
        small.putLong(Records.STATE_DIGEST_AT, stateDigest, Records.ORDER);
        small.putLong(Records.CUT_TIME_AT, cutWallNanos, Records.ORDER);
        small(Records.EPOCH_END, epoch, Records.EPOCH_END_BYTES);
    }
}
