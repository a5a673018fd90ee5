package io.pagemark.verify;

import java.time.Duration;

/**
 * How hard the {@link NoLostWriteOracle} pushes.
 *
 * @param arenaBytes      arena size: small enough that writers hit every page many times per second
 * @param writers         writer threads
 * @param minWrites       the run goes on at least until this many writes were made ...
 * @param minDuration     ... and at least this long ...
 * @param maxDuration     ... but never longer than this (a slow backend then reports fewer writes)
 * @param quiescentEvery  how often the writers are stopped and the shadow compared with the arena
 * @param seed            seed of the writers' random choices (a failing run can be repeated)
 * @param discardOneIn    one write in this many is a discard of a page instead (0: none; docs/discards.md)
 */
public record OracleConfig(long arenaBytes, int writers, long minWrites, Duration minDuration, Duration maxDuration,
                           Duration quiescentEvery, long seed, long discardOneIn) {

    public OracleConfig {
        if (arenaBytes < 4 * 4096) throw new IllegalArgumentException("arenaBytes must be at least 4 pages, got " + arenaBytes);
        if (writers < 1) throw new IllegalArgumentException("writers must be >= 1, got " + writers);
        if (minWrites < 0) throw new IllegalArgumentException("minWrites must be >= 0, got " + minWrites);
        if (maxDuration.compareTo(minDuration) < 0) {
            throw new IllegalArgumentException("maxDuration " + maxDuration + " is shorter than minDuration " + minDuration);
        }
        if (quiescentEvery.isNegative() || quiescentEvery.isZero()) {
            throw new IllegalArgumentException("quiescentEvery must be positive, got " + quiescentEvery);
        }
        if (discardOneIn < 0) throw new IllegalArgumentException("discardOneIn must be >= 0 (0: no discards), got " + discardOneIn);
    }

    /**
     * 16 MiB, 2 writers, at least 10^6 writes and 2 s (at most 120 s: a synchronous backend on a busy
     * 2-CPU machine needs about 40 s), a quiescent check every 20 ms, one write in 4096 a discard.
     */
    public static OracleConfig defaults() {
        return new OracleConfig(16L << 20, 2, 1_000_000, Duration.ofSeconds(2), Duration.ofSeconds(120),
                Duration.ofMillis(20), 42, 4096);
    }

    /** Runs for exactly {@code seconds} seconds, however many writes that makes (what `pagemark verify --seconds` does). */
    public OracleConfig forSeconds(long seconds) {
        Duration d = Duration.ofSeconds(seconds);
        return new OracleConfig(arenaBytes, writers, 0, d, d, quiescentEvery, seed, discardOneIn);
    }

    public OracleConfig withArenaBytes(long bytes) {
        return new OracleConfig(bytes, writers, minWrites, minDuration, maxDuration, quiescentEvery, seed, discardOneIn);
    }

    public OracleConfig withWriters(int count) {
        return new OracleConfig(arenaBytes, count, minWrites, minDuration, maxDuration, quiescentEvery, seed, discardOneIn);
    }

    public OracleConfig withMinWrites(long count, Duration atLeast, Duration atMost) {
        return new OracleConfig(arenaBytes, writers, count, atLeast, atMost, quiescentEvery, seed, discardOneIn);
    }

    public OracleConfig withDiscardOneIn(long n) {
        return new OracleConfig(arenaBytes, writers, minWrites, minDuration, maxDuration, quiescentEvery, seed, n);
    }

    public OracleConfig withSeed(long newSeed) {
        return new OracleConfig(arenaBytes, writers, minWrites, minDuration, maxDuration, quiescentEvery, newSeed, discardOneIn);
    }
}
