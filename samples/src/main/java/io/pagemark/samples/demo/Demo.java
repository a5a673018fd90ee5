package io.pagemark.samples.demo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.pagemark.samples.runtime.RuntimeConfig;
import io.pagemark.samples.runtime.Workload;

/**
 * The demo ({@code ./pagemark demo}): the sample runtime on the same workload for the same time in
 * child JVMs, once with its own software card table and once under the pagemark agent on the best
 * backend here (with {@code --all}, on every usable hardware backend), then one table: mutator
 * operations per second, collector cycles, remark pauses, dirty cards and pages per cycle, and the
 * oracle's verdict.
 *
 * <pre>
 * java -cp samples/target/classes io.pagemark.samples.demo.Demo --agent-jar agent/target/pagemark-agent.jar
 *      [--seconds 20] [--all] [--json] [--workload hot-rewire|mixed] [--heap-mb 64] [--mutators 2] [--seed 42]
 * </pre>
 *
 * Progress goes to stderr, the table (or with {@code --json} a JSON array) to stdout. Exits 0 when
 * every run finished and every oracle check passed.
 */
public final class Demo {
    /**
     * The agent options that adapt the sample runtime: its barrier, its heap allocation, the
     * method its collector calls before reading the card table and the one that clears it, and
     * where the card table and the heap it covers are found from there.
     */
    public static final String AGENT_OPTIONS = "barrier=io.pagemark.samples.runtime.CardTable#mark"
            + ",heap=io.pagemark.samples.runtime.Heap#reserveMemory"
            + ",card-scan=io.pagemark.samples.runtime.CardTable#drainDirty"
            + ",card-clear=io.pagemark.samples.runtime.CardTable#clear"
            + ",cards=cards,covers=covered";

    /**
     * What every JVM running pagemark needs (FFM native access, Agrona's use of jdk.internal.misc), as
     * this JVM was given them by the launcher: the children get the same.
     */
    private static final List<String> RUN_FLAGS = ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
            .filter(flag -> flag.startsWith("--enable-native-access") || flag.startsWith("--add-exports")).toList();
    private static final String WORKLOAD_MAIN = "io.pagemark.samples.runtime.WorkloadMain";

    private final Settings settings;
    private final PrintStream progress = System.err;

    private Demo(Settings settings) {
        this.settings = settings;
    }

