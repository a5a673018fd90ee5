package io.pagemark;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

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
}
