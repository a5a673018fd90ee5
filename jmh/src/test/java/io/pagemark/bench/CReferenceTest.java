package io.pagemark.bench;

import io.pagemark.bench.report.CReferences;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.abort;

/** The C reference program runs every measurement (on small sizes: timings meaningless) and dirties the benchmarks' pages. */
class CReferenceTest {
    private static final String SMALL = Long.toString(8L << 20);

    private static CReference.Measurement measure(String measurement, String... options) {
        Map<String, String> m = new HashMap<>(Map.of(CReference.SIZE, SMALL, CReference.SAMPLES, "2"));
        for (int i = 0; i < options.length; i += 2) m.put(options[i], options[i + 1]);
        try {
            return CReference.measure(measurement, m);
        } catch (CReference.UnavailableException e) {
            System.out.println("skipped " + measurement + " " + m + ": " + e.getMessage());
            return abort(e.getMessage());
        }
    }

    private static void assertTimed(CReference.Measurement m) {
        assertTrue(m.medianNanos() > 0 && m.minNanos() <= m.medianNanos() && m.medianNanos() <= m.maxNanos(), m::toString);
        assertTrue(m.samples() >= 1, m::toString);
    }

    @ParameterizedTest
    @ValueSource(strings = {"uffd-async", "uffd-sync", "uffd-sigbus", "mprotect"})
    void firstWriteOnEachBackend(String backend) {
        assertTimed(measure(CReference.FIRST_WRITE, CReference.BACKEND, backend));
        assertTimed(measure(CReference.FIRST_WRITE, CReference.BACKEND, backend, CReference.TIMED, "true"));
    }

    /** measure() checks the C program's page digest against PageOrder.sample's: it throws if they differ. */
    @ParameterizedTest
    @ValueSource(strings = {"0.1", "1", "10", "100"})
    void theDirtyPagesAreTheBenchmarksOwn(String percent) {
        assertTimed(measure(CReference.PAGEMAP_SCAN, CReference.DIRTY_PERCENT, percent));
        assertTimed(measure(CReference.MEMCPY, CReference.DIRTY_PERCENT, percent));
        for (String backend : List.of("uffd-sync", "uffd-sigbus", "mprotect")) {
            assertTimed(measure(CReference.REPROTECT, CReference.DIRTY_PERCENT, percent, CReference.BACKEND, backend));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"false", "true"})
    void armingCopyingAndForking(String thp) {
        assertTimed(measure(CReference.WRITEPROTECT, CReference.THP, thp));
        assertTimed(measure(CReference.FORK, CReference.THP, thp));
        assertTimed(measure(CReference.REPROTECT, CReference.THP, thp, CReference.BACKEND, "uffd-sync", CReference.DIRTY_PERCENT, "1"));
    }

    /** With a second thread on the other CPU (skipped, with the reason, where the process may use only one CPU). */
    @ParameterizedTest
    @ValueSource(strings = {"uffd-sync", "mprotect"})
    void theReprotectFromATwoThreadProcess(String backend) {
        assertTimed(measure(CReference.REPROTECT, CReference.DIRTY_PERCENT, "10", CReference.BACKEND, backend, CReference.SIBLING, "true"));
    }

    /** With a second thread that never sleeps, as a cut's running writers: every flush interrupts its CPU. */
    @ParameterizedTest
    @ValueSource(strings = {"uffd-sigbus", "mprotect"})
    void theReprotectWhileASecondThreadSpins(String backend) {
        assertTimed(measure(CReference.REPROTECT, CReference.DIRTY_PERCENT, "1", CReference.BACKEND, backend, CReference.BUSY_SIBLING, "true"));
    }

    @Test
    void theSoftDirtyReadAndTheCardMark() {
        assertTimed(measure(CReference.PAGEMAP_READ));
        assertTimed(measure(CReference.CARD_MARK, CReference.SIZE, "65536"));
    }

    @Test
    void badInputIsNamed() {
        IllegalArgumentException option = assertThrows(IllegalArgumentException.class,
                () -> CReference.measure(CReference.FORK, Map.of("sise", "1")));
        assertTrue(option.getMessage().contains("'sise'") && option.getMessage().contains(CReference.SIZE), option::getMessage);
        IllegalStateException measurement = assertThrows(IllegalStateException.class, () -> CReference.measure("forks", Map.of()));
        assertTrue(measurement.getMessage().contains("unknown measurement") && measurement.getMessage().contains("first-write|"),
                measurement::getMessage);
        IllegalStateException size = assertThrows(IllegalStateException.class,
                () -> CReference.measure(CReference.FORK, Map.of(CReference.SIZE, "12")));
        assertTrue(size.getMessage().contains("multiple of the page size"), size::getMessage);
    }

