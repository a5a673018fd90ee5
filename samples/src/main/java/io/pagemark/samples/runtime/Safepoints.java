package io.pagemark.samples.runtime;

/**
 * Stop-the-world for the mutators: the collector requests a safepoint and waits until every running
 * mutator has parked; mutators poll between operations (never while holding a reference in a local).
 * And a handshake, which stops nobody: the collector waits until every mutator has passed a poll
 * since it asked (or is parked), as HotSpot's handshakes do.
 *
 * <p>Every transition goes through one monitor, so everything a mutator wrote before parking
 * happens-before what the collector does while the world is stopped, and everything the collector
 * wrote happens-before the mutators' next operation. Likewise a mutator acknowledges a handshake
 * under the monitor, so every operation it finished before that poll happens-before what the
 * collector does after {@link #handshake()} returns, and what the collector did before asking
 * happens-before the mutator's next operation.
 */
final class Safepoints {
    private final Object lock = new Object();
    /** Read on every poll without the lock; written under it. */
    private volatile boolean requested;
    /** The number of the latest handshake: read on every poll without the lock; written under it. */
    private volatile long handshake;
    private int running;
    private int parked;
    /**
     * Per mutator, under the lock: the last handshake it acknowledged (written by the mutator
     * itself, so it may read its own entry without the lock), whether it is parked now, whether it runs.
     */
    private final long[] acknowledged;
    private final boolean[] parkedNow;
    private final boolean[] registered;

    Safepoints(int mutators) {
        acknowledged = new long[mutators];
        parkedNow = new boolean[mutators];
        registered = new boolean[mutators];
    }
    /** Counts completed collection cycles; mutators that ran out of memory wait for it to move. */
    private long cyclesCompleted;

    void register(int mutator) {
        synchronized (lock) {
            running++;
            registered[mutator] = true;
        }
    }

    void deregister(int mutator) {
        synchronized (lock) {
            running--;
            registered[mutator] = false;
            lock.notifyAll();
        }
    }

    /** Mutator {@code mutator}'s poll: parks if a safepoint is requested, acknowledges a handshake asked for since its last poll. */
    void poll(int mutator) throws InterruptedException {
        if (requested) {
            synchronized (lock) {
                park(mutator);
                try {
                    while (requested) lock.wait();
                } finally {
                    unpark(mutator);
                }
            }
        }
        if (handshake != acknowledged[mutator]) {
            synchronized (lock) {
                acknowledged[mutator] = handshake;
                lock.notifyAll();
            }
        }
    }

    /**
     * A handshake, collector thread: returns once every mutator has acknowledged it at a poll or is
     * parked (at a safepoint, or waiting for memory). The mutators keep running: each stops only
     * for the few instructions of its acknowledgement. Everything each mutator did in the
     * operations it finished before then happens-before the return.
     */
    void handshake() throws InterruptedException {
        synchronized (lock) {
            long number = handshake + 1;
            handshake = number;
            while (!acknowledgedByAll(number)) lock.wait();
        }
    }

    private boolean acknowledgedByAll(long number) {
        for (int m = 0; m < registered.length; m++) {
            if (registered[m] && !parkedNow[m] && acknowledged[m] != number) return false;
        }
        return true;
    }

    private void park(int mutator) {
        parked++;
        parkedNow[mutator] = true;
        lock.notifyAll();
    }

    private void unpark(int mutator) {
        parked--;
        parkedNow[mutator] = false;
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
     * Mutator {@code mutator}, without memory, waits, parked (so safepoints proceed), until a cycle after {@code seen}
     * completes or {@code stopping} turns true.
     */
    void awaitCycleAfter(int mutator, long seen, java.util.function.BooleanSupplier stopping) throws InterruptedException {
        synchronized (lock) {
            park(mutator);
            try {
                while ((cyclesCompleted <= seen || requested) && !stopping.getAsBoolean()) lock.wait(10);
            } finally {
                unpark(mutator);
            }
        }
    }
}
