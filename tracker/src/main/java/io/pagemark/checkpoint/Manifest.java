package io.pagemark.checkpoint;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The list of the files of the published chain, replaced atomically on every publish: what makes a
 * new checkpoint visible, and what lets a restore notice a missing file even when it is the newest.
 *
 * <pre>
 * magic "PGMKMNFT" | format version u32 | page size u32 | arena size u64 | entry count u32
 * entry count x ( sequence u64 | state id u64 | file size u64 | kind u32 | file checksum u32 )
 * CRC32C of every byte before it u32
 * </pre>
 *
 * @param entries the base first, then the deltas in order; never empty
 */
record Manifest(long arenaSize, int pageSize, List<Entry> entries) {
    private static final int FIXED_BYTES = 28;
    private static final int ENTRY_BYTES = 32;

    /** One file of the chain, as the manifest pins it down: its identity, size and whole-file checksum. */
    record Entry(long sequence, long stateId, Checkpoint.Kind kind, long bytes, int fileCrc) {}

    Manifest {
        entries = List.copyOf(entries);
    }

    Entry head() {
        return entries.getLast();
    }

    /** This chain with {@code next} appended, or, when {@code next} is a base, the chain that base starts. */
    Manifest then(Entry next) {
        if (next.kind() == Checkpoint.Kind.BASE) return new Manifest(arenaSize, pageSize, List.of(next));
        List<Entry> longer = new ArrayList<>(entries);
        longer.add(next);
        return new Manifest(arenaSize, pageSize, longer);
    }

    ByteBuffer encode() {
        ByteBuffer b = Format.littleEndian(FIXED_BYTES + ENTRY_BYTES * entries.size() + Integer.BYTES);
        b.putLong(Format.MANIFEST_MAGIC).putInt(Format.VERSION).putInt(pageSize).putLong(arenaSize).putInt(entries.size());
        for (Entry e : entries) {
            b.putLong(e.sequence()).putLong(e.stateId()).putLong(e.bytes()).putInt(Format.kindCode(e.kind())).putInt(e.fileCrc());
        }
        b.putInt(Format.crc32c(b, 0, b.position()));
        return b.flip();
    }

    /**
     * Decodes and checks a manifest. It is one checksummed unit: any damage, a truncation included, is
     * reported at offset 0 (a truncation cannot be told from a damaged entry count).
     */
    static Manifest decode(ByteBuffer b, Path file) throws CheckpointCorruptException {
        b.order(ByteOrder.LITTLE_ENDIAN);
        int size = b.remaining();
        if (size < FIXED_BYTES + Integer.BYTES) {
            throw new CheckpointCorruptException(file, 0, "manifest truncated: " + size + " bytes, at least "
                    + (FIXED_BYTES + Integer.BYTES) + " expected");
        }
        int count = b.getInt(24);
        long expected = FIXED_BYTES + (long) ENTRY_BYTES * count + Integer.BYTES;
        if (b.getInt(size - Integer.BYTES) != Format.crc32c(b, 0, size - Integer.BYTES)) {
            throw new CheckpointCorruptException(file, 0, "manifest checksum mismatch (" + size + " bytes"
                    + (expected != size ? ", while its entry count needs " + expected + ": truncated or damaged" : ": damaged") + ")");
        }
        if (b.getLong(0) != Format.MANIFEST_MAGIC) {
            throw new CheckpointCorruptException(file, 0, "not a pagemark manifest (bad magic number)");
        }
        int version = b.getInt(8);
        if (version != Format.VERSION) {
            throw new CheckpointCorruptException(file, 8, "format version " + version + ", this pagemark reads version " + Format.VERSION);
        }
        if (count < 1 || expected != size) {
            throw new CheckpointCorruptException(file, 24, "the manifest lists " + count + " files in " + size + " bytes");
        }
        int pageSize = b.getInt(12);
        long arenaSize = b.getLong(16);
        if (Integer.bitCount(pageSize) != 1 || arenaSize <= 0 || arenaSize % pageSize != 0) {
            throw new CheckpointCorruptException(file, 12, "arena size " + arenaSize + " is not a positive whole number of "
                    + pageSize + "-byte pages");
        }
        List<Entry> entries = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int at = FIXED_BYTES + ENTRY_BYTES * i;
            Checkpoint.Kind kind = Format.kindOf(b.getInt(at + 24), file, at + 24);
            Entry e = new Entry(b.getLong(at), b.getLong(at + 8), kind, b.getLong(at + 16), b.getInt(at + 28));
            if ((i == 0) != (kind == Checkpoint.Kind.BASE)) {
                throw new CheckpointCorruptException(file, at, "entry " + i + " is a " + kind + ": a chain is one base, then deltas");
            }
            if (i > 0 && e.sequence() <= entries.getLast().sequence()) {
                throw new CheckpointCorruptException(file, at, "entry " + i + " has sequence " + e.sequence()
                        + ", not after " + entries.getLast().sequence());
            }
            entries.add(e);
        }
        return new Manifest(arenaSize, pageSize, entries);
    }
}
