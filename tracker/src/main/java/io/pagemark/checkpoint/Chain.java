package io.pagemark.checkpoint;

import java.nio.file.Path;
import java.util.List;

/**
 * The published checkpoint chain of a directory: one base followed by deltas, as its manifest lists
 * them. Restoring applies them in this order.
 *
 * @param directory the chain's directory
 * @param arenaSize the checkpointed arena's size in bytes
 * @param pageSize  its page size
 * @param files     the base first, then the deltas, oldest first
 */
public record Chain(Path directory, long arenaSize, long pageSize, List<Checkpoint> files) {
    public Chain {
        files = List.copyOf(files);
    }

    /** The newest checkpoint: the state a restore rebuilds. */
    public Checkpoint head() {
        return files.getLast();
    }

    /** The head's sequence number. */
    public long sequence() {
        return head().sequence();
    }

    /** Bytes on disk over every file of the chain (the manifest aside). */
    public long bytes() {
        return files.stream().mapToLong(Checkpoint::bytes).sum();
    }
}
