package io.pagemark;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A ready-made {@link WriterPause}: writer threads {@link #enter()} the gate before they write and
 * {@link #exit()} after; {@link #stopWriters()} closes the gate and waits until every writer inside
 * has left; {@link #resumeWriters()} opens it again.
 *
 * <pre>{@code
 * WriterGate gate = new WriterGate();
 * TrackedArena arena = TrackedArena.builder().size(bytes).backend("soft-dirty").writerPause(gate).open();
 * gate.enter();
 * try {
 *     arena.putLong(0, 1L);           // any number of writes: a batch costs one enter/exit
 *     arena.putLong(4096, 2L);
 * } finally {
 *     gate.exit();
 * }
 * gate.run(() -> arena.putInt(8192, 3));   // the same for one batch
 * }</pre>
 *
 * <p>Any number of writers may be inside at once; entering is reentrant (a writer already inside may
 * enter again). Entering costs an atomic update of one shared word, so enter around a batch of writes
 * rather than every store; the collector waits for the batch in progress to finish. While the gate is
 * stopped, new writers wait in {@link #enter()}; a stop that is waiting for writers to leave keeps new
 * writers out, so a busy set of writers cannot starve the collector.
 *
 * <p>Built on a {@link ReentrantReadWriteLock}: writers hold its read lock, the collector its write
 * lock. The lock's happens-before edges are what makes the writers' stores visible to the collector.
 *
 * <p><b>Throttling.</b> {@link #throttle(double)} slows the writers down without stopping them (what
 * live migration's auto-converge does when writers dirty pages faster than the link carries them):
 * at a throttle of {@code f}, a writer thread that has been entering the gate for {@code (1 - f)} of a
 * {@value #THROTTLE_PERIOD_MILLIS} ms period waits out the rest of it in {@link #enter()}, outside the
 * gate (so a throttled writer never holds up {@link #stopWriters()}). A writer that was idle for a
 * whole period starts a fresh one. Unthrottled, entering costs one more volatile read.
 */
public final class WriterGate implements WriterPause {
    /** The period of the throttle's duty cycle. */
    public static final long THROTTLE_PERIOD_MILLIS = 10;
    private static final long PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(THROTTLE_PERIOD_MILLIS);

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    /** The throttle in parts per million of each period (0: none). Written by the throttling thread, read by each writer on entry. */
    private volatile int throttlePpm;
    /** Per writer thread: when its current throttle period began (0: none yet). */
    private final ThreadLocal<long[]> periodStart = ThreadLocal.withInitial(() -> new long[1]);

    /** An open gate. */
    public WriterGate() {}

    /** Waits while the gate is stopped, then lets this thread write until its matching {@link #exit()}. */
    public void enter() {
        int ppm = throttlePpm;
        if (ppm != 0 && lock.getReadHoldCount() == 0) waitOutThrottle(ppm);
        lock.readLock().lock();
    }

    /** A throttled writer, outside the gate: waits out the rest of its period once it has run its share of it. */
    private void waitOutThrottle(int ppm) {
        long[] start = periodStart.get();
        long now = System.nanoTime();
        long elapsed = now - start[0];
        if (start[0] == 0 || elapsed >= PERIOD_NANOS) {
            start[0] = now;
            return;
        }
        long share = PERIOD_NANOS / 1_000_000 * (1_000_000 - ppm);
        if (elapsed < share) return;
        long wakeAt = start[0] + PERIOD_NANOS;
        for (long left = wakeAt - now; left > 0; left = wakeAt - System.nanoTime()) LockSupport.parkNanos(left);
        start[0] = System.nanoTime();
    }

    /**
     * Slows every writer down to {@code 1 - fraction} of each period (0: no throttle; at most 0.99).
     * Takes effect at each writer's next {@link #enter()}.
     *
     * @throws IllegalArgumentException if {@code fraction} is not within 0..0.99
     */
    public void throttle(double fraction) {
        if (!(fraction >= 0 && fraction <= 0.99)) {
            throw new IllegalArgumentException("a throttle is a fraction of the writers' time from 0 (none) to 0.99, got " + fraction);
        }
        throttlePpm = (int) Math.round(fraction * 1_000_000);
    }

    /** The throttle in force (0: none). */
    public double throttle() {
        return throttlePpm / 1e6;
    }

    /**
     * Leaves the gate (one per {@link #enter()}).
     *
     * @throws IllegalMonitorStateException if this thread is not inside
     */
    public void exit() {
        lock.readLock().unlock();
    }

    /** Runs {@code writes} inside the gate. */
    public void run(Runnable writes) {
        enter();
        try {
            writes.run();
        } finally {
            exit();
        }
    }

    /**
     * Closes the gate and waits until no writer is inside. The thread that stopped the gate may stop it
     * again (nested pairs): a check that stops the writers and then calls {@link TrackedArena#collect()}
     * on an arena whose writer pause is this gate.
     *
     * @throws IllegalStateException if the calling thread is itself inside the gate (it would wait for itself forever)
     */
    @Override
    public void stopWriters() {
        if (lock.getReadHoldCount() > 0) {
            throw new IllegalStateException("stopWriters() called by a thread inside the WriterGate: it would wait for itself;"
                    + " exit() the gate before collecting");
        }
        lock.writeLock().lock();
    }

    /**
     * Opens the gate again.
     *
     * @throws IllegalMonitorStateException if this thread did not stop it
     */
    @Override
    public void resumeWriters() {
        lock.writeLock().unlock();
    }

    /** True while stopped (for diagnostics; the answer may be stale by the time it is read). */
    public boolean isStopped() {
        return lock.isWriteLocked();
    }
}
