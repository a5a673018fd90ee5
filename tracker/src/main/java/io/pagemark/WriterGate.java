package io.pagemark;

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
 */
public final class WriterGate implements WriterPause {
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

    /** An open gate. */
    public WriterGate() {}

    /** Waits while the gate is stopped, then lets this thread write until its matching {@link #exit()}. */
    public void enter() {
        lock.readLock().lock();
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
