package io.pagemark;

import io.pagemark.linux.Libc;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Collects a uffd-sync arena again and again while one thread writes (and so faults after every
 * collect) and two others discard other pages of it with MADV_DONTNEED, a burst each per collect,
 * each discard an event that the handler thread must read before the kernel lets any unprotect
 * through. One burst per collect, not bursts without end: while discards follow each other the
 * kernel refuses every unprotect, and on a loaded machine a pause between endless bursts is not
 * enough for the writer's fault to get through (docs/discards.md). The handler
 * once kept every event it read until it got past the fault it was resolving; with discards arriving
 * all the time that unprotect met EAGAIN until the held events left no room to read the next one,
 * and the discarding threads, the handler and the collect all waited forever.
 *
 * <p>Run in a child JVM ({@code DiscardTest}), since the threads that hang are in the kernel. Prints
 * {@code round N} after each collect and exits 0, or prints what failed and exits 1:
 * {@code java -cp <test class path> io.pagemark.DiscardsWhileFaulting <rounds>}.
 */
final class DiscardsWhileFaulting {
    static final int PAGE = 4096;
    static final int PAGES = 256;
    /** The writer's pages; the discarding threads take the pages above them. */
    static final int WRITTEN = 128;
    /** Discards in a burst: more than the handler's room for held messages (uffd_sync.c, HELD_MESSAGES). */
    static final int BURST = 4096;

    private DiscardsWhileFaulting() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.out.println("usage: DiscardsWhileFaulting <rounds>");
            System.exit(2);
        }
        int rounds = Integer.parseInt(args[0]);
        AtomicBoolean done = new AtomicBoolean();
        AtomicInteger started = new AtomicInteger(-1); // the collect round under way: each discarder bursts once in it
        AtomicReference<Throwable> unexpected = new AtomicReference<>();
        try (TrackedArena arena = TrackedArena.builder().size((long) PAGES * PAGE).backend(Backend.UFFD_SYNC).bulkPages(1).open()) {
            arena.arm();
            List<Thread> threads = new ArrayList<>();
            threads.add(Thread.ofPlatform().name("writer").start(() -> guarded(unexpected, () -> {
                for (long i = 0; !done.get(); i++) arena.putLong((i % WRITTEN) * PAGE, i);
            })));
            for (int d = 0; d < 2; d++) {
                long page = WRITTEN + 16L * d;
                threads.add(Thread.ofPlatform().name("discarder-" + d).start(() -> guarded(unexpected, () -> {
                    for (int burst = 0; !done.get(); ) {
                        if (burst > started.get()) {
                            LockSupport.parkNanos(100_000);
                            continue;
                        }
                        for (int i = 0; i < BURST; i++) {
                            Libc.madvise(arena.segment().address() + page * PAGE, 4L * PAGE, Libc.MADV_DONTNEED, "madvise(MADV_DONTNEED)", Libc.NO_HINT);
                        }
                        burst++;
                    }
                })));
            }
            for (int round = 0; round < rounds && unexpected.get() == null; round++) {
                started.set(round);
                arena.collect();
                System.out.println("round " + round);
            }
            done.set(true);
            for (Thread t : threads) t.join();
        }
        if (unexpected.get() != null) {
            System.out.println("a thread failed: " + unexpected.get());
            System.exit(1);
        }
    }

    private static void guarded(AtomicReference<Throwable> unexpected, Runnable body) {
        try {
            body.run();
        } catch (Throwable e) {
            unexpected.compareAndSet(null, e);
        }
    }
}
