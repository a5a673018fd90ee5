package io.pagemark.backend;

/**
 * A tracker that sees only the writes made through the arena's write API ({@code TrackedArena.putLong}
 * and the like), which marks its {@link ArenaCardTable}: card-table, the software baseline. The arena
 * marks the table on every write through its API when its tracker is one.
 *
 * <pre>{@code
 * ArenaCardTable cards = tracker instanceof MarkedByWriteApi marked ? marked.cards() : null;
 * }</pre>
 */
public interface MarkedByWriteApi extends PageTracker {
    /** The table the arena's write API marks. */
    ArenaCardTable cards();
}
