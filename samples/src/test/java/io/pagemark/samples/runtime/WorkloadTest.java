package io.pagemark.samples.runtime;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The workload presets and their checks. */
class WorkloadTest {

    @Test
    void presetsAreFoundByNameAndUnknownNamesListTheAcceptedOnes() {
        assertEquals(Workload.HOT_REWIRE, Workload.named("Hot-Rewire"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Workload.named("hot"));
        assertEquals("unknown workload 'hot'; accepted: mixed, hot-rewire", e.getMessage());
    }

    @Test
    void arraySizesMustFitTheLargestObject() {
        assertThrows(IllegalArgumentException.class, () -> withArrays(0, 8));
        assertThrows(IllegalArgumentException.class, () -> withArrays(9, 8));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> withArrays(8, Heap.MAX_FIELDS + 1));
        assertTrue(e.getMessage().startsWith("array sizes must satisfy 1 <= arrayMinRefs <= arrayMaxRefs <= " + Heap.MAX_FIELDS), e.getMessage());
        assertEquals(Heap.MAX_FIELDS, withArrays(Heap.MAX_FIELDS, Heap.MAX_FIELDS).arrayMaxRefs());
    }

    /** Objects of the largest configured array size are allocated and survive the oracle. */
    @Test
    void arraysOfTheLargestSizeRunUnderTheOracle() throws Exception {
        Workload largest = withArrays(Heap.MAX_FIELDS, Heap.MAX_FIELDS);
        RunReport report = ManagedRuntimeTest.run(ManagedRuntimeTest.small().withWorkload(largest).withCyclePercent(10), 1_000, 2);
        assertTrue(report.ok(), report::toString);
        // Nearly every operation rotates an array of MAX_FIELDS references (one store per field).
        assertTrue(report.referenceStores() > 50L * report.operations(), report::toString);
    }

    private static Workload withArrays(int min, int max) {
        Workload w = Workload.HOT_REWIRE;
        return new Workload("test", w.allocate(), w.link(), w.move(), w.unlink(), w.descend(), w.share(), w.arrayOneIn(), min, max, w.coldOneIn());
    }
}
