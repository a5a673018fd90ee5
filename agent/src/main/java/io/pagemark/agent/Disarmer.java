package io.pagemark.agent;

import io.pagemark.TrackedArena;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Disarms paused heaps on its own thread, a fixed delay after their card scans, so that the
 * collector's pause holds neither the unprotect (its TLB flushes) nor the wake-up of a thread: a
 * wake-up in the pause is a system call, and the woken thread may be placed on the collector's CPU.
 * <p>
 * A card scan only queues its {@link Pause} ({@link #schedule}). The thread finds it without being
 * woken when it was told a scan is coming ({@link #expectScan}, from the concurrent preclean, outside
 * any pause): it then looks every {@link #POLL_NANOS} until it finds it, for at most {@link #EXPECT_NANOS}.
 * A scan that was not announced, or came later, wakes the thread itself.
 */
final class Disarmer {
    /** How often the thread looks for a scan it was told to expect. */
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(2);
    /** How long an announced scan is waited for by looking, before the thread sleeps until woken. */
    private static final long EXPECT_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final long delayNanos;
    /** Pauses in the order of their deadlines (one delay for all, so the order they were queued in). */
    private final ConcurrentLinkedQueue<Pause> queued = new ConcurrentLinkedQueue<>();
    /** Until when the thread looks for a queued pause by itself (System.nanoTime); written by {@link #expectScan}. */
    private volatile long lookingUntil;
    /**
     * True while the thread sleeps until woken. It sets this and then reads {@link #queued}; a scan
     * queues and then reads this. All four are volatile (sequentially consistent) accesses, so at least
     * one side sees the other's write: a pause is never queued unseen by a sleeping thread.
     */
    private volatile boolean sleeping;
    private Thread thread;

    Disarmer(long delayNanos) {
        this.delayNanos = delayNanos;
    }

    /** A scan is coming (a preclean, mutators running): look for its pause rather than wait to be woken. */
    void expectScan() {
        lookingUntil = System.nanoTime() + EXPECT_NANOS;
        if (sleeping) LockSupport.unpark(thread());
    }

    /** Disarms {@code arena} once the delay has passed; the caller may cancel or wait for it. */
    Pause schedule(TrackedArena arena) {
        Pause pause = new Pause(arena, System.nanoTime() + delayNanos);
        Thread t = thread();
        queued.add(pause);
        if (sleeping) LockSupport.unpark(t);
        return pause;
    }

    private synchronized Thread thread() {
        if (thread == null) {
            thread = new Thread(this::run, "pagemark-agent-disarm");
            thread.setDaemon(true);
            thread.start();
        }
        return thread;
    }

    private void run() {
        while (true) {
            Pause next = queued.peek();
            long now = System.nanoTime();
            if (next == null) {
                if (now - lookingUntil < 0) {
                    LockSupport.parkNanos(POLL_NANOS);
                } else {
                    sleeping = true;
                    if (queued.isEmpty()) LockSupport.park();
                    sleeping = false;
                }
            } else if (next.disarmAt - now > 0) {
                // The scan that was announced came: from now on sleep until the next one is announced or
                // wakes this thread. (A racing announcement lost here only costs that scan a wake-up.)
                lookingUntil = now;
                LockSupport.parkNanos(next.disarmAt - now);
            } else {
                queued.poll();
                next.run();
            }
        }
    }

    /** One heap's pause between a card scan and the next card clear: its disarm, queued, running or done. */
    static final class Pause {
        private static final int QUEUED = 0, RUNNING = 1, DONE = 2, CANCELLED = 3;
        private final TrackedArena arena;
        private final long disarmAt;
        private final AtomicInteger state = new AtomicInteger(QUEUED);
        /** The thread in {@link #cancelOrAwait()}, unparked when the disarm is done. */
        private volatile Thread waiter;
        /** Written before {@link #state} turns DONE, read after it was seen DONE. */
        private RuntimeException failure;

        private Pause(TrackedArena arena, long disarmAt) {
            this.arena = arena;
            this.disarmAt = disarmAt;
        }

        private void run() {
            if (!state.compareAndSet(QUEUED, RUNNING)) return;   // cancelled
            try {
                arena.disarm();
            } catch (RuntimeException e) {
                failure = e;
            }
            state.set(DONE);
            Thread w = waiter;
            if (w != null) LockSupport.unpark(w);
        }

        /**
         * Cancels the disarm if it has not started; otherwise waits until it is done (interrupts are
         * kept for later: arming before the disarm ends would lose writes). Returns what the disarm
         * threw, or null. After this no disarm of this pause runs.
         */
        RuntimeException cancelOrAwait() {
            if (state.compareAndSet(QUEUED, CANCELLED)) return null;
            // waiter is written before state is read again, and the disarm thread writes state before it
            // reads waiter: one of the two sees the other, so the unpark cannot be missed.
            waiter = Thread.currentThread();
            boolean interrupted = false;
            while (state.get() == RUNNING) {
                LockSupport.park(this);
                if (Thread.interrupted()) interrupted = true;
            }
            if (interrupted) Thread.currentThread().interrupt();
            return failure;
        }

        /** Cancels the disarm if it has not started (a closed arena: one running fails on it, harmlessly). */
        void cancel() {
            state.compareAndSet(QUEUED, CANCELLED);
        }
    }
}
