package io.pagemark.bench;

import io.pagemark.TrackedArena;

/**
 * Runs a benchmark's measured path until the JIT has compiled it, before JMH's own warmup. Where
 * each invocation needs a slow untimed setup (a uffd-sync first write waits for the handler thread
 * on the other CPU, so dirtying thousands of pages takes a third of a second), a short iteration
 * holds one or two invocations, and JMH's warmup alone would time the collect or the cut while it
 * still runs interpreted. The C reference it is compared with warms its own path the same way (one
 * untimed sample); a collector calling collect every few milliseconds runs it compiled.
 * <p>
 * Most rounds are small (a few pages written, then the path), so warming costs a second or two, plus a few rounds of
 * an invocation's full size.
 */
final class HotPath {
    /** Rounds to run: enough that the path's methods and loops reach C2 (thousands of calls). */
    static final int ROUNDS = 2_000;
    /** Stop earlier if the rounds take longer than this (large arenas, slow backends). */
    static final long MAX_NANOS = 3_000_000_000L;
    /** Pages a round writes before its path. */
    static final int PAGES_PER_ROUND = 4;
    /**
     * Rounds that then write every page, as one invocation does: after the small rounds alone, a fork's first
     * full-size invocations still ran several times slower than its later ones (docs/performance.md).
     */
    static final int FULL_ROUNDS = 3;

    private HotPath() {}

    /**
     * Writes {@link #PAGES_PER_ROUND} of {@code offsets} into {@code arena} as the benchmarks' invocation setup
     * does (cycling through them), then runs {@code path}, for {@link #ROUNDS} rounds or {@link #MAX_NANOS},
     * whichever ends first; then {@link #FULL_ROUNDS} rounds writing all of {@code offsets} (at least one; the others
     * within another {@link #MAX_NANOS}).
     */
    static void warm(TrackedArena arena, long[] offsets, Runnable path) {
        if (offsets.length == 0) throw new IllegalArgumentException("no pages to write: nothing would reach the path's loops");
        long deadline = System.nanoTime() + MAX_NANOS;
        int next = 0;
        for (int round = 0; round < ROUNDS && System.nanoTime() - deadline < 0; round++) {
            for (int i = 0; i < PAGES_PER_ROUND; i++) {
                arena.putLong(offsets[next], offsets[next]);
                next = next + 1 == offsets.length ? 0 : next + 1;
            }
            path.run();
        }
        long fullDeadline = System.nanoTime() + MAX_NANOS;
        for (int round = 0; round < FULL_ROUNDS && (round == 0 || System.nanoTime() - fullDeadline < 0); round++) {
            for (long offset : offsets) arena.putLong(offset, offset);
            path.run();
        }
    }
}
