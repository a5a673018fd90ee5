package io.pagemark.bench.run;

import io.pagemark.Capabilities;
import io.pagemark.bench.BenchmarkName;
import io.pagemark.bench.CReference;
import io.pagemark.bench.EndToEndBenchmark;
import io.pagemark.bench.JvmFlags;
import io.pagemark.bench.report.CReferences;
import io.pagemark.bench.report.ReportGenerator;
import io.pagemark.bench.report.RunInfo;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatFactory;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.BenchmarkList;
import org.openjdk.jmh.runner.BenchmarkListEntry;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.format.OutputFormat;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.VerboseMode;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * {@code ./pagemark bench}: runs the benchmark suite for a {@link Profile}, writes the JMH JSON
 * ({@value ReportGenerator#RESULTS}), the C reference's results taken beside the benchmarks they pair with
 * ({@value CReferences#FILE}), the run's facts ({@value RunInfo#FILE}) and the per-fault latency histograms
 * into one directory, then the report ({@link ReportGenerator}) next to them.
 *
 * <pre>
 * bench [--quick | --full | --smoke] [--out DIR] [--only REGEX] [--agent-jar PATH]
 * </pre>
 */
@Command(name = "pagemark bench", separator = " ", sortOptions = false, sortSynopsis = false,
        description = "The JMH suite (every usable backend against card-table), then the report: results.json, report.md,"
                + " README-performance.md and charts/*.png in the output directory.")
public final class BenchCommand {
    /** One profile at most. */
    static final class Profiles {
        @Option(names = "--quick", description = "the reduced matrix (under 15 minutes on 2 cores); default output jmh/results/quick")
        boolean quick;
        @Option(names = "--full", description = "everything (the default); default output jmh/results/full")
        boolean full;
        @Option(names = "--smoke", description = "every benchmark once on tiny inputs, timings meaningless (what the test suite runs)")
        boolean smoke;

        Profile profile() {
            return quick ? Profile.QUICK : smoke ? Profile.SMOKE : Profile.FULL;
        }
    }

    /** A regular expression, or a usage error saying what is wrong with it. */
    static final class RegexConverter implements CommandLine.ITypeConverter<Pattern> {
        @Override
        public Pattern convert(String value) {
            try {
                return Pattern.compile(value);
            } catch (PatternSyntaxException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a regular expression: " + e.getDescription());
            }
        }
    }

    @ArgGroup(exclusive = true)
    private Profiles profiles = new Profiles();
    @Option(names = "--out", paramLabel = "DIR", description = "where results.json, run-info.json, histograms/, report.md and charts/ go")
    private Path out;
    @Option(names = "--only", paramLabel = "REGEX", converter = RegexConverter.class,
            description = "run only the benchmarks whose method name (io.pagemark.bench.Class.method) matches")
    private Pattern only;
    @Option(names = "--agent-jar", paramLabel = "PATH", description = "the agent for the end-to-end benchmark (default: agent/target/pagemark-agent.jar)")
    private Path agentJar;
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "this help")
    private boolean help;

    private BenchCommand() {}

    public static void main(String[] args) {
        BenchCommand command = new BenchCommand();
        CommandLine commandLine = new CommandLine(command);
        try {
            if (commandLine.parseArgs(args).isUsageHelpRequested()) {
                commandLine.usage(System.out);
                return;
            }
        } catch (CommandLine.ParameterException e) {
            String message = e.getMessage().replaceFirst("^Error: ", "");
            System.err.println("pagemark bench: " + Character.toLowerCase(message.charAt(0)) + message.substring(1) + "; usage: "
                    + commandLine.getHelp().synopsis(0).strip().replaceAll("\\s*\n\\s*", " ") + " (--help says more)");
            System.exit(2);
        }
        Profile profile = command.profiles == null ? Profile.FULL : command.profiles.profile();
        Path out = command.out != null ? command.out : Path.of("jmh", "results", profile.name().toLowerCase(java.util.Locale.ROOT));
        try {
            RunInfo info = run(profile, out, command.only, command.agentJar, System.out);
            if (!info.missing().isEmpty()) {
                System.err.println("pagemark bench: " + info.missing().size() + " benchmark run(s) failed, see the JMH output above: " + info.missing());
                System.exit(1);
            }
        } catch (AgentJar.MissingException | NothingToRunException e) {
            System.err.println("pagemark bench: " + e.getMessage());
            System.exit(2);
        } catch (RunnerException | IOException | RuntimeException e) {
            System.err.println("pagemark bench: " + e);
            e.printStackTrace();
            System.exit(1);
        }
    }

    /**
     * Runs every benchmark (or those whose method name matches {@code only}) for {@code profile},
     * then writes the report into {@code out}. The end-to-end benchmark's agent runs load {@code agentJar},
     * or when null the agent jar found under the working directory.
     *
     * @return the run's facts, including the runs that failed (in {@link Profile#SMOKE} a failure throws instead)
     */
    public static RunInfo run(Profile profile, Path out, Pattern only, Path agentJar, PrintStream log) throws RunnerException, IOException {
        ZonedDateTime started = ZonedDateTime.now();
        long t0 = System.nanoTime();
        double loadStart = Machine.loadAverage();
        Capabilities capabilities = Capabilities.probe();
        BackendSelection backends = new BackendSelection(capabilities);
        backends.skipped().forEach((id, reason) -> log.println("bench: skipping backend " + id + ", not usable here: " + reason));
        List<Planned> plan = plan(profile, only, backends, log);
        // Before the output directory is touched: a run that cannot start leaves the last report as it was.
        if (plan.isEmpty()) throw new NothingToRunException(nothingToRun(only));
        // Found before anything runs: a missing agent jar should not surface after minutes of benchmarks.
        Path agent = plan.stream().anyMatch(Planned::needsAgent) ? AgentJar.find(agentJar) : null;
        Path histograms = out.resolve(ReportGenerator.HISTOGRAMS);
        Files.createDirectories(histograms);
        deleteOldHistograms(histograms);

        List<RunResult> results = new ArrayList<>();
        List<CReference.Measurement> reference = new ArrayList<>();
        TreeSet<String> expected = new TreeSet<>();
        for (Planned run : plan) {
            List<String> flags = forkFlags(histograms);
            if (run.needsAgent()) flags.addAll(EndToEndBenchmark.agentFlags(run.params().get(BackendSelection.BACKEND).getFirst(), agent));
            ChainedOptionsBuilder options = new OptionsBuilder()
                    .include("^" + Pattern.quote(run.method()) + "$")
                    .forks(1)
                    .shouldFailOnError(profile == Profile.SMOKE)
                    .verbosity(profile == Profile.SMOKE ? VerboseMode.SILENT : VerboseMode.NORMAL)
                    .jvmArgsAppend(flags.toArray(String[]::new));
            run.params().forEach((param, values) -> options.param(param, values.toArray(String[]::new)));
            Profile.Timing timing = profile.timing();
            if (timing != null) {
                options.warmupTime(timing.warmupTime()).measurementTime(timing.measurementTime());
                if (timing.singleShotToo() || run.mode() != Mode.SingleShotTime) {
                    options.warmupIterations(timing.warmupIterations()).measurementIterations(timing.measurementIterations());
                }
            }
            log.println("bench: " + BenchmarkName.simple(run.method()) + " " + run.params() + (run.needsAgent() ? " under the agent" : ""));
            expected.addAll(combinations(run.method(), run.params()));
            results.addAll(new Runner(options.build(), outputFormat(profile, log)).run());
            writeResults(out.resolve(ReportGenerator.RESULTS), results);
            measureInC(run, reference, expected, log);
            CReferences.write(out, reference);
        }
        for (RunResult r : results) expected.remove(key(r.getParams()));

        RunInfo info = new RunInfo(profile.name().toLowerCase(java.util.Locale.ROOT),
                started.format(DateTimeFormatter.ISO_OFFSET_DATE_TIME), (System.nanoTime() - t0) / 1e9,
                capabilities.kernelRelease(), Machine.cpu(), Runtime.getRuntime().availableProcessors(), Machine.memoryBytes(),
                System.getProperty("java.vm.name") + " " + Runtime.version(), loadStart, Machine.loadAverage(),
                backends.usableBackends(), backends.skipped(), List.copyOf(expected));
        info.write(out);
        Path report = ReportGenerator.generate(out);
        log.println("bench: results in " + out.resolve(ReportGenerator.RESULTS) + ", report in " + report);
        return info;
    }

    /** The plan came out empty: nothing was run and no report is written (the message says why). */
    public static final class NothingToRunException extends IllegalArgumentException {
        NothingToRunException(String message) {
            super(message);
        }
    }

    private static String nothingToRun(Pattern only) {
        if (only == null) return "no benchmark measures a backend usable here (each is skipped above)";
        if (!benchmarks(only).isEmpty()) return "the benchmarks --only '" + only + "' matches measure no backend usable here (skipped above)";
        List<String> classes = benchmarks(null).stream().map(e -> BenchmarkName.simple(e.getUsername()))
                .map(name -> name.substring(0, name.indexOf('.'))).distinct().sorted().toList();
        return "--only '" + only + "' matches no benchmark; accepted: a regular expression found in a method name"
                + " (io.pagemark.bench.Class.method), e.g. 'CollectBenchmark.collect$'; the classes: " + String.join(", ", classes);
    }

    /**
     * One JMH run: a benchmark method and its parameter values. The end-to-end benchmark runs once per
     * backend, because the fork's flags depend on it: the agent for every backend but card-table.
     */
    private record Planned(String method, Mode mode, Map<String, List<String>> params) {
        boolean needsAgent() {
            return isEndToEnd(method) && !params.get(BackendSelection.BACKEND).getFirst().equals(EndToEndBenchmark.CARD_TABLE);
        }
    }

    private static List<Planned> plan(Profile profile, Pattern only, BackendSelection backends, PrintStream log) {
        List<Planned> plan = new ArrayList<>();
        for (BenchmarkListEntry method : benchmarks(only)) {
            String name = BenchmarkName.simple(method.getUsername());
            int dot = name.indexOf('.');
            Map<String, List<String>> params = params(method, profile.params(name.substring(0, dot), name.substring(dot + 1)), backends);
            if (params.values().stream().anyMatch(List::isEmpty)) {
                log.println("bench: skipping " + name + ": no backend it measures is usable here");
            } else if (isEndToEnd(method.getUsername())) {
                for (String backend : params.get(BackendSelection.BACKEND)) {
                    Map<String, List<String>> one = new LinkedHashMap<>(params);
                    one.put(BackendSelection.BACKEND, List.of(backend));
                    plan.add(new Planned(method.getUsername(), method.getMode(), one));
                }
            } else {
                plan.add(new Planned(method.getUsername(), method.getMode(), params));
            }
        }
        return plan;
    }

    /**
     * The C reference measurements that pair with the run just made (the same kernel calls on the same sizes, for the report's
     * Java-vs-C table, and the fork() anchor), taken now: minutes apart from the Java side at most, on the same machine.
     * One that fails goes into {@code failed}, with the runs that produced no result.
     */
    private static void measureInC(Planned run, List<CReference.Measurement> into, TreeSet<String> failed, PrintStream log) {
        for (CReferences.Pairing pairing : CReferences.after(BenchmarkName.simple(run.method()), run.params())) {
            log.println("bench: C reference " + pairing.measurement() + " " + pairing.options());
            try {
                CReference.Measurement m = CReference.measure(pairing.measurement(), pairing.options());
                log.println("bench: C reference " + pairing.measurement() + ": median " + m.medianNanos() + " ns of " + m.samples() + " samples");
                into.add(m);
            } catch (CReference.UnavailableException e) {
                log.println("bench: C reference " + pairing.measurement() + " not measured, not possible here: " + e.getMessage());
            } catch (RuntimeException e) {
                log.println("bench: C reference " + pairing.measurement() + " failed: " + e.getMessage());
                failed.add("C reference " + pairing.measurement() + pairing.options());
            }
        }
    }

    private static boolean isEndToEnd(String method) {
        return method.startsWith(EndToEndBenchmark.class.getName() + ".");
    }

    /** The suite's benchmark methods (those matching {@code only}, when given), sorted by name. */
    public static List<BenchmarkListEntry> benchmarks(Pattern only) {
        return BenchmarkList.defaultList().getAll(OutputFormatFactory.createFormatInstance(System.out, VerboseMode.SILENT), List.of())
                .stream().filter(e -> only == null || only.matcher(e.getUsername()).find()).toList();
    }

    /** Every parameter of the method with the values this run uses: backends filtered, profile overrides, else the annotation's. */
    private static Map<String, List<String>> params(BenchmarkListEntry entry, Map<String, List<String>> overrides, BackendSelection backends) {
        Map<String, List<String>> params = new LinkedHashMap<>();
        entry.getParams().orElse(Map.of()).forEach((name, defaults) -> {
            if (BackendSelection.isBackendParam(name)) params.put(name, backends.usable(defaults));
            else params.put(name, overrides.getOrDefault(name, List.of(defaults)));
        });
        return params;
    }

    private static List<String> forkFlags(Path histograms) {
        List<String> flags = new ArrayList<>(List.of(JvmFlags.all()));
        flags.add("-D" + JvmFlags.HISTOGRAM_DIR_PROPERTY + "=" + histograms.toAbsolutePath());
        return flags;
    }

    private static OutputFormat outputFormat(Profile profile, PrintStream log) {
        return OutputFormatFactory.createFormatInstance(log, profile == Profile.SMOKE ? VerboseMode.SILENT : VerboseMode.NORMAL);
    }

    /** The keys of every parameter combination of {@code method}, as {@link #key} builds them from a result. */
    private static List<String> combinations(String method, Map<String, List<String>> params) {
        List<Map<String, String>> combos = new ArrayList<>(List.of(new TreeMap<>()));
        params.forEach((name, values) -> {
            List<Map<String, String>> next = new ArrayList<>();
            for (Map<String, String> c : combos) {
                for (String v : values) {
                    Map<String, String> m = new TreeMap<>(c);
                    m.put(name, v);
                    next.add(m);
                }
            }
            combos.clear();
            combos.addAll(next);
        });
        return combos.stream().map(c -> method + c).toList();
    }

    private static String key(BenchmarkParams params) {
        Map<String, String> m = new TreeMap<>();
        for (String k : params.getParamsKeys()) m.put(k, params.getParam(k));
        return params.getBenchmark() + m;
    }

    private static void writeResults(Path file, List<RunResult> results) throws IOException {
        try (PrintStream ps = new PrintStream(Files.newOutputStream(file), false, java.nio.charset.StandardCharsets.UTF_8)) {
            ResultFormatFactory.getInstance(ResultFormatType.JSON, ps).writeOut(results);
        }
    }

    private static void deleteOldHistograms(Path dir) throws IOException {
        try (DirectoryStream<Path> old = Files.newDirectoryStream(dir, "*" + io.pagemark.bench.LatencyHistograms.EXTENSION)) {
            for (Path p : old) Files.delete(p);
        }
    }
}
