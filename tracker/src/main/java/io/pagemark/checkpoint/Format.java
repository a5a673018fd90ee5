package io.pagemark.checkpoint;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The on-disk layout of a checkpoint file (little-endian). Every byte is covered by a checksum, so
 * any flipped byte is detected, and each checksum covers a small unit, so the damage is located:
 *
 * <pre>
 * header   64 bytes   magic "PGMKCKPT" | format version u32 | kind u32 (1 base, 2 delta) | arena size u64
 *                     | sequence u64 | state id u64 | parent sequence u64 | parent state id u64
 *                     | page size u32 | CRC32C of the 60 bytes before it
 * records  n x (12 + page size)
 *                     page index u64 | CRC32C of (page index bytes, page bytes) u32 | the page's bytes
 * trailer  20 bytes   magic "PGMKTAIL" | record count u64 | CRC32C of every byte of the file before it
 * </pre>
 *
 * A base holds every non-zero page of the arena (a page it does not hold is zero); a delta holds
 * every page dirtied since its parent. The <em>state id</em> names the arena state a checkpoint brings
 * the chain to (random, never 0); a delta names its parent by sequence and state id, and a base made
 * by compaction keeps the state id of the checkpoint it folds up to, so later deltas still link to it.
 */
final class Format {
    static final int VERSION = 1;

    static final long FILE_MAGIC = magic("PGMKCKPT");
    static final long TRAILER_MAGIC = magic("PGMKTAIL");
    static final long MANIFEST_MAGIC = magic("PGMKMNFT");
    static final long PIN_MAGIC = magic("PGMKSPIN");

    static final int HEADER_BYTES = 64;
    private static final int HEADER_CRC_OFFSET = 60;
    /** Page index (8) and CRC32C (4) before each page's bytes. */
    static final int RECORD_PREFIX_BYTES = 12;
    static final int TRAILER_BYTES = 20;
    private static final int TRAILER_CRC_OFFSET = 16;

    private Format() {}

    private static long magic(String eight) {
        return ByteBuffer.wrap(eight.getBytes(java.nio.charset.StandardCharsets.US_ASCII)).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    static ByteBuffer littleEndian(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    static int crc32c(ByteBuffer bytes, int from, int to) {
        CRC32C crc = new CRC32C();
        crc.update(bytes.slice(from, to - from));
        return (int) crc.getValue();
    }

    static long recordBytes(int pageSize) {
        return RECORD_PREFIX_BYTES + (long) pageSize;
    }

    /** The identity and geometry of one checkpoint file. */
    record Header(Checkpoint.Kind kind, long arenaSize, int pageSize, long sequence, long stateId,
                  long parentSequence, long parentStateId) {

        ByteBuffer encode() {
            ByteBuffer b = littleEndian(HEADER_BYTES);
            b.putLong(FILE_MAGIC).putInt(VERSION).putInt(kindCode(kind)).putLong(arenaSize)
                    .putLong(sequence).putLong(stateId).putLong(parentSequence).putLong(parentStateId).putInt(pageSize);
            b.putInt(crc32c(b, 0, HEADER_CRC_OFFSET));
            return b.flip();
        }

        /** Decodes and checks a header (magic, checksum, version, kind); its fields are checked against the manifest by the caller. */
        static Header decode(ByteBuffer b, Path file) throws CheckpointCorruptException {
            b.order(ByteOrder.LITTLE_ENDIAN);
            if (b.getLong(0) != FILE_MAGIC) {
                throw new CheckpointCorruptException(file, 0, "not a pagemark checkpoint file (bad magic number in the header)");
            }
            int stored = b.getInt(HEADER_CRC_OFFSET);
            int computed = crc32c(b, 0, HEADER_CRC_OFFSET);
            if (stored != computed) {
                throw new CheckpointCorruptException(file, 0, "header checksum mismatch (header bytes 0-" + (HEADER_BYTES - 1) + " damaged)");
            }
            int version = b.getInt(8);
            if (version != VERSION) {
                throw new CheckpointCorruptException(file, 8, "format version " + version + ", this pagemark reads version " + VERSION);
            }
            Checkpoint.Kind kind = kindOf(b.getInt(12), file, 12);
            return new Header(kind, b.getLong(16), b.getInt(56), b.getLong(24), b.getLong(32), b.getLong(40), b.getLong(48));
        }
    }

    static int kindCode(Checkpoint.Kind kind) {
        return kind == Checkpoint.Kind.BASE ? 1 : 2;
    }

    static Checkpoint.Kind kindOf(int code, Path file, long offset) throws CheckpointCorruptException {
        return switch (code) {
            case 1 -> Checkpoint.Kind.BASE;
            case 2 -> Checkpoint.Kind.DELTA;
            default -> throw new CheckpointCorruptException(file, offset, "unknown checkpoint kind " + code + " (1 base, 2 delta)");
        };
    }

    /** The trailer for {@code records} records; {@code crcBeforeTrailer} holds the CRC32C of every byte before it and is updated. */
    static ByteBuffer trailer(long records, CRC32C crcBeforeTrailer) {
        ByteBuffer b = littleEndian(TRAILER_BYTES);
        b.putLong(TRAILER_MAGIC).putLong(records);
        crcBeforeTrailer.update(b.slice(0, TRAILER_CRC_OFFSET));
        b.putInt((int) crcBeforeTrailer.getValue());
        return b.flip();
    }

    /**
     * Checks a trailer read at {@code offset}; {@code crc} holds the CRC32C of the file's bytes before
     * the trailer and is updated with the trailer's own checked bytes. Returns the file's checksum.
     */
    static int checkTrailer(ByteBuffer b, CRC32C crc, long expectedRecords, Path file, long offset) throws CheckpointCorruptException {
        b.order(ByteOrder.LITTLE_ENDIAN);
        crc.update(b.slice(0, TRAILER_CRC_OFFSET));
        int computed = (int) crc.getValue();
        if (b.getInt(TRAILER_CRC_OFFSET) != computed) {
            throw new CheckpointCorruptException(file, offset,
                    "file checksum mismatch in the trailer (the trailer or a byte the record checksums do not cover is damaged)");
        }
        if (b.getLong(0) != TRAILER_MAGIC) {
            throw new CheckpointCorruptException(file, offset, "bad trailer magic number");
        }
        long records = b.getLong(8);
        if (records != expectedRecords) {
            throw new CheckpointCorruptException(file, offset + 8,
                    "the trailer counts " + records + " records, the file holds " + expectedRecords);
        }
        return computed;
    }
}
