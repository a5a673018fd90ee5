package io.pagemark.checkpoint;

import java.nio.file.Path;

/**
 * One published checkpoint file of a chain: what {@link Checkpointer#checkpoint()} wrote, or a
 * member of a {@link Chain}.
 *
 * @param sequence the checkpoint's number; increasing along the chain (not necessarily by one: a
 *                 failed attempt uses a number up)
 * @param kind     {@link Kind#BASE} (every non-zero page) or {@link Kind#DELTA} (pages dirtied since the previous checkpoint)
 * @param pages    page records in the file
 * @param bytes    the file's size
 * @param file     where it is
 */
public record Checkpoint(long sequence, Kind kind, long pages, long bytes, Path file) {

    /** Whether a checkpoint stands alone or applies on top of its parent. */
    public enum Kind {
        /** Holds every non-zero page of the arena: the start of a chain. */
        BASE,
        /** Holds the pages dirtied since its parent, the previous checkpoint of the chain. */
        DELTA
    }
}
