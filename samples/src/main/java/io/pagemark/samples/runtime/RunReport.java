package io.pagemark.samples.runtime;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What a {@link ManagedRuntime} did between start and stop.
 *
 * @param elapsedNanos     wall time the mutators ran
 * @param oracleNanos      of which the world was stopped for the oracle (not part of the collector's cost)
 * @param mutatorCpuNanos  CPU time the mutator threads used (user and system), summed
 * @param mutatorSystemNanos of which in the kernel: page faults, and write-protect faults under a hardware barrier
 * @param operations       mutator operations done
 * @param referenceStores  reference stores done (each one a write-barrier call in the unmodified runtime)
 * @param allocations      objects allocated
 * @param cycles           completed collection cycles, in order
 * @param oracleChecks     oracle checks run
 * @param oracleProblems   problems the oracle found in total (0 is the only good answer)
 * @param firstProblems    the first few problems, described
 * @param failure          a mutator or collector failure, or null
 */
public record RunReport(long elapsedNanos, long oracleNanos, long mutatorCpuNanos, long mutatorSystemNanos, long operations, long referenceStores, long allocations,
                        List<CycleStats> cycles, long oracleChecks, long oracleProblems, List<String> firstProblems,
                        String failure) {

    /** True when nothing failed and the oracle (if it ran) found nothing wrong. */
    public boolean ok() {
        return failure == null && oracleProblems == 0;
    }

    /** Mutator operations per second of time not spent in the oracle's pauses. */
    public double operationsPerSecond() {
        long nanos = elapsedNanos - oracleNanos;
        return nanos <= 0 ? 0 : operations * 1e9 / nanos;
    }

    /**
     * Mutator operations per second of mutator CPU time: unlike {@link #operationsPerSecond()} it
     * does not depend on how much CPU other processes left to the mutators (a shared machine).
     */
    public double operationsPerCpuSecond() {
        return mutatorCpuNanos <= 0 ? 0 : operations * 1e9 / mutatorCpuNanos;
    }

    /** The median remark pause in milliseconds (0 without cycles). */
    public double remarkMillisMedian() {
        long[] remarks = cycles.stream().mapToLong(CycleStats::remarkNanos).sorted().toArray();
        return remarks.length == 0 ? 0 : remarks[remarks.length / 2] / 1e6;
    }

    /** The longest remark pause in milliseconds (0 without cycles). */
    public double remarkMillisMax() {
        return cycles.stream().mapToLong(CycleStats::remarkNanos).max().orElse(0) / 1e6;
    }

    /** The median of each part of the remark in milliseconds, in {@link CycleStats.RemarkParts}' order (zeros without cycles). */
    public double[] remarkPartsMillisMedian() {
        java.util.List<java.util.function.ToLongFunction<CycleStats.RemarkParts>> parts = List.of(CycleStats.RemarkParts::stopNanos,
                CycleStats.RemarkParts::cardsNanos, CycleStats.RemarkParts::rescanNanos, CycleStats.RemarkParts::traceNanos,
                CycleStats.RemarkParts::otherNanos);
        double[] medians = new double[parts.size()];
        for (int i = 0; i < medians.length; i++) {
            var part = parts.get(i);
            long[] values = cycles.stream().mapToLong(c -> part.applyAsLong(c.remarkParts())).sorted().toArray();
            medians[i] = values.length == 0 ? 0 : values[values.length / 2] / 1e6;
        }
        return medians;
    }

    /** Mean dirty cards found per remark. */
    public double dirtyCardsPerCycle() {
        return cycles.stream().mapToInt(CycleStats::dirtyCards).average().orElse(0);
    }

    /** Mean pages with a dirty card per remark. */
    public double dirtyPagesPerCycle() {
        return cycles.stream().mapToInt(CycleStats::dirtyPages).average().orElse(0);
    }

    /**
     * The report as one JSON object: seconds, ops, ops_per_s, ops_per_cpu_s, mutator_cpu_s, mutator_system_s, stores, allocations, cycles,
     * remark_ms_p50, remark_ms_max, remark_parts_ms_p50 (stop, cards, rescan, trace, other: the median of each part),
     * dirty_cards_per_cycle, dirty_pages_per_cycle, oracle_checks,
     * oracle_problems, oracle_ok, first_problems, failure.
     */
    public String toJson() {
        StringBuilder problems = new StringBuilder("[");
        for (String p : firstProblems) problems.append(problems.length() > 1 ? "," : "").append(quote(p));
        problems.append(']');
        double[] parts = remarkPartsMillisMedian();
        return String.format(Locale.ROOT, "{\"seconds\":%.3f,\"ops\":%d,\"ops_per_s\":%.0f,\"ops_per_cpu_s\":%.0f,"
                        + "\"mutator_cpu_s\":%.3f,\"mutator_system_s\":%.3f,\"stores\":%d,\"allocations\":%d,\"cycles\":%d,"
                        + "\"remark_ms_p50\":%.3f,\"remark_ms_max\":%.3f,"
                        + "\"remark_parts_ms_p50\":{\"stop\":%.3f,\"cards\":%.3f,\"rescan\":%.3f,\"trace\":%.3f,\"other\":%.3f},"
                        + "\"dirty_cards_per_cycle\":%.1f,\"dirty_pages_per_cycle\":%.1f,"
                        + "\"oracle_checks\":%d,\"oracle_problems\":%d,\"oracle_ok\":%b,\"first_problems\":%s,\"failure\":%s}",
                elapsedNanos / 1e9, operations, operationsPerSecond(), operationsPerCpuSecond(), mutatorCpuNanos / 1e9,
                mutatorSystemNanos / 1e9, referenceStores, allocations, cycles.size(), remarkMillisMedian(), remarkMillisMax(),
                parts[0], parts[1], parts[2], parts[3], parts[4], dirtyCardsPerCycle(), dirtyPagesPerCycle(), oracleChecks, oracleProblems, ok(), problems,
                failure == null ? "null" : quote(failure));
    }

    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                default -> b.append(c < 0x20 ? String.format(Locale.ROOT, "\\u%04x", (int) c) : String.valueOf(c));
            }
        }
        return b.append('"').toString();
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%d ops in %.2f s (%.0f ops/s, %.0f per mutator CPU-second), %d stores, %d allocations,"
                        + " %d cycles, remark p50 %.3f ms max %.3f ms, %.0f dirty cards / %.0f pages per cycle, oracle %d checks %s%s",
                operations, elapsedNanos / 1e9, operationsPerSecond(), operationsPerCpuSecond(), referenceStores, allocations,
                cycles.size(), remarkMillisMedian(), remarkMillisMax(), dirtyCardsPerCycle(), dirtyPagesPerCycle(), oracleChecks,
                oracleProblems == 0 ? "ok" : oracleProblems + " problems " + Arrays.toString(firstProblems.toArray()),
                failure == null ? "" : ", FAILED: " + failure);
    }
}
