package io.pagemark.samples.runtime;

/**
 * What one collection cycle did and how long its pauses took.
 *
 * @param initialMarkNanos the initial-mark pause (card clear and root marking), including time to stop
 * @param remarkNanos      the remark pause (dirty-card rescan, root rescan, marking to the end), including time to stop
 * @param dirtyCards       cards found dirty at the remark
 * @param dirtyPages       4 KiB pages with at least one dirty card
 * @param rescanned        objects rescanned because they lie on a dirty card
 * @param marked           objects marked in the cycle
 * @param oracleNanos      the oracle's pause after the cycle, 0 when the oracle is off
 * @param reachable        objects the oracle found reachable, -1 when the oracle is off
 * @param remarkParts      where the remark pause went
 */
public record CycleStats(long initialMarkNanos, long remarkNanos, int dirtyCards, int dirtyPages,
                         long rescanned, long marked, long oracleNanos, long reachable, RemarkParts remarkParts) {

    /**
     * The remark pause in its parts, which add up to it.
     *
     * @param stopNanos   time to stop the mutators (time to safepoint)
     * @param cardsNanos  reading and clearing the card table (under the agent: with the agent's collect of the
     *                    dirty pages and its marking of their cards, which run before the runtime reads its table)
     * @param rescanNanos rescanning the black objects on the dirty cards
     * @param traceNanos  rescanning the roots and marking to the end
     * @param otherNanos  the rest: retiring allocation blocks, queueing the sweep
     */
    public record RemarkParts(long stopNanos, long cardsNanos, long rescanNanos, long traceNanos, long otherNanos) {}
}
