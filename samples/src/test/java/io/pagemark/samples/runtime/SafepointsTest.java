package io.pagemark.samples.runtime;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The handshake the preclean relies on (its card mark is a plain store in no order with the reference
 * store): it returns only once every running mutator has polled since it was asked, or is parked.
 */
class SafepointsTest {

    @Test
    void aHandshakeWaitsForEveryRunningMutatorToPoll() throws Exception {
        Safepoints safepoints = new Safepoints(2);
        safepoints.register(0);
        safepoints.register(1);
        CompletableFuture<Void> handshake = handshakeAsync(safepoints);
        assertNotDoneWithin(handshake, 100, "nobody polled");
        safepoints.poll(0);
        assertNotDoneWithin(handshake, 100, "mutator 1 did not poll");
        safepoints.poll(1);
        handshake.get(10, TimeUnit.SECONDS);
    }

    @Test
    void aPollBeforeTheHandshakeDoesNotCountForIt() throws Exception {
        Safepoints safepoints = new Safepoints(1);
        safepoints.register(0);
        safepoints.poll(0);
        CompletableFuture<Void> first = handshakeAsync(safepoints);
        assertNotDoneWithin(first, 100, "the mutator polled only before it was asked");
        safepoints.poll(0);
        first.get(10, TimeUnit.SECONDS);
        CompletableFuture<Void> second = handshakeAsync(safepoints);
        assertNotDoneWithin(second, 100, "the poll acknowledged the first handshake, not the second");
        safepoints.poll(0);
        second.get(10, TimeUnit.SECONDS);
    }

    @Test
    void aMutatorWaitingForMemoryOrGoneDoesNotHoldAHandshake() throws Exception {
        Safepoints safepoints = new Safepoints(2);
        safepoints.register(0);
        safepoints.register(1);
        safepoints.deregister(1);
        CompletableFuture<Void> waiting = async(() -> safepoints.awaitCycleAfter(0, safepoints.cyclesCompleted(), () -> false));
        handshakeAsync(safepoints).get(10, TimeUnit.SECONDS);
        safepoints.cycleCompleted();
        waiting.get(10, TimeUnit.SECONDS);
    }

    private static CompletableFuture<Void> handshakeAsync(Safepoints safepoints) {
        return async(safepoints::handshake);
    }

    interface Blocking {
        void run() throws InterruptedException;
    }

    /** On a thread of its own (the common pool may have one thread on a 2-CPU machine, and these block). */
    private static CompletableFuture<Void> async(Blocking action) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread.ofPlatform().daemon().start(() -> {
            try {
                action.run();
                done.complete(null);
            } catch (Throwable t) {
                done.completeExceptionally(t);
            }
        });
        return done;
    }

    private static void assertNotDoneWithin(CompletableFuture<Void> handshake, long millis, String why) {
        assertThrows(TimeoutException.class, () -> handshake.get(millis, TimeUnit.MILLISECONDS), "the handshake returned although " + why);
        assertFalse(handshake.isDone());
    }
}
