package io.pagemark;

import io.pagemark.backend.PageSet;

import java.util.Arrays;
import java.util.function.Supplier;

/**
 * The arena's kernel writes made through its API ({@link KernelWrite} scopes, {@link TrackedArena#read},
 * {@link TrackedArena#written}): how many are in flight, the page ranges they reported after completing,
 * and the exclusive sections (a collect that waits, arm, the start of copy-before-write) that run only
 * while none is in flight (docs/pinned-writes.md).
 * <p>
 * One monitor guards everything. It is never held while waiting for anything but itself, and the arena
 * never takes it while holding the arena's lock and then waits on it: an exclusive section is entered
 * before the arena's lock, and a scope's begin and end never take the arena's lock, so a scope can end
 * while a collect waits for it.
 */
final class KernelWrites {
    private final long pageSize;
    /** Guards every field below; its notifyAll wakes both waiting scopes and waiting exclusive sections. */
    private final Object monitor = new Object();
    private int inFlight;
    /** Exclusive sections waiting for the scopes in flight to end: new scopes wait behind them (no starvation). */
    private int exclusiveWaiting;
    private boolean exclusive;
    /** Reported page ranges not yet collected: [first, end) pairs. */
    private long[] reported = new long[16];
    private int reportedLength;
    /** Test-only, the teeth of the pinned-write tests: scopes end without reporting their range. */
    volatile boolean skipReportsForTest;

    KernelWrites(long pageSize) {
        this.pageSize = pageSize;
    }

    /** A scope begins: waits while an exclusive section runs or waits, then counts the scope in flight. */
    void begin() {
        boolean interrupted = false;
        synchronized (monitor) {
            while (exclusive || exclusiveWaiting > 0) {
                try {
                    monitor.wait();
                } catch (InterruptedException e) {
                    interrupted = true; // the wait is one collect or arm long: finish it, keep the interrupt
                }
            }
            inFlight++;
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    /**
     * A scope ends: its byte range [offset, offset + length) joins the reported ranges, then it stops
     * counting as in flight. Both under the monitor, so an exclusive section that sees no scope in
     * flight also sees this report (the collect inside it takes it).
     */
    void end(long offset, long length) {
        synchronized (monitor) {
            if (!skipReportsForTest) addLocked(offset, length);
            if (--inFlight == 0) monitor.notifyAll();
        }
    }

    /** Reports [offset, offset + length) as written (a write that completed, outside any scope). */
    void report(long offset, long length) {
        synchronized (monitor) {
            addLocked(offset, length);
        }
    }

    private void addLocked(long offset, long length) {
        if (length <= 0) return;
        if (reportedLength == reported.length) reported = Arrays.copyOf(reported, reported.length * 2);
        reported[reportedLength++] = offset / pageSize;
        reported[reportedLength++] = (offset + length + pageSize - 1) / pageSize;
    }

    /** Moves the reported ranges into {@code out} (the collect that takes them reports them). */
    void drainInto(PageSet out) {
        long[] ranges;
        int length;
        synchronized (monitor) {
            ranges = reported;
            length = reportedLength;
            reported = new long[16];
            reportedLength = 0;
        }
        for (int i = 0; i < length; i += 2) out.addRange(ranges[i], ranges[i + 1] - ranges[i]);
    }

    /** Forgets the reported ranges (arm and disarm forget what was not collected). */
    void forget() {
        synchronized (monitor) {
            reportedLength = 0;
        }
    }

    /** How many scopes are in flight now (for describe and tests). */
    int inFlight() {
        synchronized (monitor) {
            return inFlight;
        }
    }

    /**
     * Runs {@code section} while no scope is in flight: waits for those in flight to end, and new ones
     * wait until it returns. Sections run one at a time. The wait is as long as the longest I/O in flight.
     */
    <T> T exclusive(Supplier<T> section) {
        boolean interrupted = false;
        synchronized (monitor) {
            exclusiveWaiting++;
            try {
                while (exclusive || inFlight > 0) {
                    try {
                        monitor.wait();
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            } finally {
                exclusiveWaiting--;
            }
            exclusive = true;
        }
        try {
            return section.get();
        } finally {
            synchronized (monitor) {
                exclusive = false;
                monitor.notifyAll();
            }
            if (interrupted) Thread.currentThread().interrupt();
        }
    }
}
