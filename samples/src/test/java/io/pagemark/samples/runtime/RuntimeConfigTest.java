package io.pagemark.samples.runtime;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Sizing the runtime: the roots scale with the heap, so any heap the demo accepts holds the mutators' data. */
class RuntimeConfigTest {

    @Test
    void sizedOnTheDefaultHeapIsTheDefaults() {
        assertEquals(RuntimeConfig.defaults(), RuntimeConfig.sized(64L << 20, 2));
    }

    @Test
    void rootsScaleWithTheHeapAndAreSplitAmongTheMutators() {
        RuntimeConfig c = RuntimeConfig.sized(16L << 20, 4);
        assertEquals(4096, c.rootsPerMutator());
        assertEquals(1024, c.hotRoots());
        RuntimeConfig many = RuntimeConfig.sized(240L << 20, 255);
        assertEquals(963, many.rootsPerMutator());
        assertEquals(963, many.hotRoots(), "hot roots never exceed the roots");
        assertThrows(IllegalArgumentException.class, () -> RuntimeConfig.sized(4L << 20, 0));
        assertThrows(IllegalArgumentException.class, () -> RuntimeConfig.sized(1000, 2));
    }

    @Test
    void aHeapTooSmallForTheMutatorsBlocksIsRejectedNamingTheMinimum() {
        assertEquals(15L << 20, RuntimeConfig.minimumHeapBytes(16));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RuntimeConfig.sized(4L << 20, 16));
        assertEquals("a heap of 4096 KiB is too small for 16 mutators: each may hold a 32 KiB block of each of the 15 size classes;"
                + " give at least 15 MiB, or fewer mutators", e.getMessage());
        assertEquals(16, RuntimeConfig.sized(15L << 20, 16).mutators());
    }

    /** Sixteen mutators on the smallest heap they are allowed, on the workload with the largest objects. */
    @Test
    void theSmallestHeapForSixteenMutatorsRunsTheHotRewireWorkload() throws Exception {
        RuntimeConfig config = RuntimeConfig.sized(RuntimeConfig.minimumHeapBytes(16), 16).withWorkload(Workload.HOT_REWIRE).withCyclePercent(10);
        RunReport report = ManagedRuntimeTest.run(config, 1_000, 3);
        assertTrue(report.ok(), report::toString);
    }

    /** The demo's smallest heap with its default workload, the one with the largest objects. */
    @Test
    void theSmallestDemoHeapRunsTheHotRewireWorkload() throws Exception {
        RuntimeConfig config = RuntimeConfig.sized(4L << 20, 2).withWorkload(Workload.HOT_REWIRE).withCyclePercent(10);
        RunReport report = ManagedRuntimeTest.run(config, 1_000, 3);
        assertTrue(report.ok(), report::toString);
        assertTrue(report.cycles().size() >= 3, report::toString);
    }
}
