package io.pagemark.replication;

import java.lang.foreign.MemorySegment;

/**
 * The digest of a whole arena that every epoch's end carries (the <em>state digest</em>): a sum over
 * its pages of a hash of (page index, CRC32C of the page). Equal digests mean equal arenas but for a
 * 2^-64 chance; the primary and the replica both keep it current in O(pages changed).
 *
 * <pre>{@code
 * TrackedArena promoted = replica.promote();
 * long mine = ArenaDigest.of(promoted.segment(), promoted.pageSize());
 * // equals the Replicator.Published.stateDigest() the primary reported for that epoch
 * }</pre>
 */
public final class ArenaDigest {
    private ArenaDigest() {}

    /**
     * The digest of {@code memory}, read page by page (its size must be a whole number of pages).
     *
     * @throws IllegalArgumentException if it is not
     */
    public static long of(MemorySegment memory, long pageSize) {
        if (pageSize <= 0 || memory.byteSize() % pageSize != 0) {
            throw new IllegalArgumentException("the memory (" + memory.byteSize() + " bytes) is not a whole number of " + pageSize + "-byte pages");
        }
        return Records.PageDigests.of(memory, pageSize).state();
    }
}
