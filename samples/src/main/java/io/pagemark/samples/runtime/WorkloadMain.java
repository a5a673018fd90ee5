package io.pagemark.samples.runtime;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

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
public final class WorkloadMain {
    private WorkloadMain() {}

    @SuppressWarnings("try") // ManagedRuntime.close() may throw InterruptedException, which main declares
    public static void main(String[] args) throws Exception {
        Map<String, String> options = parse(args);
        double seconds = Double.parseDouble(options.getOrDefault("seconds", "20"));
        long progressMillis = Long.parseLong(options.getOrDefault("progress-ms", "1000"));
        RuntimeConfig config = RuntimeConfig.sized(Long.parseLong(options.getOrDefault("heap-mb", "64")) << 20,
                        Integer.parseInt(options.getOrDefault("mutators", "2")))
                .withSeed(Long.parseLong(options.getOrDefault("seed", "42")))
                .withOracle(!"off".equals(options.getOrDefault("oracle", "on")))
                .withWorkload(Workload.named(options.getOrDefault("workload", "mixed")));
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
        System.exit(report.ok() ? 0 : 1);
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> options = new TreeMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--") || i + 1 == args.length) {
                throw new IllegalArgumentException("expected --name value pairs (--seconds, --heap-mb, --mutators, --seed, --workload, --oracle, --progress-ms), got '" + arg + "'");
            }
            options.put(arg.substring(2), args[++i]);
        }
        return options;
    }
}