    /** Each pairing as "measurement backend size dirty% thp" and the C process's threads. */
    private static List<String> described(List<CReferences.Pairing> pairings) {
        return pairings.stream().map(p -> p.measurement() + " " + p.options().get(CReference.BACKEND) + " " + p.options().get(CReference.SIZE) + " "
                + p.options().get(CReference.DIRTY_PERCENT) + " " + p.options().get(CReference.THP) + " "
                + (Boolean.parseBoolean(p.options().get(CReference.BUSY_SIBLING)) ? "a spinning thread"
                : Boolean.parseBoolean(p.options().get(CReference.SIBLING)) ? "two threads" : "one thread")).toList();
    }

    @Test
    void aPairingIsDueOnlyAfterItsBenchmarkRanWithItsParameters() {
        Map<String, List<String>> collected = Map.of("backend", List.of("card-table", "uffd-async"), "size", List.of("64MiB", "256MiB"),
                "dirtyPercent", List.of("1", "10"));
        List<CReferences.Pairing> due = CReferences.after("CollectBenchmark.collect", collected);
        assertEquals(List.of("67108864 1", "67108864 10", "268435456 1", "268435456 10"),
                due.stream().map(p -> p.options().get(CReference.SIZE) + " " + p.options().get(CReference.DIRTY_PERCENT)).toList(), due::toString);
        assertEquals(List.of(), CReferences.after("CollectBenchmark.collect", Map.of("backend", List.of("card-table"),
                "size", List.of("64MiB"), "dirtyPercent", List.of("1"))));
        List<CReferences.Pairing> synchronous = CReferences.after("CollectBenchmark.collect", Map.of("backend", List.of("mprotect"),
                "size", List.of("64MiB"), "dirtyPercent", List.of("1")));
        // Each re-protect twice: from a single-threaded C process and from one with a second thread on the other CPU.
        assertEquals(List.of(CReference.REPROTECT + " mprotect false", CReference.REPROTECT + " mprotect true"),
                synchronous.stream().map(p -> p.measurement() + " " + p.options().get(CReference.BACKEND) + " " + p.options().get(CReference.SIBLING))
                        .toList(), synchronous::toString);
        List<CReferences.Pairing> cut = CReferences.after("CutBenchmark.cut", Map.of("backend", List.of("uffd-sync"), "size", List.of("1GiB"),
                "dirtyPercent", List.of("0.1", "1"), "hugePages", List.of("false", "true")));
        // The cut's start beside its kernel calls (the re-protect of the same pages, huge pages or not), then fork() of the same memory.
        assertEquals(List.of("reprotect uffd-sync 1073741824 0.1 false one thread", "reprotect uffd-sync 1073741824 0.1 true one thread",
                        "reprotect uffd-sync 1073741824 1 false one thread", "reprotect uffd-sync 1073741824 1 true one thread",
                        "reprotect uffd-sync 1073741824 0.1 false two threads", "reprotect uffd-sync 1073741824 0.1 true two threads",
                        "reprotect uffd-sync 1073741824 1 false two threads", "reprotect uffd-sync 1073741824 1 true two threads",
                        "fork null 1073741824 null false one thread", "fork null 1073741824 null true one thread"), described(cut), cut::toString);
        // With a thread running: the same re-protect beside a C process whose second thread spins; no fork() anchor again.
        List<CReferences.Pairing> running = CReferences.after("CutBenchmark.cutWhileAThreadRuns", Map.of("backend", List.of("uffd-sigbus"),
                "size", List.of("1GiB"), "dirtyPercent", List.of("1"), "hugePages", List.of("false")));
        assertEquals(List.of("reprotect uffd-sigbus 1073741824 1 false a spinning thread"), described(running), running::toString);
        // Through the gate the thread is parked for the re-protect: beside C whose second thread sleeps.
        List<CReferences.Pairing> gated = CReferences.after("CutBenchmark.gatedCutWhileAThreadRuns", Map.of("backend", List.of("mprotect"),
                "size", List.of("1GiB"), "dirtyPercent", List.of("1"), "hugePages", List.of("false")));
        assertEquals(List.of("reprotect mprotect 1073741824 1 false two threads"), described(gated), gated::toString);
        assertEquals(List.of(), CReferences.after("CutBenchmark.cutWhileAThreadRuns", Map.of("backend", List.of("uffd-async"),
                "size", List.of("1GiB"), "dirtyPercent", List.of("1"), "hugePages", List.of("false"))));
    }
}
