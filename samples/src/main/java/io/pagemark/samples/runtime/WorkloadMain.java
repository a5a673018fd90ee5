package io.pagemark.samples.runtime;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.util.Locale;

/**
 * Runs the sample runtime for a fixed time and reports: the program the demo starts in a child JVM,
 * once as is and once under the pagemark agent.
 *
 * <pre>
 * java -cp pagemark-samples.jar io.pagemark.samples.runtime.WorkloadMain [--seconds 20] [--heap-mb 64]
 *      [--mutators 2] [--seed 42] [--workload mixed|hot-rewire] [--oracle on|off] [--progress-ms 1000]
 * </pre>
 *
 * Prints {@code progress elapsed_s=... ops=... cycles=...} lines while it runs and one final
 * {@code result {...}} line holding a JSON object; exits 0 when the run and the oracle are fine, 1 if not.
 */
@Command(name = "pagemark workload", separator = " ", sortOptions = false, sortSynopsis = false,
        description = "Runs the sample runtime for a fixed time: progress lines, then one result line of JSON.")
public final class WorkloadMain {
    @Option(names = "--seconds", paramLabel = "S", description = "how long to run (default 20)")
    private double seconds = 20;
    @Option(names = "--heap-mb", paramLabel = "N", description = "the heap in MiB (default 64)")
    private long heapMb = 64;
    @Option(names = "--mutators", paramLabel = "N", description = "mutator threads (default 2)")
    private int mutators = 2;
    @Option(names = "--seed", paramLabel = "N", description = "the workload's seed (default 42)")
    private long seed = 42;
    @Option(names = "--workload", paramLabel = "NAME", description = "mixed (default) or hot-rewire")
    private String workload = "mixed";
    @Option(names = "--oracle", paramLabel = "on|off", description = "check every reachable object after each cycle (default on)")
    private String oracle = "on";
    @Option(names = "--progress-ms", paramLabel = "N", description = "a progress line every N ms (default 1000)")
    private long progressMillis = 1000;
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "this help")
    private boolean help;

    private WorkloadMain() {}

    public static void main(String[] args) throws Exception {
        WorkloadMain options = new WorkloadMain();
        CommandLine commandLine = new CommandLine(options);
        RuntimeConfig config;
        try {
            if (commandLine.parseArgs(args).isUsageHelpRequested()) {
                commandLine.usage(System.out);
                return;
            }
            if (!options.oracle.equals("on") && !options.oracle.equals("off")) {
                throw new IllegalArgumentException("--oracle must be on or off, got '" + options.oracle + "'");
            }
            config = RuntimeConfig.sized(options.heapMb << 20, options.mutators).withSeed(options.seed)
                    .withOracle(options.oracle.equals("on")).withWorkload(Workload.named(options.workload));
        } catch (ParameterException | IllegalArgumentException e) {
            System.err.println(commandLine.getCommandName() + ": " + e.getMessage() + "; usage: "
                    + commandLine.getHelp().synopsis(0).strip().replaceAll("\\s*\n\\s*", " ") + " (--help says more)");
            System.exit(2);
            return;
        }
        System.exit(options.run(config));
    }

    @SuppressWarnings("try") // ManagedRuntime.close() may throw InterruptedException, which run declares
    private int run(RuntimeConfig config) throws Exception {
        RunReport report;
        try (ManagedRuntime runtime = new ManagedRuntime(config)) {
            runtime.start();
            long start = System.nanoTime(), end = start + (long) (seconds * 1e9);
            long now;
            while ((now = System.nanoTime()) < end && !runtime.failed()) {
                Thread.sleep(Math.min(progressMillis, Math.max(1, (end - now) / 1_000_000)));
                System.out.printf(Locale.ROOT, "progress elapsed_s=%.1f ops=%d cycles=%d%n",
                        (System.nanoTime() - start) / 1e9, runtime.operationsSoFar(), runtime.cyclesSoFar());
            }
            report = runtime.stop();
        }
        System.out.println("result " + report.toJson());
        return report.ok() ? 0 : 1;
    }
}
