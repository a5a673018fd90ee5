package io.pagemark.replication;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The replication records: their layout (the one place it is written down in code; docs/replication.md
 * describes it for people), the checks, and the digests. Every record is one Aeron message, little-endian.
 *
 * <pre>
 * every record   0 magic u32 | 4 version u16 | 6 type u16 | 8 stream identity u64 | 16 epoch u64
 * EPOCH_START   24 base epoch i64 (NO_EPOCH: a full epoch) | 32 join id u64 (0: not an answer to a join)
 *               40 arena bytes u64 | 48 page size u32 | 52 (zero) u32                          = 56 bytes
 * PAGE          24 page index u64 | 32 check u64 | 40 the page's contents                      = 40 + page size
 * EPOCH_END     24 page records u64 | 32 records digest u64 | 40 state digest u64 | 48 cut time (ns since 1970) u64 = 56
 * JOIN          (replica to primary; identity and epoch: what the replica holds, 0 and NO_EPOCH for nothing)
 *               24 state digest u64 | 32 join id u64                                          = 40
 * ACK           (replica to primary; epoch: the epoch it applied) 24 applied at (ns since 1970) u64 = 32
 *
 * live migration (docs/migration.md): its rounds are epochs (EPOCH_START, PAGE, EPOCH_END; epoch = the round,
 * base = the round before, NO_EPOCH for round 0; the join id = the destination's HELLO, a JOIN of identity 0);
 * the destination ACKs each round; the switch is one handshake of signals:
 * PREPARE       (source to destination; epoch: the last round) 24 its state digest u64        = 32
 * READY         (destination to source; epoch: that round) 24 the state digest it holds u64  = 32
 * COMMIT        (source to destination; epoch: that round) 24 zero u64                       = 32
 * SERVING       (destination to source; epoch: that round) 24 serving since (ns since 1970) u64 = 32
 * HEARTBEAT     (both ways; epoch: NO_EPOCH, or a ping's number to echo) 24 zero u64         = 32
 * ABORT         (source to destination), REFUSED (destination to source): epoch: the round
 *               24 reason length u32 | 28 the reason, UTF-8 (at most 512 bytes)             = 28 + length
 * </pre>
 *
 * <p>A page's <em>check</em> binds its contents (CRC32C) to the stream, the epoch and the page index,
 * so a page replayed from another epoch, placed at another index or sent by another stream fails it.
 * The <em>records digest</em> folds every page record of the epoch in order: a record lost, repeated
 * or reordered changes it. The <em>state digest</em> is a sum over every page of the arena of a hash
 * of (index, CRC32C of its contents): a digest of the whole arena at the cut that can be updated in
 * O(pages changed), which primary and replica both maintain, and a promoted replica recomputes from
 * its bytes.
 */
final class Records {
    static final int MAGIC = 0x50524d50;   // "PMRP" read as little-endian bytes
    static final int VERSION = 1;
    static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

    static final int EPOCH_START = 1, PAGE = 2, EPOCH_END = 3, JOIN = 16, ACK = 17;
    static final int PREPARE = 4, COMMIT = 5, ABORT = 6, HEARTBEAT = 7, READY = 18, SERVING = 19, REFUSED = 20;

    /** The epoch of "no state": a replica that holds nothing, the base of a full epoch. */
    static final long NO_EPOCH = -1;

    static final int MAGIC_AT = 0, VERSION_AT = 4, TYPE_AT = 6, IDENTITY_AT = 8, EPOCH_AT = 16;
    static final int HEADER_BYTES = 24;
    static final int BASE_AT = 24, JOIN_ID_AT = 32, ARENA_BYTES_AT = 40, PAGE_SIZE_AT = 48, EPOCH_START_BYTES = 56;
    static final int PAGE_INDEX_AT = 24, CHECK_AT = 32, CONTENTS_AT = 40;
    static final int RECORDS_AT = 24, RECORDS_DIGEST_AT = 32, STATE_DIGEST_AT = 40, CUT_TIME_AT = 48, EPOCH_END_BYTES = 56;
    static final int JOIN_DIGEST_AT = 24, JOIN_JOIN_ID_AT = 32, JOIN_BYTES = 40;
    static final int ACK_TIME_AT = 24, ACK_BYTES = 32;
    static final int SIGNAL_ARGUMENT_AT = 24, SIGNAL_BYTES = 32;
    static final int REASON_LENGTH_AT = 24, REASON_AT = 28, REASON_MAX_BYTES = 512;

    private Records() {}

    static int pageRecordBytes(long pageSize) {
        return CONTENTS_AT + (int) pageSize;
    }

    static void putHeader(MutableDirectBuffer b, int at, int type, long identity, long epoch) {
        b.putInt(at + MAGIC_AT, MAGIC, ORDER);
        b.putShort(at + VERSION_AT, (short) VERSION, ORDER);
        b.putShort(at + TYPE_AT, (short) type, ORDER);
        b.putLong(at + IDENTITY_AT, identity, ORDER);
        b.putLong(at + EPOCH_AT, epoch, ORDER);
    }

    /** The record's type, or a negative number when it is not a record of this format (naming why in {@link #describeForeign}). */
    static int type(DirectBuffer b, int at, int length) {
        if (length < HEADER_BYTES || b.getInt(at + MAGIC_AT, ORDER) != MAGIC || (b.getShort(at + VERSION_AT, ORDER) & 0xffff) != VERSION) {
            return -1;
        }
        return b.getShort(at + TYPE_AT, ORDER) & 0xffff;
    }

    static String describeForeign(DirectBuffer b, int at, int length) {
        if (length < HEADER_BYTES) return "a message of " + length + " bytes, shorter than a record header (" + HEADER_BYTES + ")";
        if (b.getInt(at + MAGIC_AT, ORDER) != MAGIC) {
            return String.format("a message without the replication magic number (0x%08x, expected 0x%08x)", b.getInt(at + MAGIC_AT, ORDER), MAGIC);
        }
        return "a record of format version " + (b.getShort(at + VERSION_AT, ORDER) & 0xffff) + " (this build reads version " + VERSION + ")";
    }

    /** Writes {@code reason} (cut to {@link #REASON_MAX_BYTES} bytes) after the header; returns the record's length. */
    static int putReason(MutableDirectBuffer b, String reason) {
        byte[] bytes = reason.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int length = Math.min(bytes.length, REASON_MAX_BYTES);
        b.putInt(REASON_LENGTH_AT, length, ORDER);
        b.putBytes(REASON_AT, bytes, 0, length);
        return REASON_AT + length;
    }

    /** The reason an ABORT or REFUSED record carries. */
    static String reason(DirectBuffer b, int at, int length) {
        if (length < REASON_AT) return "(no reason given)";
        int n = Math.max(0, Math.min(b.getInt(at + REASON_LENGTH_AT, ORDER), Math.min(length - REASON_AT, REASON_MAX_BYTES)));
        byte[] bytes = new byte[n];
        b.getBytes(at + REASON_AT, bytes);
        return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
    }

    static long identity(DirectBuffer b, int at) {
        return b.getLong(at + IDENTITY_AT, ORDER);
    }

    static long epoch(DirectBuffer b, int at) {
        return b.getLong(at + EPOCH_AT, ORDER);
    }

    /** CRC32C of {@code contents} (in the hot paths, {@link BufferViews#crc} reads Aeron's buffers without a view per record). */
    static int crc(MemorySegment contents) {
        CRC32C crc = new CRC32C();
        crc.update(contents.asByteBuffer());
        return (int) crc.getValue();
    }

    /** The page record's check: its contents' CRC32C bound to stream, epoch and index. */
    static long check(long identity, long epoch, long page, int contentsCrc) {
        return mix(mix(mix(identity ^ 0x243f6a8885a308d3L) ^ epoch) ^ page) ^ (contentsCrc & 0xffffffffL);
    }

    /** Folds one page record into an epoch's records digest (start from {@link #RECORDS_DIGEST_SEED}). */
    static long foldRecord(long digest, long page, int contentsCrc) {
        return mix(digest ^ mix(page * 0x9e3779b97f4a7c15L ^ (contentsCrc & 0xffffffffL)));
    }

    static final long RECORDS_DIGEST_SEED = 0x6a09e667f3bcc908L;

    /** Page {@code page}'s term of the state digest, the sum of every page's term. */
    static long stateTerm(long page, int contentsCrc) {
        return mix(page ^ ((contentsCrc & 0xffffffffL) << 32) ^ 0xbb67ae8584caa73bL);
    }

    /** A 64-bit finalizer (SplitMix64's). */
    static long mix(long x) {
        x = (x ^ (x >>> 30)) * 0xbf58476d1ce4e5b9L;
        x = (x ^ (x >>> 27)) * 0x94d049bb133111ebL;
        return x ^ (x >>> 31);
    }

    /**
     * The per-page contents CRCs of an arena and their state digest, kept current in O(pages changed).
     * Primary and replica each keep one; {@link #of} recomputes it from memory.
     */
    static final class PageDigests {
        private final int[] crcs;
        private long state;

        private PageDigests(int[] crcs, long state) {
            this.crcs = crcs;
            this.state = state;
        }

        /** The digests of an arena of {@code pages} zero pages (what a new mapping holds). */
        static PageDigests zero(long pages, long pageSize) {
            int zeroCrc = Records.crc(MemorySegment.ofArray(new byte[(int) pageSize]));
            int[] crcs = new int[Math.toIntExact(pages)];
            java.util.Arrays.fill(crcs, zeroCrc);
            long state = 0;
            for (long p = 0; p < pages; p++) state += stateTerm(p, zeroCrc);
            return new PageDigests(crcs, state);
        }

        /** The digests of {@code memory}, page by page. */
        static PageDigests of(MemorySegment memory, long pageSize) {
            long pages = memory.byteSize() / pageSize;
            int[] crcs = new int[Math.toIntExact(pages)];
            long state = 0;
            for (int p = 0; p < pages; p++) {
                crcs[p] = Records.crc(memory.asSlice(p * pageSize, pageSize));
                state += stateTerm(p, crcs[p]);
            }
            return new PageDigests(crcs, state);
        }

        long state() {
            return state;
        }

        int crc(long page) {
            return crcs[(int) page];
        }

        /** The state digest if page {@code page}'s contents had CRC {@code crc}, starting from {@code state}. */
        long stateWith(long state, long page, int crc) {
            return state - stateTerm(page, crcs[(int) page]) + stateTerm(page, crc);
        }

        void set(long page, int crc) {
            state = stateWith(state, page, crc);
            crcs[(int) page] = crc;
        }

        PageDigests copy() {
            return new PageDigests(crcs.clone(), state);
        }
    }
}
