package io.pagemark.testing;

import io.pagemark.TrackedArena;
import io.pagemark.WriterGate;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Two writer threads that overwrite random pages of an arena whole (each page store a new version:
 * a copy of a page taken at another moment differs from it) while {@link #go() released}, 16 pages
 * at a time inside a {@link WriterGate}, so that {@link #hold()} stops them at a known point: the
 * versioned pattern the cut and consistent-checkpoint tests compare instants with. They store to the
 * arena's memory directly, so only a hardware backend sees their writes.
 */
public final class OverwritingWriters implements AutoCloseable {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;

    private final WriterGate gate;
    private final AtomicBoolean go = new AtomicBoolean();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicLong pagesWritten = new AtomicLong();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final List<Thread> threads = new ArrayList<>();

    /** Starts the writers on {@code arena}, held; {@code seed} chooses their pages. */
    public OverwritingWriters(TrackedArena arena, WriterGate gate, long seed) {
        this.gate = gate;
        MemorySegment memory = arena.segment();
        long pageSize = arena.pageSize();
        long pages = arena.pageCount();
        for (int w = 0; w < 2; w++) {
            SplittableRandom random = new SplittableRandom(seed * 31 + w);
            long writer = w;
            threads.add(Thread.ofPlatform().name("overwriting-writer-" + w).start(() -> {
                try {
                    long version = writer << 56;
                    while (!stop.get()) {
                        if (!go.get()) {
                            Thread.onSpinWait();
                            continue;
                        }
                        gate.enter();
                        try {
                            // Checked again inside the gate: a writer that saw go before a hold() must not write after it.
                            if (!go.get()) continue;
                            for (int i = 0; i < 16; i++) {
                                long offset = random.nextLong(pages) * pageSize;
                                version++;
                                for (long at = 0; at < pageSize; at += 512) memory.set(LONG, offset + at, version ^ at);
                                pagesWritten.incrementAndGet();
                            }
                        } finally {
                            gate.exit();
                        }
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            }));
        }
    }

    /** Lets the writers write. */
    public void go() {
        go.set(true);
    }

    /** Holds the writers: returns once none is inside the gate (none writes until {@link #go()}); fails if one failed. */
    public void hold() {
        go.set(false);
        gate.stopWriters();
        gate.resumeWriters();
        assertNull(failure.get(), () -> "a writer failed: " + failure.get());
    }

    /** Waits (up to 10 s) until the writers have written {@code pages} more pages. */
    public void awaitPages(long pages) throws InterruptedException {
        long target = pagesWritten.get() + pages, deadline = System.nanoTime() + 10_000_000_000L;
        while (pagesWritten.get() < target && failure.get() == null && System.nanoTime() < deadline) Thread.sleep(1);
    }

    /** Stops and joins the writers. */
    @Override
    public void close() throws InterruptedException {
        stop.set(true);
        for (Thread t : threads) t.join();
    }
}
