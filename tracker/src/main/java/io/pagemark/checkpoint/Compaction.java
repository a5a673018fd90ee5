package io.pagemark.checkpoint;

import java.io.IOException;
import java.util.Arrays;

/**
 * Folds a chain into one base holding the same state. Crash-safe like a checkpoint: the new base is
 * published under its own name, then the manifest is switched to it, then the old files go; until
 * the switch the old chain is the published one, after it the new one.
 */
final class Compaction {
    /** A record's place in the chain, packed: the file's index in the chain (high 16 bits), the record's offset in it. */
    private static final int FILE_SHIFT = 48;

    private Compaction() {}

    /**
     * Compacts {@code chain} (the published chain of {@code dir}; the caller holds the directory's
     * lock) and returns the manifest now published. A chain that is only a base is returned as is.
     */
    static Manifest compact(ChainDirectory dir, Manifest chain) throws IOException {
        if (chain.entries().size() == 1) return chain;
        long pages = chain.arenaSize() / chain.pageSize();
        if (pages > Integer.MAX_VALUE) {
            throw new IOException("cannot compact a chain of " + pages + " pages: at most " + Integer.MAX_VALUE + " are supported");
        }
        Manifest compacted;
        try (ChainReader files = ChainReader.open(dir, chain)) {
            // Pass 1 checks the whole chain and finds each page's newest record.
            long[] newest = new long[(int) pages];
            Arrays.fill(newest, -1L);
            files.read((page, data, file, offset) -> newest[(int) page] = place(file, offset));

            // Pass 2 reads the same files again (checked again: they are read anew) and writes each newest record into the base.
            // The base keeps the head's sequence and state id: it is the same state, so deltas written later still link to it.
            Manifest.Entry head = chain.head();
            Format.Header header = new Format.Header(Checkpoint.Kind.BASE, chain.arenaSize(), chain.pageSize(),
                    head.sequence(), head.stateId(), -1, 0);
            try (Staging staging = new Staging(chain.pageSize());
                 CheckpointFileWriter writer = new CheckpointFileWriter(dir, header, staging)) {
                files.read((page, data, file, offset) -> {
                    if (newest[(int) page] == place(file, offset)) writer.add(page, data, 0);
                });
                compacted = chain.then(writer.publish());
            }
        }
        dir.writeManifest(compacted);
        dir.deleteUnlisted(compacted);
        return compacted;
    }

    private static long place(int fileIndex, long recordOffset) {
        return ((long) fileIndex << FILE_SHIFT) | recordOffset;
    }
}
