package io.pagemark.bench.run;

import org.openjdk.jmh.runner.options.TimeValue;

import java.util.List;
import java.util.Map;

/**
 * How much of the benchmark matrix a run covers and how long each measurement lasts. Parameter values
 * are set per benchmark method ({@code Class.method}) or per class ({@code Class}); parameters not
 * named here keep the values of the benchmark's {@code @Param} annotation; the backend parameters
 * always do, less the backends not usable here (see {@link BackendSelection}). A benchmark class
 * not named here (a later one: end to end, checkpoint) runs with its annotation's parameters and
 * the profile's timing.
 */
public enum Profile {
    /** Every benchmark once, on tiny inputs, to prove it runs (the test suite's smoke test). No timing is meaningful. */
    SMOKE(new Timing(0, TimeValue.milliseconds(1), 1, TimeValue.milliseconds(1), true), Map.ofEntries(
            Map.entry("StoreCostBenchmark", Map.of("order", List.of("random"), "range", List.of("64KiB"))),
            Map.entry("FirstWriteBenchmark", Map.of("order", List.of("random"), "writers", List.of("2"))),
            Map.entry("CollectBenchmark", Map.of("size", List.of("8MiB"), "dirtyPercent", List.of("1"))),
            Map.entry("SoftDirtyScanBenchmark", Map.of("size", List.of("8MiB"), "dirtyPercent", List.of("1"))),
            Map.entry("CrossoverBenchmark", Map.of("storesPerPage", List.of("100"))),
            Map.entry("CheckpointBenchmark", Map.of("arenaBytes", List.of(Long.toString(8L << 20)), "dirtyPercent", List.of("1"))),
            Map.entry("FullCopy", Map.of("arenaBytes", List.of(Long.toString(8L << 20)))),
            Map.entry("SnapshotBenchmark", Map.of("arenaBytes", List.of(Long.toString(8L << 20)))),
            Map.entry("CutBenchmark", Map.of("size", List.of("8MiB"), "dirtyPercent", List.of("1"), "hugePages", List.of("false"))),
            Map.entry("EndToEndBenchmark", Map.of("workload", List.of("hot-rewire"), "runSeconds", List.of("0.3"))),
            Map.entry("ReplicationBenchmark", Map.of("media", List.of("ipc"), "dirtyMBps", List.of("10"))),
            Map.entry("MigrationBenchmark", Map.of("media", List.of("ipc"), "arenaMiB", List.of("16"), "writeMBps", List.of("10"))))),

    /**
     * The reduced matrix behind the README's table, every benchmark on every usable backend: one arena size for collect,
     * sequential first writes only (with the native backends' adaptive window, and with one page per fault as the C
     * reference measures), six decades of S for the crossover, 256 MiB for the checkpoint and the live snapshot, one workload of 2-second runs end to end,
     * short iterations (single-shot benchmarks keep their own counts: their runs are few and short, and a median of 3 is
     * noise).
     * Under 15 minutes on a 2-core machine (the last run's time is in jmh/results/quick/report.md).
     */
    QUICK(new Timing(1, TimeValue.milliseconds(200), 3, TimeValue.milliseconds(200), false), Map.ofEntries(
            Map.entry("FirstWriteBenchmark", Map.of("order", List.of("seq"), "bulkPages", List.of("0", "1"))),
            Map.entry("CollectBenchmark", Map.of("size", List.of("256MiB"))),
            Map.entry("SoftDirtyScanBenchmark", Map.of("size", List.of("256MiB"))),
            Map.entry("CheckpointBenchmark", Map.of("arenaBytes", List.of(Long.toString(256L << 20)))),
            Map.entry("FullCopy", Map.of("arenaBytes", List.of(Long.toString(256L << 20)))),
            Map.entry("SnapshotBenchmark", Map.of("arenaBytes", List.of(Long.toString(256L << 20)))),
            Map.entry("CutBenchmark", Map.of("size", List.of("1GiB"), "dirtyPercent", List.of("1"))),
            Map.entry("CutBenchmark.cutWhileAThreadRuns", Map.of("size", List.of("1GiB"), "dirtyPercent", List.of("1"), "hugePages", List.of("false"))),
            Map.entry("CutBenchmark.gatedCutWhileAThreadRuns", Map.of("size", List.of("1GiB"), "dirtyPercent", List.of("1"), "hugePages", List.of("false"))),
            Map.entry("EndToEndBenchmark", Map.of("workload", List.of("hot-rewire"), "runSeconds", List.of("2"))),
            Map.entry("MigrationBenchmark", Map.of("media", List.of("ipc"), "arenaMiB", List.of("256"), "writeMBps", List.of("50"))))),

    /** Everything, with the benchmarks' own warmup and measurement settings. */
    FULL(null, Map.of(
            "FirstWriteBenchmark", Map.of("bulkPages", List.of("0", "1")),
            "CrossoverBenchmark", Map.of("storesPerPage",
                    List.of("1", "3", "10", "30", "100", "300", "1000", "3000", "10000", "30000", "100000"))));

    /**
     * Warmup and measurement iterations; null in {@link #FULL}, which keeps the annotations'.
     *
     * @param singleShotToo whether the iteration counts apply to single-shot benchmarks too (an iteration there is
     *                      one invocation, and the times do not apply), or those keep their annotations' counts
     */
    public record Timing(int warmupIterations, TimeValue warmupTime, int measurementIterations, TimeValue measurementTime,
                         boolean singleShotToo) {}

    private final Timing timing;
    private final Map<String, Map<String, List<String>>> params;

    Profile(Timing timing, Map<String, Map<String, List<String>>> params) {
        this.timing = timing;
        this.params = params;
    }

    /** The timing, or null to keep each benchmark's annotations. */
    public Timing timing() {
        return timing;
    }

    /**
     * Parameter values this profile sets for benchmark method {@code method} of class {@code simpleClass}
     * (others keep their annotation values): the method's own settings, else its class's.
     */
    public Map<String, List<String>> params(String simpleClass, String method) {
        return params.getOrDefault(simpleClass + "." + method, params.getOrDefault(simpleClass, Map.of()));
    }

    /** The profile's name on the command line: {@code --quick}, {@code --full}, {@code --smoke}. */
    public String flag() {
        return "--" + name().toLowerCase(java.util.Locale.ROOT);
    }
}