    /** The command line, checked. */
    record Settings(Path agentJar, int seconds, boolean all, boolean json, String workload, int heapMb, int mutators, long seed) {
        static Settings parse(String[] args) {
            Path agentJar = Path.of("agent", "target", "pagemark-agent.jar");
            int seconds = 20, heapMb = 64, mutators = 2;
            long seed = 42;
            boolean all = false, json = false;
            String workload = Workload.HOT_REWIRE.name();
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--all" -> all = true;
                    case "--json" -> json = true;
                    case "--workload" -> workload = Workload.named(value(args, ++i, "--workload", "mixed or hot-rewire")).name();
                    case "--agent-jar" -> agentJar = Path.of(value(args, ++i, "--agent-jar", "a path to pagemark-agent.jar"));
                    case "--seconds" -> seconds = number(args, ++i, "--seconds", 1, 3600);
                    case "--heap-mb" -> heapMb = number(args, ++i, "--heap-mb", 4, 4095);
                    case "--mutators" -> mutators = number(args, ++i, "--mutators", 1, 255);
                    case "--seed" -> seed = number(args, ++i, "--seed", 0, Integer.MAX_VALUE);
                    default -> throw new IllegalArgumentException("unknown argument '" + args[i]
                            + "'; accepted: --seconds N, --all, --json, --workload NAME, --agent-jar PATH, --heap-mb N, --mutators N, --seed N");
                }
            }
            RuntimeConfig.sized((long) heapMb << 20, mutators);   // rejects a heap too small for the mutators, naming the minimum
            if (!Files.isRegularFile(agentJar)) {
                throw new IllegalArgumentException("no agent jar at " + agentJar.toAbsolutePath()
                        + "; build it with ./mvnw -q -pl agent -am package -DskipTests, or give --agent-jar PATH");
            }
            return new Settings(agentJar.toAbsolutePath(), seconds, all, json, workload, heapMb, mutators, seed);
        }

        private static String value(String[] args, int i, String name, String accepted) {
            if (i >= args.length) throw new IllegalArgumentException(name + " needs a value; accepted: " + accepted);
            return args[i];
        }

        private static int number(String[] args, int i, String name, int min, int max) {
            String v = value(args, i, name, "an integer " + min + ".." + max);
            try {
                int n = Integer.parseInt(v);
                if (n >= min && n <= max) return n;
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new IllegalArgumentException(name + " " + v + " is invalid; accepted: an integer " + min + ".." + max);
        }
    }

    /** One run's outcome: the child's result line, parsed. */
    record Row(String mode, String backend, double opsPerSecond, double opsPerCpuSecond, long stores, long cycles, double remarkP50, double remarkMax,
               double dirtyCards, double dirtyPages, long oracleChecks, boolean oracleOk, String failure) {}

    public static void main(String[] args) throws Exception {
        Settings settings;
        try {
            settings = Settings.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("demo: " + e.getMessage());
            System.exit(2);
            return;
        }
        System.exit(new Demo(settings).run());
    }

    private int run() throws Exception {
        List<String> backends = usableBackends();
        if (backends.isEmpty()) {
            progress.println("demo: no hardware backend is usable here; only the software card table runs (see ./pagemark probe)");
        }
        List<String> agentBackends = settings.all() ? backends : backends.stream().limit(1).toList();
        List<Row> rows = new ArrayList<>();
        rows.add(runOnce("card-table", null));
        for (String backend : agentBackends) rows.add(runOnce("agent", backend));
        if (settings.json()) printJson(rows, System.out);
        else printTable(rows, System.out);
        return rows.stream().allMatch(r -> r.oracleOk() && r.failure() == null) ? 0 : 1;
    }

    /** The hardware backends usable here, best first, as the agent sees them. */
    private List<String> usableBackends() throws IOException, InterruptedException {
        List<String> command = java();
        command.addAll(List.of("-jar", settings.agentJar().toString(), "backends"));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<String> names = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).lines().toList();
        if (p.waitFor() != 0) throw new IllegalStateException("the agent jar could not list the usable backends (exit " + p.exitValue() + ")");
        return names;
    }

    private Row runOnce(String mode, String backend) throws IOException, InterruptedException {
        String label = backend == null ? mode : mode + " on " + backend;
        List<String> command = java();
        if (backend != null) command.add("-javaagent:" + settings.agentJar() + "=" + AGENT_OPTIONS + ",backend=" + backend + ",jfr=off");
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), WORKLOAD_MAIN,
                "--seconds", String.valueOf(settings.seconds()), "--heap-mb", String.valueOf(settings.heapMb()),
                "--mutators", String.valueOf(settings.mutators()), "--seed", String.valueOf(settings.seed()),
                "--workload", settings.workload()));
        Process child = new ProcessBuilder(command).start();
        CompletableFuture<List<String>> stderr = CompletableFuture.supplyAsync(
                () -> new BufferedReader(new InputStreamReader(child.getErrorStream(), StandardCharsets.UTF_8)).lines().toList());
        String result = null;
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        for (String line; (line = out.readLine()) != null; ) {
            if (line.startsWith("progress ")) {
                progress.printf(Locale.ROOT, "%-24s %s%n", label, line.substring("progress ".length()));
            } else if (line.startsWith("result ")) {
                result = line.substring("result ".length());
            }
        }
        child.waitFor();
        List<String> errors = stderr.join();
        errors.stream().filter(l -> l.startsWith("pagemark agent:")).forEach(l -> progress.println(label + ": " + l));
        if (result == null) {
            return new Row(mode, backend == null ? "card-table" : backend, 0, 0, 0, 0, 0, 0, 0, 0, 0, false,
                    "the run printed no result (exit " + child.exitValue() + "): " + String.join(" | ", errors));
        }
        String failure = text(result, "failure");
        return new Row(mode, backend == null ? "card-table" : backend, number(result, "ops_per_s"), number(result, "ops_per_cpu_s"),
                (long) number(result, "stores"), (long) number(result, "cycles"),
                number(result, "remark_ms_p50"), number(result, "remark_ms_max"), number(result, "dirty_cards_per_cycle"),
                number(result, "dirty_pages_per_cycle"), (long) number(result, "oracle_checks"),
                Boolean.parseBoolean(text(result, "oracle_ok")), failure.equals("null") ? null : failure);
    }

    private static List<String> java() {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(RUN_FLAGS);
        return command;
    }

    private void printTable(List<Row> rows, PrintStream out) {
        out.printf(Locale.ROOT, "%nThe sample runtime, workload %s (%s), %d s per run, %d mutators, %d MiB heap, the same seed:%n%n",
                settings.workload(), settings.workload().equals(Workload.HOT_REWIRE.name())
                        ? "many reference stores per page dirtied: what a page-level barrier is for; --workload mixed shows the gain running out"
                        : "few reference stores per page dirtied: a page-level barrier gains little there; the default, hot-rewire, is what it is for",
                settings.seconds(), settings.mutators(), settings.heapMb());
        String format = "%-10s  %-11s  %13s  %13s  %6s  %10s  %10s  %11s  %11s  %s%n";
        out.printf(Locale.ROOT, format, "mode", "backend", "mutator", "mutator ops", "cycles", "remark", "remark", "dirty cards",
                "dirty pages", "oracle");
        out.printf(Locale.ROOT, format, "", "", "ops/s", "per CPU-s", "", "p50", "max", "per cycle", "per cycle", "");
        for (Row r : rows) {
            String oracle = r.failure() != null ? "FAILED: " + r.failure()
                    : (r.oracleOk() ? "ok" : "WRONG") + " (" + r.oracleChecks() + " checks)";
            out.printf(Locale.ROOT, format, r.mode(), r.backend(), String.format(Locale.ROOT, "%,.0f", r.opsPerSecond()),
                    String.format(Locale.ROOT, "%,.0f", r.opsPerCpuSecond()), r.cycles(),
                    String.format(Locale.ROOT, "%.2f ms", r.remarkP50()), String.format(Locale.ROOT, "%.2f ms", r.remarkMax()),
                    String.format(Locale.ROOT, "%.0f", r.dirtyCards()), String.format(Locale.ROOT, "%.0f", r.dirtyPages()), oracle);
        }
        Row baseline = rows.getFirst();
        out.println();
        for (Row r : rows.subList(1, rows.size())) {
            out.printf(Locale.ROOT, "agent on %s vs the runtime's own card table: mutator throughput %.2fx (per mutator CPU-second %.2fx)%n",
                    r.backend(), ratio(r.opsPerSecond(), baseline.opsPerSecond()), ratio(r.opsPerCpuSecond(), baseline.opsPerCpuSecond()));
        }
        if (baseline.cycles() > 0 && baseline.dirtyPages() > 0) {
            out.printf(Locale.ROOT, "reference stores per cycle per dirty page: %,.0f (a card mark is paid per store, a hardware barrier"
                    + " per page dirtied: docs/demo.md, \"When does it pay?\")%n", baseline.stores() / (double) baseline.cycles() / baseline.dirtyPages());
        }
        out.println("(ops/s excludes the oracle's pauses; per CPU-second counts only the mutators' own CPU time, kernel fault handling"
                + " included, and does not depend on how busy the machine is)");
    }

    private static double ratio(double value, double baseline) {
        return baseline == 0 ? 0 : value / baseline;
    }

    private static void printJson(List<Row> rows, PrintStream out) {
        StringBuilder json = new StringBuilder("[");
        for (Row r : rows) {
            if (json.length() > 1) json.append(',');
            json.append(String.format(Locale.ROOT, "{\"mode\":\"%s\",\"backend\":\"%s\",\"ops_per_s\":%.0f,\"ops_per_cpu_s\":%.0f,\"cycles\":%d,"
                            + "\"remark_ms_p50\":%.3f,\"remark_ms_max\":%.3f,\"dirty_cards_per_cycle\":%.1f,"
                            + "\"dirty_pages_per_cycle\":%.1f,\"oracle_ok\":%b}",
                    r.mode(), r.backend(), r.opsPerSecond(), r.opsPerCpuSecond(), r.cycles(), r.remarkP50(), r.remarkMax(), r.dirtyCards(),
                    r.dirtyPages(), r.oracleOk() && r.failure() == null));
        }
        out.println(json.append(']'));
    }

    private static final Pattern FIELD = Pattern.compile("\"([a-z_0-9]+)\":(\"(?:[^\"\\\\]|\\\\.)*\"|[^,}\\]]+)");

    /** A scalar field of the child's flat JSON result: its text as written (strings unquoted). */
    private static String text(String json, String name) {
        Matcher m = FIELD.matcher(json);
        while (m.find()) {
            if (m.group(1).equals(name)) {
                String v = m.group(2);
                return v.startsWith("\"") ? v.substring(1, v.length() - 1) : v;
            }
        }
        throw new IllegalStateException("the run's result has no field " + name + ": " + json);
    }

    private static double number(String json, String name) {
        return Double.parseDouble(text(json, name));
    }
}
