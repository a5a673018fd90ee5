package io.pagemark.verify;

import io.pagemark.Backend;

import java.util.List;

/**
 * What one run of the {@link NoLostWriteOracle} saw.
 *
 * @param backend          the backend under test
 * @param describe         how the backend was set up
 * @param writes           store operations the writers made (bytes, words and page-spanning copies)
 * @param discards         pages the writers discarded (TrackedArena.discard, and plain madvise where the backend sees it)
 * @param collects         collects the collector made, quiescent ones included
 * @param pagesReported    pages reported dirty over all collects
 * @param quiescentChecks  times the writers were stopped and the shadow compared with the arena
 * @param lost             pages found differing at a quiescent check: each is a write or discard no collect reported
 * @param losses           the first few losses, described (page, offset, bytes)
 * @param seconds          how long the run took
 */
public record OracleResult(Backend backend, String describe, long writes, long discards, long collects, long pagesReported,
                           long quiescentChecks, long lost, List<String> losses, double seconds) {
    /** True when no write was lost. */
    public boolean ok() {
        return lost == 0;
    }
}
