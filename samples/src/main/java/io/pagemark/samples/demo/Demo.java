package io.pagemark.samples.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.pagemark.Backend;
import io.pagemark.TrackedArena;
import io.pagemark.samples.cli.CommandLines;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

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
     * method its collector calls before reading the card table, the one that clears it and the
     * one that precleans it concurrently, and
     * where the card table and the heap it covers are found from there.
     */
    public static final String AGENT_OPTIONS = "barrier=io.pagemark.samples.runtime.CardTable#mark"
            + ",heap=io.pagemark.samples.runtime.Heap#reserveMemory"
            + ",card-scan=io.pagemark.samples.runtime.CardTable#drainDirty"
            + ",card-clear=io.pagemark.samples.runtime.CardTable#clear"
            + ",card-preclean=io.pagemark.samples.runtime.CardTable#precleanDirty"
            + ",cards=cards,covers=covered";

    /**
     * What every JVM running pagemark needs (FFM native access, Agrona's use of jdk.internal.misc), as
     * this JVM was given them by the launcher: the children get the same.
     */
    private static final List<String> RUN_FLAGS = ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
            .filter(flag -> flag.startsWith("--enable-native-access") || flag.startsWith("--add-exports")).toList();
    private static final String WORKLOAD_MAIN = "io.pagemark.samples.runtime.WorkloadMain";

    private final Options settings;
    private final PrintStream progress = System.err;

    private Demo(Options settings) {
        this.settings = settings;
    }

    /** The command line, checked. */
    @Command(name = "pagemark demo", separator = " ", sortOptions = false, sortSynopsis = false,
            description = "The sample runtime with its own card table, then under the agent on the best backend here"
                    + " (every usable one with --all); one table.")
    static final class Options implements CommandLines.Checked {
        @Option(names = "--seconds", paramLabel = "N", description = "seconds per run, 1..3600 (default 20)")
        int seconds = 20;
        @Option(names = "--all", description = "the agent on every usable backend, not only the best")
        boolean all;
        @Option(names = "--json", description = "one JSON array of rows instead of the table")
        boolean json;
        @Option(names = "--workload", paramLabel = "NAME", description = "hot-rewire (default) or mixed")
        String workload = Workload.HOT_REWIRE.name();
        @Option(names = "--agent-jar", paramLabel = "PATH", description = "the agent jar (default agent/target/pagemark-agent.jar)")
        Path agentJar = Path.of("agent", "target", "pagemark-agent.jar");
        @Option(names = "--heap-mb", paramLabel = "N", description = "the runtime's heap in MiB, 4..4095 (default 64)")
        int heapMb = 64;
        @Option(names = "--mutators", paramLabel = "N", description = "mutator threads, 1..255 (default 2)")
        int mutators = 2;
        @Option(names = "--seed", paramLabel = "N", description = "the workload's seed (default 42)")
        long seed = 42;
        @Option(names = "--bulk-pages", paramLabel = "N", description = "the agent's bulk-pages on the backends with a native fault path:"
                + " window (default) or a power of two, the pages each fault unprotects (1: one page per fault)")
        String bulkPages = "window";
        @Option(names = {"-h", "--help"}, usageHelp = true, description = "this help")
        boolean help;

        @Override
        public void check() {
            inRange("--seconds", seconds, 1, 3600);
            inRange("--heap-mb", heapMb, 4, 4095);
            inRange("--mutators", mutators, 1, 255);
            inRange("--seed", seed, 0, Integer.MAX_VALUE);
            workload = Workload.named(workload).name();
            if (!bulkPages.equals("window")) {
                try {
                    TrackedArena.builder().bulkPages(Integer.parseInt(bulkPages));   // a power of two in range, or its message
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("--bulk-pages " + bulkPages + " is not a number; accepted: window or a power of two");
                }
            }
            RuntimeConfig.sized((long) heapMb << 20, mutators);   // rejects a heap too small for the mutators, naming the minimum
            if (!Files.isRegularFile(agentJar)) {
                throw new IllegalArgumentException("no agent jar at " + agentJar.toAbsolutePath()
                        + "; build it with ./mvnw -q -pl agent -am package -DskipTests, or give --agent-jar PATH");
            }
            agentJar = agentJar.toAbsolutePath();
        }

        private static void inRange(String name, long value, long min, long max) {
            if (value < min || value > max) throw new IllegalArgumentException(name + " " + value + " is out of range; accepted: " + min + ".." + max);
        }
    }

    /** One run's outcome: the child's result line, parsed. */
    record Row(String mode, String backend, double opsPerSecond, double opsPerCpuSecond, long stores, long cycles, double remarkP50, double remarkMax,
               double[] remarkParts, double dirtyCards, double dirtyPages, long oracleChecks, boolean oracleOk, String failure) {}

    /** The remark's parts as the child reports them (remark_parts_ms_p50), in this order. */
    private static final List<String> REMARK_PARTS = List.of("stop", "cards", "rescan", "trace", "other");

    public static void main(String[] args) throws Exception {
        CommandLines.exit(args, Options::new, options -> new Demo(options).run());
    }

    private int run() throws Exception {
        double loadAtStart = Host.loadAverage();
        List<String> backends = usableBackends();
        if (backends.isEmpty()) {
            progress.println("demo: no hardware backend is usable here; only the software card table runs (see ./pagemark probe)");
        }
        List<String> agentBackends = settings.all ? backends : backends.stream().limit(1).toList();
        List<Row> rows = new ArrayList<>();
        rows.add(runOnce("card-table", null));
        for (String backend : agentBackends) rows.add(runOnce("agent", backend));
        String host = Host.describe(loadAtStart, Host.loadAverage());
        if (settings.json) printJson(rows, host, System.out);
        else printTable(rows, host, System.out);
        return rows.stream().allMatch(r -> r.oracleOk() && r.failure() == null) ? 0 : 1;
    }

    /** The hardware backends usable here, best first, as the agent sees them. */
    private List<String> usableBackends() throws IOException, InterruptedException {
        List<String> command = java();
        command.addAll(List.of("-jar", settings.agentJar.toString(), "backends"));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<String> names = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).lines().toList();
        if (p.waitFor() != 0) throw new IllegalStateException("the agent jar could not list the usable backends (exit " + p.exitValue() + ")");
        return names;
    }

    private Row runOnce(String mode, String backend) throws IOException, InterruptedException {
        String label = backend == null ? mode : mode + " on " + backend;
        List<String> command = java();
        if (backend != null) {
            boolean nativeFaultPath = Backend.parse(backend).has(Backend.Trait.NATIVE_FAULT_PATH);
            command.add("-javaagent:" + settings.agentJar + "=" + AGENT_OPTIONS + ",backend=" + backend + ",jfr=off"
                    + (nativeFaultPath ? ",bulk-pages=" + settings.bulkPages : ""));
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), WORKLOAD_MAIN,
                "--seconds", String.valueOf(settings.seconds), "--heap-mb", String.valueOf(settings.heapMb),
                "--mutators", String.valueOf(settings.mutators), "--seed", String.valueOf(settings.seed),
                "--workload", settings.workload));
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
            return new Row(mode, backend == null ? "card-table" : backend, 0, 0, 0, 0, 0, 0, new double[REMARK_PARTS.size()], 0, 0, 0, false,
                    "the run printed no result (exit " + child.exitValue() + "): " + String.join(" | ", errors));
        }
        JsonNode r = JSON.readTree(result);
        return new Row(mode, backend == null ? "card-table" : backend, field(r, "ops_per_s").asDouble(), field(r, "ops_per_cpu_s").asDouble(),
                field(r, "stores").asLong(), field(r, "cycles").asLong(),
                field(r, "remark_ms_p50").asDouble(), field(r, "remark_ms_max").asDouble(),
                REMARK_PARTS.stream().mapToDouble(part -> field(field(r, "remark_parts_ms_p50"), part).asDouble()).toArray(),
                field(r, "dirty_cards_per_cycle").asDouble(),
                field(r, "dirty_pages_per_cycle").asDouble(), field(r, "oracle_checks").asLong(),
                field(r, "oracle_ok").asBoolean(), field(r, "failure").isNull() ? null : field(r, "failure").asText());
    }

    private static List<String> java() {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(RUN_FLAGS);
        return command;
    }

    private void printTable(List<Row> rows, String host, PrintStream out) {
        out.printf(Locale.ROOT, "%nHost: %s%n", host);
        out.printf(Locale.ROOT, "The sample runtime, workload %s (%s), %d s per run, %d mutators, %d MiB heap, the same seed:%n%n",
                settings.workload, settings.workload.equals(Workload.HOT_REWIRE.name())
                        ? "many reference stores per page dirtied: what a page-level barrier is for; --workload mixed shows the gain running out"
                        : "few reference stores per page dirtied: a page-level barrier gains little there; the default, hot-rewire, is what it is for",
                settings.seconds, settings.mutators, settings.heapMb);
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
        out.printf(Locale.ROOT, "%nWhere the remark goes (median of each part, ms): stop = time to safepoint; cards = reading the card table"
                + " (under the agent with its collect of the dirty pages and the marking of their cards); rescan = the objects on dirty cards;"
                + " trace = the roots and marking to the end%n");
        String parts = "%-10s  %-11s" + "  %8s".repeat(REMARK_PARTS.size()) + "%n";
        List<Object> header = new ArrayList<>(List.of("mode", "backend"));
        header.addAll(REMARK_PARTS);
        out.printf(Locale.ROOT, parts, header.toArray());
        for (Row r : rows) {
            List<Object> cells = new ArrayList<>(List.of(r.mode(), r.backend()));
            for (double ms : r.remarkParts()) cells.add(String.format(Locale.ROOT, "%.3f", ms));
            out.printf(Locale.ROOT, parts, cells.toArray());
        }
        Row baseline = rows.getFirst();
        out.println();
        for (Row r : rows.subList(1, rows.size())) {
            out.printf(Locale.ROOT, "agent on %s vs the runtime's own card table: mutator throughput %.2fx (per mutator CPU-second %.2fx),"
                            + " remark p50 %.2fx%n", r.backend(), ratio(r.opsPerSecond(), baseline.opsPerSecond()),
                    ratio(r.opsPerCpuSecond(), baseline.opsPerCpuSecond()), ratio(r.remarkP50(), baseline.remarkP50()));
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

    private static void printJson(List<Row> rows, String host, PrintStream out) throws IOException {
        ArrayNode json = JSON.createArrayNode();
        for (Row r : rows) {
            var row = json.addObject();
            row.put("host", host);
            for (int i = 0; i < REMARK_PARTS.size(); i++) row.put("remark_" + REMARK_PARTS.get(i) + "_ms_p50", rounded(r.remarkParts()[i], 1000));
            row.put("mode", r.mode()).put("backend", r.backend())
                    .put("ops_per_s", Math.round(r.opsPerSecond())).put("ops_per_cpu_s", Math.round(r.opsPerCpuSecond()))
                    .put("cycles", r.cycles()).put("remark_ms_p50", rounded(r.remarkP50(), 1000)).put("remark_ms_max", rounded(r.remarkMax(), 1000))
                    .put("dirty_cards_per_cycle", rounded(r.dirtyCards(), 10)).put("dirty_pages_per_cycle", rounded(r.dirtyPages(), 10))
                    .put("oracle_ok", r.oracleOk() && r.failure() == null);
        }
        out.println(JSON.writeValueAsString(json));
    }

    private static double rounded(double value, int scale) {
        return Math.round(value * scale) / (double) scale;
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A field of the child's JSON result. */
    private static JsonNode field(JsonNode result, String name) {
        JsonNode value = result.get(name);
        if (value == null) throw new IllegalStateException("the run's result has no field " + name + ": " + result);
        return value;
    }
}
