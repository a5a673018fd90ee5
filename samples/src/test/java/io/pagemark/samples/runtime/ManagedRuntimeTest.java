package io.pagemark.samples.runtime;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sample runtime is correct on its own: its oracle passes under random graph surgery. */
class ManagedRuntimeTest {

    /** A small heap so that cycles come often; the test runs a few seconds. */
    static RuntimeConfig small() {
        return RuntimeConfig.sized(16L << 20, 2).withSeed(7);
    }

    static List<Workload> workloads() {
        return Workload.PRESETS;
    }

    @ParameterizedTest
    @MethodSource("workloads")
    void oraclePassesAfterEveryCycleWhileMutatorsRewireTheGraph(Workload workload) throws Exception {
        RunReport report = run(small().withWorkload(workload).withCyclePercent(10), 2_000, 3);
        assertTrue(report.ok(), report::toString);
        assertTrue(report.cycles().size() >= 3, () -> "expected at least 3 cycles: " + report);
        assertEquals(report.cycles().size(), report.oracleChecks(), "the oracle checks every cycle");
        // The remark had real work: stores raced the concurrent marker and their cards were rescanned.
        assertTrue(report.cycles().stream().anyMatch(c -> c.dirtyCards() > 0 && c.rescanned() > 0), report::toString);
    }

    /**
     * Runs for {@code millis}, and on until {@code cycles} cycles completed (a busy machine may give the
     * runtime little CPU), 60 s at most; stops early on a failure.
     */
    @SuppressWarnings("try") // ManagedRuntime.close() may throw InterruptedException, which this method declares
    static RunReport run(RuntimeConfig config, long millis, int cycles) throws InterruptedException {
        try (ManagedRuntime runtime = new ManagedRuntime(config)) {
            runtime.start();
            long start = System.nanoTime(), end = start + millis * 1_000_000, limit = start + 60_000_000_000L;
            while (!runtime.failed() && System.nanoTime() < limit && (System.nanoTime() < end || runtime.cyclesSoFar() < cycles)) {
                Thread.sleep(20);
            }
            return runtime.stop();
        }
    }
}
