package io.pagemark;

import io.pagemark.verify.NoLostWriteOracle;
import io.pagemark.verify.OracleConfig;
import io.pagemark.verify.OracleResult;
import io.pagemark.verify.ShadowSync;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The child JVM of {@link SafepointStressTest}: the no-lost-write oracle on one backend while another
 * thread allocates heavily and calls System.gc() in a loop (a safepoint each), printing progress
 * every half second and one result line at the end. Arguments: backend, seconds.
 */
public final class SafepointStressChild {
    private SafepointStressChild() {}

    public static void main(String[] args) throws InterruptedException {
        Backend backend = Backend.parse(args[0]);
        int seconds = Integer.parseInt(args[1]);
        AtomicLong gcs = new AtomicLong();
        AtomicLong allocated = new AtomicLong();
        WriterGate gate = new WriterGate();
        try (TrackedArena arena = TrackedArena.builder().size(16L << 20).backend(backend).open()) {
            // Set up first (class loading, FFM linking): under back-to-back full GCs that alone takes ages.
            arena.arm();
            arena.putLong(0, 1);
            arena.collect();
            Thread gc = Thread.ofPlatform().name("allocate-and-gc").daemon().start(() -> {
                byte[][] keep = new byte[256][];
                for (int i = 0; ; i++) {
                    for (int j = 0; j < 256; j++) keep[(i * 31 + j) & 255] = new byte[4096 + j];   // garbage, some of it kept a while
                    allocated.addAndGet(256L * 4096);
                    System.gc();
                    gcs.incrementAndGet();
                }
            });
            Thread progress = Thread.ofPlatform().name("progress").daemon().start(() -> {
                while (true) {
                    System.out.println("progress faults=" + arena.stats().faults() + " gcs=" + gcs.get());
                    try {
                        Thread.sleep(500);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            OracleResult r = NoLostWriteOracle.run(arena, gate, OracleConfig.defaults().forSeconds(seconds), ShadowSync.CORRECT);
            progress.interrupt();
            progress.join();
            System.out.println("result backend=" + backend + " writes=" + r.writes() + " lost=" + r.lost() + " collects=" + r.collects()
                    + " faults=" + arena.stats().faults() + " gcs=" + gcs.get() + " allocatedMiB=" + (allocated.get() >> 20)
                    + " seconds=" + r.seconds());
            r.losses().forEach(System.out::println);
            if (!gc.isAlive()) throw new IllegalStateException("the GC thread died");
        }
    }
}
