package io.pagemark;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Closes armed arenas while two writers fault and another thread requests safepoints all along
 * ({@code Thread.getAllStackTraces()} stops the world, again and again). A store that faults after the
 * signal range stopped is retried without ever reaching a safepoint poll, so the range must be writable
 * before the closing thread can block in a safepoint; when it was not, the safepoint waited for the
 * retrying writer while the closer waited for the safepoint, and the whole JVM stopped.
 *
 * <p>Run in a child JVM ({@code CloseTest}): a JVM wedged at a safepoint cannot report it itself.
 * Prints {@code round N} after each round and exits 0, or prints what failed and exits 1:
 * {@code java -cp <test class path> io.pagemark.CloseUnderSafepoints <backend> <rounds>}.
 */
final class CloseUnderSafepoints {
    static final int PAGE = 4096;
    static final int PAGES = 64;

    private CloseUnderSafepoints() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.out.println("usage: CloseUnderSafepoints <backend> <rounds>");
            System.exit(2);
        }
        Backend backend = Backend.parse(args[0]);
        int rounds = Integer.parseInt(args[1]);
        AtomicBoolean done = new AtomicBoolean();
        Thread safepoints = Thread.ofPlatform().name("safepoints").start(() -> {
            while (!done.get()) Thread.getAllStackTraces();
        });
        try {
            for (int round = 0; round < rounds; round++) {
                String failure = closeWhileFaulting(backend);
                if (failure != null) {
                    System.out.println("round " + round + ": " + failure);
                    System.exit(1);
                }
                System.out.println("round " + round);
            }
        } finally {
            done.set(true);
            safepoints.join();
        }
    }

    /** One arena closed under two faulting writers: null if every thread ended cleanly, else what went wrong. */
    private static String closeWhileFaulting(Backend backend) throws InterruptedException {
        TrackedArena arena = TrackedArena.builder().size(PAGES * PAGE).backend(backend).open();
        arena.arm();
        AtomicReference<Throwable> unexpected = new AtomicReference<>();
        CountDownLatch faulting = new CountDownLatch(2);
        List<Thread> writers = new ArrayList<>();
        for (int w = 0; w < 2; w++) {
            int id = w;
            writers.add(Thread.ofPlatform().name("hammer-" + w).start(() -> {
                SplittableRandom random = new SplittableRandom(id);
                try {
                    arena.putLong(0, id);
                    faulting.countDown();
                    while (true) {
                        arena.putLong(random.nextLong(PAGES) * PAGE, id);
                        if (id == 0) arena.collect(); // re-protects, so the next stores fault again
                    }
                } catch (IllegalStateException closed) {
                    // the arena is closed: what a writer racing close() gets
                } catch (Throwable t) {
                    unexpected.set(t);
                }
            }));
        }
        faulting.await();
        arena.close();
        for (Thread t : writers) {
            t.join(20_000);
            if (t.isAlive()) return t.getName() + " still runs 20 s after close()";
        }
        return unexpected.get() == null ? null : "a writer failed: " + unexpected.get();
    }
}
