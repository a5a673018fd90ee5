package io.pagemark.agent;

import io.pagemark.Backend;
import io.pagemark.TrackedArena;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A paused heap is disarmed once its delay has passed, never earlier, and never after a cancel. */
class DisarmerTest {
    private static final long DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    @Test
    void aScheduledDisarmRunsAfterTheDelayWhetherTheScanWasAnnouncedOrNot() throws InterruptedException {
        Disarmer disarmer = new Disarmer(DELAY_NANOS);
        for (boolean announced : new boolean[] {false, true, false}) {
            try (TrackedArena arena = armed()) {
                if (announced) disarmer.expectScan();
                long start = System.nanoTime();
                disarmer.schedule(arena);
                assertTrue(arena.isArmed(), "disarmed at once");
                long end = start + TimeUnit.SECONDS.toNanos(30);
                while (arena.isArmed() && System.nanoTime() < end) Thread.sleep(1);
                long took = System.nanoTime() - start;
                assertFalse(arena.isArmed(), "not disarmed within 30 s (announced: " + announced + ")");
                assertTrue(took >= DELAY_NANOS, "disarmed " + took / 1000 + " us after the scan, before the delay");
            }
        }
    }

    @Test
    void aCancelBeforeTheDelayKeepsTheArenaArmedAndAnAwaitAfterItReturnsAtOnce() throws InterruptedException {
        Disarmer disarmer = new Disarmer(DELAY_NANOS);
        try (TrackedArena arena = armed(); TrackedArena later = armed()) {
            Disarmer.Pause pause = disarmer.schedule(arena);
            assertNull(pause.cancelOrAwait());
            Disarmer.Pause next = disarmer.schedule(later);   // queued behind the cancelled one
            while (later.isArmed()) Thread.sleep(1);
            assertTrue(arena.isArmed(), "the cancelled pause disarmed its arena");
            assertNull(next.cancelOrAwait(), "the disarm that ran failed");
            assertFalse(later.isArmed());
        }
    }

    @Test
    void aDisarmThatFailedIsReportedToTheOneWhoWaits() throws InterruptedException {
        Disarmer disarmer = new Disarmer(DELAY_NANOS);
        TrackedArena arena = armed();
        Disarmer.Pause pause = disarmer.schedule(arena);
        arena.close();
        Thread.sleep(TimeUnit.NANOSECONDS.toMillis(3 * DELAY_NANOS));
        RuntimeException failure = pause.cancelOrAwait();
        assertInstanceOf(IllegalStateException.class, failure, "the disarm of a closed arena");
    }

    /** Whether it cancelled or waited, nothing disarms after the return; an interrupt neither ends the wait nor is lost. */
    @Test
    void afterCancelOrAwaitNoDisarmFollowsAndAnInterruptIsKept() throws InterruptedException {
        Disarmer disarmer = new Disarmer(0);
        for (int i = 0; i < 50; i++) {
            try (TrackedArena arena = armed()) {
                Disarmer.Pause pause = disarmer.schedule(arena);
                if (i % 2 == 0) LockSupport.parkNanos(20_000L * i);   // some cancel, some wait for a disarm under way or done
                Thread.currentThread().interrupt();
                assertNull(pause.cancelOrAwait());
                assertTrue(Thread.interrupted(), "the interrupt was swallowed");
                boolean armedThen = arena.isArmed();
                Thread.sleep(20);
                assertEquals(armedThen, arena.isArmed(), "a disarm ran after cancelOrAwait returned");
            }
        }
    }

    /** An armed arena on card-table (usable everywhere): disarm() is all the disarmer calls. */
    private static TrackedArena armed() {
        TrackedArena arena = TrackedArena.builder().size(16 * 4096).backend(Backend.CARD_TABLE).open();
        arena.arm();
        return arena;
    }
}
