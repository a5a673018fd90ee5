package io.pagemark.bench;

import io.pagemark.agent.PagemarkAgent;
import io.pagemark.samples.demo.Demo;
import io.pagemark.samples.runtime.CycleStats;
import io.pagemark.samples.runtime.ManagedRuntime;
import io.pagemark.samples.runtime.RunReport;
import io.pagemark.samples.runtime.RuntimeConfig;
import io.pagemark.samples.runtime.Workload;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * End to end: the sample runtime ({@link ManagedRuntime}: an off-heap heap, mutator threads, an
 * incremental collector with a stop-the-world remark) with its own software card table and write
 * barrier ({@code backend=card-table}: no agent), and the same runtime under the pagemark agent on
 * each hardware backend (the agent removes the barrier calls, puts the heap in a tracked arena and
 * marks the card table from the dirty pages before each remark).
 * <p>
 * One invocation is one run of a fresh runtime (same seed, same workload) for {@code runSeconds};
 * the results that matter are its counters, summed over the measurement iterations: mutator
 * operations, the mutators' wall time and CPU time, cycles; and the remark pauses, recorded one by
 * one into an HdrHistogram ({@link LatencyHistograms}). The report divides: mutator operations per
 * second, per mutator CPU-second (what to compare on a busy machine), remark p50, each against
 * card-table. JMH's own score is only the length of a run. The runtime's oracle is off (its tests
 * run it); a run that fails stops the benchmark.
 * <p>
 * The agent comes in with {@code -javaagent} on the forked JVM, per backend, so the fork's flags
 * depend on the {@code backend} parameter: {@code ./pagemark bench} adds them ({@link #agentFlags}).
 * Under plain JMH run one backend at a time and add them yourself:
 * <pre>
 * java -jar jmh/target/benchmarks.jar EndToEndBenchmark -p backend=card-table
 * java -jar jmh/target/benchmarks.jar EndToEndBenchmark -p backend=uffd-async \
 *      -jvmArgsAppend "-javaagent:agent/target/pagemark-agent.jar=OPTIONS,backend=uffd-async"
 * </pre>
 * (OPTIONS: {@link Demo#AGENT_OPTIONS}; a fork whose agent is missing or tracks another backend fails
 * in its setup and prints the exact flag.)
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.ADD_EXPORTS, JvmFlags.EXPORT_INTERNAL_MISC, JvmFlags.ALLOW_UNSAFE,
        JvmFlags.HEAP_MIN, JvmFlags.HEAP_MAX})
@Warmup(iterations = 1)
@Measurement(iterations = 5)
public class EndToEndBenchmark {
    /** The runtime's own card table, no agent. */
    public static final String CARD_TABLE = "card-table";

    /** card-table: the runtime as written; any other: under the agent on that backend. */
    @Param({CARD_TABLE, "uffd-async", "uffd-sync", "uffd-sigbus", "mprotect", "soft-dirty"})
    public String backend;

    /** {@link Workload#HOT_REWIRE} (many reference stores per dirtied page) or {@link Workload#MIXED} (few). */
    @Param({"hot-rewire", "mixed"})
    public String workload;

    /** Length of one run (one invocation). */
    @Param({"5"})
    public double runSeconds;

    /** The off-heap heap of the runtime, MiB. */
    @Param({"64"})
    public int heapMiB;

    private RuntimeConfig config;
    private ManagedRuntime runtime;

    /**
     * The {@code -javaagent} flag that puts the runtime under the agent on {@code backend}, or none
     * for {@value #CARD_TABLE}: the flags a fork of this benchmark needs besides its annotation's.
     */
    public static List<String> agentFlags(String backend, Path agentJar) {
        if (backend.equals(CARD_TABLE)) return List.of();
        return List.of("-javaagent:" + agentJar.toAbsolutePath() + "=" + agentOptions(backend));
    }

    private static String agentOptions(String backend) {
        // The demo's options (what to rewrite, where the card table is); no periodic reports or JFR events in a benchmark.
        return Demo.AGENT_OPTIONS + ",backend=" + backend + ",report-interval=0,jfr=off";
    }

    @Setup(Level.Trial)
    public void checkAgent() {
        String status = System.getProperty(PagemarkAgent.STATUS_PROPERTY);
        if (backend.equals(CARD_TABLE)) {
            if (status != null) throw new IllegalStateException("backend=card-table measures the runtime without the agent, but this JVM has it: " + status);
        } else if (status == null || !status.startsWith("ok:") || !status.contains("replaced by " + backend + " ")) {
            throw new IllegalStateException("backend=" + backend + " measures the runtime under the pagemark agent on " + backend + ", but "
                    + (status == null ? "this JVM has no agent" : "the agent says: " + status)
                    + ". ./pagemark bench adds the agent; with plain JMH add -jvmArgsAppend \"-javaagent:agent/target/pagemark-agent.jar="
                    + agentOptions(backend) + "\"");
        }
        config = RuntimeConfig.sized((long) heapMiB << 20, RuntimeConfig.defaults().mutators()).withWorkload(Workload.named(workload)).withOracle(false);
    }

    /** A fresh runtime for every run (not timed): its heap is reserved, tracked under the agent, and every root filled at start. */
    @Setup(Level.Iteration)
    public void open() {
        runtime = new ManagedRuntime(config);
    }

    @TearDown(Level.Iteration)
    public void close() throws InterruptedException {
        runtime.close();
    }

    /**
     * What the runs did, summed over the measurement iterations (secondary results; the report
     * divides them): mutator operations, mutator wall and CPU nanoseconds, collection cycles.
     */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class RunCounters {
        public long mutatorOps;
        public long mutatorNanos;
        public long mutatorCpuNanos;
        public long cycles;

        void add(RunReport report) {
            mutatorOps += report.operations();
            mutatorNanos += report.elapsedNanos() - report.oracleNanos();
            mutatorCpuNanos += report.mutatorCpuNanos();
            cycles += report.cycles().size();
        }
    }

    @Benchmark
    public RunReport run(RunCounters counters, LatencyHistograms remarks) throws InterruptedException {
        runtime.start();
        Thread.sleep((long) (runSeconds * 1000));
        RunReport report = runtime.stop();
        if (!report.ok()) throw new IllegalStateException("the runtime failed on " + backend + ": " + report);
        counters.add(report);
        for (CycleStats cycle : report.cycles()) remarks.writer(0).recordValue(cycle.remarkNanos());
        return report;
    }
}
