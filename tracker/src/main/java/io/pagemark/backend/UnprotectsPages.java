package io.pagemark.backend;

/**
 * A tracker that can make pages writable outside a fault, unrecorded (so only for pages nobody
 * tracks): the native backends, whose protection is theirs to lift.
 *
 * <pre>{@code
 * if (tracker instanceof UnprotectsPages pages && !pages.unprotect(first, count)) {
 *     // mprotect at vm.max_map_count: the pages stay protected, a fault later, never a lost write
 * }
 * }</pre>
 */
public interface UnprotectsPages extends PageTracker {
    /**
     * Makes pages [firstPage, firstPage + pageCount) writable without a fault. Returns false if the
     * kernel refused for lack of room (mprotect at vm.max_map_count): the pages then stay protected,
     * which costs a fault later, never a write.
     */
    boolean unprotect(long firstPage, long pageCount);
}
