package io.pagemark.samples.runtime;

/**
 * Stop-the-world for the mutators: the collector requests a safepoint and waits until every running
 * mutator has parked; mutators poll between operations (never while holding a reference in a local).
 *
 * <p>Every transition goes through one monitor, so everything a mutator wrote before parking
 * happens-before what the collector does while the world is stopped, and everything the collector
 * wrote happens-before the mutators' next operation.
 */
final class Safepoints {
    private final Object lock = new Object();
    /** Read on every poll without the lock; written under it. */
    private volatile boolean requested;
    private int running;
    private int parked;
    /** Counts completed collection cycles; mutators that ran out of memory wait for it to move. */
    private long cyclesCompleted;

    void register() {
        synchronized (lock) {
            running++;
        }
    }

    void deregister() {
        synchronized (lock) {
            running--;
            lock.notifyAll();
        }
    }

    /** A mutator's poll: parks if a safepoint is requested. */
    void poll() throws InterruptedException {
        if (requested) {
            synchronized (lock) {
                parked++;
                lock.notifyAll();
                while (requested) lock.wait();
                parked--;
            }
        }
    }

    /** Stops every mutator; returns once all are parked. Collector thread. */
    void stopTheWorld() throws InterruptedException {
        synchronized (lock) {
            requested = true;
            while (parked < running) lock.wait();
        }
    }

    /** Lets the mutators run again. */
    void resume() {
        synchronized (lock) {
            requested = false;
            lock.notifyAll();
        }
    }

    /** The number of completed cycles (to wait for the next one with {@link #awaitCycleAfter}). */
    long cyclesCompleted() {
        synchronized (lock) {
            return cyclesCompleted;
        }
    }

    /** The collector announces the end of a cycle. */
    void cycleCompleted() {
        synchronized (lock) {
            cyclesCompleted++;
            lock.notifyAll();
        }
    }

    /**
     * A mutator without memory waits, parked (so safepoints proceed), until a cycle after {@code seen}
     * completes or {@code stopping} turns true.
     */
    void awaitCycleAfter(long seen, java.util.function.BooleanSupplier stopping) throws InterruptedException {
        synchronized (lock) {
            parked++;
            lock.notifyAll();
            try {
                while ((cyclesCompleted <= seen || requested) && !stopping.getAsBoolean()) lock.wait(10);
            } finally {
                parked--;
            }
        }
    }
}
