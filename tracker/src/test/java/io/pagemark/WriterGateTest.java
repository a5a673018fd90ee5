package io.pagemark;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WriterGateTest {
    /** Long enough that a thread which could proceed would have; the positive paths wait up to 10 s. */
    private static final long STAYS_BLOCKED_MS = 200;

    @Test
    void stopWaitsForTheWritersInsideKeepsNewOnesOutAndResumeLetsThemIn() throws Exception {
        WriterGate gate = new WriterGate();
        CountDownLatch inside = new CountDownLatch(1), leave = new CountDownLatch(1);
        CompletableFuture<Void> first = CompletableFuture.runAsync(() -> gate.run(() -> {
            inside.countDown();
            await(leave);
        }));
        assertTrue(inside.await(10, TimeUnit.SECONDS));

        CountDownLatch stopped = new CountDownLatch(1), resume = new CountDownLatch(1);
        CompletableFuture<Void> collector = CompletableFuture.runAsync(() -> {
            gate.stopWriters();
            stopped.countDown();
            await(resume);
            gate.resumeWriters();
        });
        assertFalse(stopped.await(STAYS_BLOCKED_MS, TimeUnit.MILLISECONDS), "stopWriters() returned while a writer was inside");

        // The stop is now waiting for the first writer: a new writer must not overtake it (no collector starvation).
        CompletableFuture<Void> second = CompletableFuture.runAsync(() -> gate.run(() -> {}));
        assertStaysBlocked(second, "a new writer entered while stopWriters() was waiting");
        leave.countDown();
        first.get(10, TimeUnit.SECONDS);
        assertTrue(stopped.await(10, TimeUnit.SECONDS), "stopWriters() did not return after the last writer left");
        assertTrue(gate.isStopped());
        assertStaysBlocked(second, "a writer entered a stopped gate");

        resume.countDown();
        collector.get(10, TimeUnit.SECONDS);
        second.get(10, TimeUnit.SECONDS);
        assertFalse(gate.isStopped());
    }

    @Test
    void onlyTheStoppingThreadCanResume() {
        WriterGate gate = new WriterGate();
        gate.stopWriters();
        try {
            CompletionException e = assertThrows(CompletionException.class,
                    () -> CompletableFuture.runAsync(gate::resumeWriters).join());
            assertInstanceOf(IllegalMonitorStateException.class, e.getCause());
            assertTrue(gate.isStopped(), "a resume from another thread opened the gate");
        } finally {
            gate.resumeWriters();
        }
    }

    @Test
    void enteringIsReentrant() {
        WriterGate gate = new WriterGate();
        gate.enter();
        gate.run(() -> {});
        gate.exit();
        gate.stopWriters();
        gate.resumeWriters();
    }

    @Test
    void stoppingFromInsideTheGateFailsInsteadOfDeadlocking() {
        WriterGate gate = new WriterGate();
        gate.enter();
        try {
            IllegalStateException e = assertThrows(IllegalStateException.class, gate::stopWriters);
            assertTrue(e.getMessage().contains("inside the WriterGate"), e.getMessage());
        } finally {
            gate.exit();
        }
    }

    @Test
    void exitWithoutEnterIsAnError() {
        assertThrows(IllegalMonitorStateException.class, new WriterGate()::exit);
    }

    @Test
    void softDirtyWithoutAWriterPauseIsRefusedWithTheReason() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> TrackedArena.builder().size(1 << 20).backend(Backend.SOFT_DIRTY).open());
        assertTrue(e.getMessage().startsWith("backend soft-dirty needs writerPause(...)"), e.getMessage());
        assertTrue(Backend.SOFT_DIRTY.needsWriterPause());
        for (Backend b : Backend.values()) assertEquals(b == Backend.SOFT_DIRTY, b.needsWriterPause(), b.id());
    }

    private static void assertStaysBlocked(CompletableFuture<Void> f, String message) throws Exception {
        try {
            f.get(STAYS_BLOCKED_MS, TimeUnit.MILLISECONDS);
            throw new AssertionError(message);
        } catch (TimeoutException expected) {
            // still blocked, as it should be
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(10, TimeUnit.SECONDS)) throw new AssertionError("timed out");
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * A writer that is always busy, throttled to half its time, runs (uses the CPU) at most about half
     * of the run, waiting in enter(); unthrottled it waits hardly at all. (On a loaded machine the
     * writer is also descheduled: its CPU time is then lower still, and it waits less, having run less.)
     */
    @Test
    void aThrottledWriterWaitsOutItsShareOfEachPeriodOutsideTheGate() {
        WriterGate gate = new WriterGate();
        assertEquals(0, gate.throttle());
        long unthrottled = waitedInEnter(gate, 300)[0];
        gate.throttle(0.5);
        assertEquals(0.5, gate.throttle());
        long[] throttled = waitedInEnter(gate, 300);
        assertTrue(throttled[1] <= TimeUnit.MILLISECONDS.toNanos(300) * 0.65,
                "throttled at 0.5, the writer ran " + throttled[1] / 1_000_000 + " ms of CPU in 300 ms");
        assertTrue(anEntryPastItsShareWaitsForTheNextPeriod(gate), "throttled at 0.5, an entry after the writer's share of its period did not wait for the period's end");
        assertTrue(unthrottled < TimeUnit.MILLISECONDS.toNanos(60), "unthrottled, the writer waited " + unthrottled / 1_000_000 + " ms of 300");
        // A throttled writer waits outside: a stop right after its entry (it is not inside) never waits for a period.
        gate.throttle(0.99);
        long start = System.nanoTime();
        gate.stopWriters();
        gate.resumeWriters();
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(1));
        gate.throttle(0);
        assertEquals(0, waitedInEnter(gate, 50)[0] / TimeUnit.MILLISECONDS.toNanos(30), "the throttle was lifted");
        assertThrows(IllegalArgumentException.class, () -> gate.throttle(1.0));
        assertThrows(IllegalArgumentException.class, () -> gate.throttle(-0.1));
        assertThrows(IllegalArgumentException.class, () -> gate.throttle(Double.NaN));
    }

    /** Nanoseconds this thread spent in enter(), and its CPU time, while entering, spinning 20 µs inside, and leaving, for {@code millis} ms. */
    /**
     * Deterministic where the time a writer waits over a run is not (a descheduled writer's period
     * runs out while it is off the CPU): a writer that enters, runs past its share of the period and
     * enters again inside the same period returns from that entry no earlier than the period's end.
     * Tried until one attempt stays on the CPU long enough to land inside the period.
     */
    private static boolean anEntryPastItsShareWaitsForTheNextPeriod(WriterGate gate) {
        long period = TimeUnit.MILLISECONDS.toNanos(WriterGate.THROTTLE_PERIOD_MILLIS);
        long share = (long) (period * (1 - gate.throttle()));
        for (int attempt = 0; attempt < 200; attempt++) {
            LockSupport.parkNanos(2 * period);   // idle for a whole period: the next entry starts a fresh one
            long periodStartedNoEarlier = System.nanoTime();
            gate.enter();
            gate.exit();
            long periodStartedNoLater = System.nanoTime();
            while (System.nanoTime() - periodStartedNoLater < share + period / 10) Thread.onSpinWait();
            long beforeSecondEntry = System.nanoTime();
            gate.enter();
            long returned = System.nanoTime();
            gate.exit();
            if (beforeSecondEntry - periodStartedNoEarlier >= period * 9 / 10) continue;   // descheduled: the period may have ended
            return returned - periodStartedNoEarlier >= period;
        }
        throw new AssertionError("200 attempts, each descheduled past its throttle period");
    }

    private static long[] waitedInEnter(WriterGate gate, long millis) {
        var threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long cpuBefore = threads.getCurrentThreadCpuTime();
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis), waited = 0;
        while (System.nanoTime() < end) {
            long before = System.nanoTime();
            gate.enter();
            long inside = System.nanoTime();
            waited += inside - before;
            try {
                while (System.nanoTime() - inside < 20_000) Thread.onSpinWait();
            } finally {
                gate.exit();
            }
        }
        return new long[] {waited, threads.getCurrentThreadCpuTime() - cpuBefore};
    }
}
