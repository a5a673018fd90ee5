package io.pagemark.bench.report;

import io.pagemark.Backend;
import io.pagemark.bench.Arenas;
import io.pagemark.bench.CReference;
import io.pagemark.bench.CheckpointBenchmark;
import io.pagemark.bench.CollectBenchmark;
import io.pagemark.bench.CollectJvmCostBenchmark;
import io.pagemark.bench.CrossoverBenchmark;
import io.pagemark.bench.CutBenchmark;
import io.pagemark.bench.EndToEndBenchmark;
import io.pagemark.bench.FirstWriteBenchmark;
import io.pagemark.bench.Sizes;
import io.pagemark.bench.SnapshotBenchmark;
import io.pagemark.bench.SoftDirtyScanBenchmark;
import io.pagemark.bench.StoreCostBenchmark;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Turns a benchmark run's directory (the JMH JSON, {@value RunInfo#FILE}, the latency histograms)
 * into {@value #REPORT} (every table), {@value #README_SECTION} (the README's performance section,
 * ready to paste) and PNG charts under {@value #CHARTS}/. Every ratio compares two results of the
 * same run: store cost against untracked stores, first-write cost against uffd-async, collect cost
 * against the soft-dirty scanning primitives, epoch time against card-table, the sample runtime under
 * the agent against its own card table.
 *
 * <pre>
 * java -cp benchmarks.jar io.pagemark.bench.report.ReportGenerator DIR
 * </pre>
 */
public final class ReportGenerator {
    public static final String REPORT = "report.md";
    public static final String README_SECTION = "README-performance.md";
    public static final String CHARTS = "charts";
    /** The JMH results file name the report reads. */
    public static final String RESULTS = "results.json";
    /** The directory of latency histogram logs the report reads. */
    public static final String HISTOGRAMS = "histograms";

    static final String STORE = StoreCostBenchmark.class.getSimpleName() + ".storeBatch";
    static final String FIRST_WRITE = FirstWriteBenchmark.class.getSimpleName() + ".firstWrite";
    /** FirstWriteBenchmark's bulkPages for each backend's default (the native backends' adaptive window), which the tables show. */
    static final String WINDOW = "0";
    static final String FIRST_WRITE_LATENCY = FirstWriteBenchmark.class.getSimpleName() + ".firstWriteLatency";
    static final String COLLECT = CollectBenchmark.class.getSimpleName() + ".collect";
    static final String PAGEMAP_READ = SoftDirtyScanBenchmark.class.getSimpleName() + ".pagemapRead";
    static final String CLEAR_REFS = SoftDirtyScanBenchmark.class.getSimpleName() + ".clearRefs";
    static final String EPOCH = CrossoverBenchmark.class.getSimpleName() + ".epoch";
    static final String CHECKPOINT = CheckpointBenchmark.class.getSimpleName() + ".checkpoint";
    static final String COPY_TO_FILE = CheckpointBenchmark.FullCopy.class.getSimpleName() + ".toFile";
    static final String COPY_TO_MEMORY = CheckpointBenchmark.FullCopy.class.getSimpleName() + ".toMemory";
    static final String SNAPSHOT_ARM = SnapshotBenchmark.class.getSimpleName() + ".arm";
    static final String SNAPSHOT = SnapshotBenchmark.class.getSimpleName() + ".snapshot";
    static final String SNAPSHOT_STW = SnapshotBenchmark.class.getSimpleName() + ".stopTheWorldCopy";
    static final String SNAPSHOT_WRITES = SnapshotBenchmark.class.getSimpleName() + ".writes";
    static final String CUT = CutBenchmark.class.getSimpleName() + ".cut";
    static final String CUT_STW = CutBenchmark.class.getSimpleName() + ".stopTheWorldCopy";
    static final String CUT_THREAD_RUNNING = CutBenchmark.class.getSimpleName() + ".cutWhileAThreadRuns";
    static final String GATED_CUT_THREAD_RUNNING = CutBenchmark.class.getSimpleName() + ".gatedCutWhileAThreadRuns";
    static final String END_TO_END = EndToEndBenchmark.class.getSimpleName() + ".run";
    static final String JVM_COST = CollectJvmCostBenchmark.class.getSimpleName() + ".heapWorkload";
    private static final Set<String> KNOWN = Set.of(STORE, FIRST_WRITE, FIRST_WRITE_LATENCY, COLLECT, PAGEMAP_READ, CLEAR_REFS, EPOCH,
            CHECKPOINT, COPY_TO_FILE, COPY_TO_MEMORY, SNAPSHOT_ARM, SNAPSHOT, SNAPSHOT_STW, SNAPSHOT_WRITES, CUT, CUT_STW, CUT_THREAD_RUNNING, GATED_CUT_THREAD_RUNNING, END_TO_END, JVM_COST);
    private static final String BASELINE_FAULT = Backend.UFFD_ASYNC.id();
    private static final String CARD_TABLE = Backend.CARD_TABLE.id();
    /** A run that started with a higher 1-minute load average than this shared the machine. */
    private static final double BUSY_LOAD = 0.5;

    private static final double TARGET_FACTOR = 1.2;

    private final Path dir;
    private final Results results;
    private final RunInfo info;
    private final LatencyDistributions latencies;
    /** The run's C reference measurements ({@link CReferences}). */
    private final List<CReference.Measurement> reference;
    /** Chart files written, by title, as links relative to the report. */
    private final Map<String, String> charts = new LinkedHashMap<>();

    private ReportGenerator(Path dir, Results results, RunInfo info, LatencyDistributions latencies, List<CReference.Measurement> reference) {
        this.dir = dir;
        this.results = results;
        this.info = info;
        this.latencies = latencies;
        this.reference = reference;
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: ReportGenerator DIR   (DIR holds " + RESULTS + " and " + RunInfo.FILE + " of a bench run)");
            System.exit(2);
        }
        System.out.println("report: " + generate(Path.of(args[0])));
    }

    /**
     * Writes the report, the README section and the charts into {@code dir} from the run there.
     *
     * @return the report file
     */
    public static Path generate(Path dir) throws IOException {
        // The charts render off-screen; without this AWT may look for a display.
        System.setProperty("java.awt.headless", "true");
        ReportGenerator g = new ReportGenerator(dir, Results.read(dir.resolve(RESULTS)), RunInfo.read(dir),
                LatencyDistributions.read(dir.resolve(HISTOGRAMS)), CReferences.read(dir));
        return g.write();
    }

    private Path write() throws IOException {
        String store = storeCost();
        String firstWrite = firstWrite();
        String latency = latencyDistributions();
        String collect = collect();
        String crossover = crossover();
        StringBuilder report = new StringBuilder()
                .append("# pagemark benchmark report\n\n")
                .append(runFacts()).append('\n')
                .append("## Conclusions (from ratios)\n\n").append(conclusions()).append('\n')
                .append(targets()).append(store).append(firstWrite).append(latency).append(collect).append(crossover)
                .append(jvmCost()).append(checkpoint()).append(snapshot()).append(cuts()).append(endToEnd()).append(otherResults());
        Path reportFile = dir.resolve(REPORT);
        Files.writeString(reportFile, report);
        Files.writeString(dir.resolve(README_SECTION), readmeSection());
        return reportFile;
    }

    // ---- sections ----

    private String runFacts() {
        StringBuilder sb = new StringBuilder();
        sb.append("Run: `").append(info.profile()).append("` profile, started ").append(info.started())
                .append(String.format(Locale.ROOT, ", %.0f s.", info.elapsedSeconds())).append('\n');
        sb.append("Machine: ").append(machine()).append(".\n");
        sb.append("Backends measured: ").append(String.join(", ", info.backends())).append(".\n");
        info.skipped().forEach((id, reason) -> sb.append("Skipped ").append(id).append(": ").append(reason).append(".\n"));
        if (busy()) {
            sb.append(String.format(Locale.ROOT, "\n**Noisy:** the machine was busy (1-minute load average %.2f at the start, %.2f at the end); "
                    + "absolute times are unreliable, ratios less so.\n", info.loadAverageStart(), info.loadAverageEnd()));
        }
        if (!info.missing().isEmpty()) {
            sb.append("\n**Failed runs (no result):** ").append(String.join("; ", info.missing())).append('\n');
        }
        sb.append("\nEvery time is the median of JMH's samples (sample-time mode), divided by the operations a sample holds "
                + "(stores of a batch, pages of an arm). Absolute times are this machine's; compare backends by the ratios, "
                + "which are taken within this run.\n");
        return sb.toString();
    }

    private String machine() {
        return String.format(Locale.ROOT, "%s, %d cores, %.0f GiB, Linux %s, %s", info.cpu(), info.cores(),
                info.memoryBytes() / (double) (1L << 30), info.kernel(), info.jvm());
    }

    /** At the end the load includes the benchmarks' own threads (two writers on two cores), so only more than that is someone else. */
    private boolean busy() {
        return info.loadAverageStart() > BUSY_LOAD || info.loadAverageEnd() > BUSY_LOAD + info.cores();
    }

    private String targets() {
        MarkdownTable t = new MarkdownTable(List.of("mechanism", "C, this run", "Java, this run", "Java / C", "within " + TARGET_FACTOR + "x"));
        for (CReferences.Comparison comparison : CReferences.COMPARISONS) {
            List<Map<String, String>> measured = results.all().stream().filter(r -> r.benchmark().equals(comparison.benchmark()))
                    .map(Result::params).filter(comparison::covers).toList();
            for (Map<String, String> params : measured) {
                CReferences.Pairing pairing = comparison.pairing(params);
                double java = pairing.benchmark().equals(FIRST_WRITE) ? nanos(FIRST_WRITE, params) / faultFraction(params)
                        : pairing.benchmark().equals(FIRST_WRITE_LATENCY) ? medianFault(params)
                        : nanos(pairing.benchmark(), params);
                double c = CReferences.find(reference, pairing).map(CReference.Measurement::medianNanos).orElse(Double.NaN);
                double ratio = java / c;
                t.row(List.of(comparison.mechanism().apply(params), Double.isNaN(c) ? "not measured" : time(c),
                        Double.isNaN(java) ? "not measured" : time(java),
                        Double.isNaN(ratio) ? "" : factor(ratio), Double.isNaN(ratio) ? "" : ratio <= TARGET_FACTOR ? "yes" : "**no**"));
            }
        }
        if (t.isEmpty()) return "";
        Map<String, String> one = Map.of("backend", "mprotect", "order", "seq", "writers", "1", "bulkPages", WINDOW);
        Map<String, String> two = Map.of("backend", "mprotect", "order", "seq", "writers", "2", "bulkPages", WINDOW);
        double oneWriter = nanos(FIRST_WRITE, one) / faultFraction(one), twoWriters = nanos(FIRST_WRITE, two) / faultFraction(two);
        String mprotectNote = Double.isNaN(oneWriter) || Double.isNaN(twoWriters) ? ""
                : String.format(Locale.ROOT, "\nmprotect with 2 writers: %s per fault, %s the 1-writer cost (the reference expects it slower: a TLB shootdown per fault).\n",
                time(twoWriters), factor(twoWriters / oneWriter));
        return "## Against the mechanisms driven from C\n\nEach mechanism's cost when a small C program drives it directly "
                + "(`jmh/src/main/c/reference.c`: the same kernel calls on the same sizes and pages, medians), measured in this run "
                + "right after the Java benchmark it pairs with, next to the same mechanism driven from Java through pagemark: "
                + "what pagemark's own layers add. A first write's cost is given "
                + "twice: per fault over a whole arm (the time of all first writes divided by the faults taken, or by the pages "
                + "where the backend cannot count faults) and as the median fault timed one by one (less sensitive to other "
                + "work on the machine).\n\n" + t.render() + mprotectNote + '\n';
    }

    private String storeCost() {
        List<String> barriers = ordered(results.values(STORE, "barrier"));
        if (barriers.isEmpty()) return "";
        List<String> headers = new ArrayList<>(List.of("order", "range"));
        headers.addAll(barriers);
        MarkdownTable t = new MarkdownTable(headers);
        for (String order : results.values(STORE, "order")) {
            for (String range : results.values(STORE, "range")) {
                double base = nanos(STORE, Map.of("barrier", Arenas.UNTRACKED, "order", order, "range", range));
                List<String> row = new ArrayList<>(List.of(order, range));
                for (String b : barriers) row.add(cell(nanos(STORE, Map.of("barrier", b, "order", order, "range", range)), base));
                t.row(row);
            }
        }
        return "## Store cost (steady state)\n\nTime per 8-byte store; in brackets the ratio to an untracked store in the same row. "
                + "Hardware backends are armed after every page was dirtied, so their stores never fault; all but untracked go "
                + "through `TrackedArena.putLong`.\n\n" + t.render() + '\n';
    }

    private String firstWrite() {
        List<String> backends = ordered(results.values(FIRST_WRITE, "backend"));
        if (backends.isEmpty()) return "";
        return "## First write per page\n\nTime of the first 8-byte store to a page after arm, per page (an invocation writes "
                + FirstWriteBenchmark.PAGES + " pages, each present before arm); in brackets the ratio to " + BASELINE_FAULT + " in the same row. "
                + "On card-table it is a store and a card mark.\n\n" + firstWriteTable(backends) + '\n' + faultsTable(backends) + '\n';
    }

    /** Faults taken per page written, for the backends that count their faults; empty when none does. */
    private String faultsTable(List<String> backends) {
        List<String> counted = backends.stream().filter(b -> results.values(FIRST_WRITE, "order").stream().anyMatch(
                o -> !Double.isNaN(faultsPerPage(Map.of("backend", b, "order", o, "writers", "1", "bulkPages", WINDOW))))).toList();
        if (counted.isEmpty()) return "";
        List<String> headers = new ArrayList<>(List.of("order", "writers"));
        headers.addAll(counted);
        MarkdownTable t = new MarkdownTable(headers);
        for (String order : results.values(FIRST_WRITE, "order")) {
            for (String writers : results.values(FIRST_WRITE, "writers")) {
                List<String> row = new ArrayList<>(List.of(order, writers));
                for (String b : counted) {
                    double f = faultsPerPage(Map.of("backend", b, "order", order, "writers", writers, "bulkPages", WINDOW));
                    row.add(Double.isNaN(f) ? "n/a" : String.format(Locale.ROOT, "%.3f", f));
                }
                t.row(row);
            }
        }
        return "Faults taken per page written (fewer than one where a backend unprotects more than the faulting page):\n\n" + t.render();
    }

    private String firstWriteTable(List<String> backends) {
        List<String> headers = new ArrayList<>(List.of("order", "writers"));
        headers.addAll(backends);
        MarkdownTable t = new MarkdownTable(headers);
        for (String order : results.values(FIRST_WRITE, "order")) {
            for (String writers : results.values(FIRST_WRITE, "writers")) {
                double base = nanos(FIRST_WRITE, Map.of("backend", BASELINE_FAULT, "order", order, "writers", writers, "bulkPages", WINDOW));
                List<String> row = new ArrayList<>(List.of(order, writers));
                for (String b : backends) row.add(cell(nanos(FIRST_WRITE, Map.of("backend", b, "order", order, "writers", writers, "bulkPages", WINDOW)), base));
                t.row(row);
            }
        }
        return t.render();
    }

    private String latencyDistributions() throws IOException {
        List<String> backends = ordered(results.values(FIRST_WRITE_LATENCY, "backend"));
        if (backends.isEmpty()) return "";
        MarkdownTable t = new MarkdownTable(List.of("backend", "order", "writers", "p50", "p90", "p99", "p99.9", "max", "stores timed"));
        StringBuilder chartLinks = new StringBuilder();
        for (String writers : results.values(FIRST_WRITE_LATENCY, "writers")) {
            List<Charts.Series> series = new ArrayList<>();
            for (String b : backends) {
                for (String order : results.values(FIRST_WRITE_LATENCY, "order")) {
                    Optional<Histogram> h = latencies.find(FIRST_WRITE_LATENCY, Map.of("backend", b, "order", order, "writers", writers, "bulkPages", WINDOW));
                    if (h.isEmpty()) continue;
                    Histogram hist = h.get();
                    t.row(List.of(b, order, writers, time(hist.getValueAtPercentile(50)), time(hist.getValueAtPercentile(90)),
                            time(hist.getValueAtPercentile(99)), time(hist.getValueAtPercentile(99.9)), time(hist.getMaxValue()),
                            Long.toString(hist.getTotalCount())));
                    series.add(percentileSeries(b + " " + order, hist));
                }
            }
            String title = "First-write latency, " + writers + (writers.equals("1") ? " writer" : " writers");
            String file = "first-write-latency-" + writers + "-writers.png";
            if (Charts.percentiles(dir.resolve(CHARTS).resolve(file), title, "latency (µs)", series)) {
                charts.put(title, CHARTS + "/" + file);
                chartLinks.append("![").append(title).append("](").append(CHARTS).append('/').append(file).append(")\n");
            }
        }
        if (t.isEmpty()) return "";
        return "## First-write latency distribution\n\nEvery first write timed on its own (two clock reads around the store, "
                + "recorded in an HdrHistogram), measurement iterations only. The clock reads add a few tens of nanoseconds, "
                + "so card-table's row shows mostly the clock.\n\n" + t.render() + '\n' + chartLinks + '\n';
    }

    /** A histogram as (percentile, µs) points, from the minimum to the 99.999th percentile. */
    private static Charts.Series percentileSeries(String name, Histogram h) {
        List<Double> x = new ArrayList<>(), y = new ArrayList<>();
        for (double p : new double[] {0, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.995, 99.999}) {
            x.add(p);
            y.add(h.getValueAtPercentile(p) / 1000.0);
        }
        return new Charts.Series(name, x, y);
    }

    private String collect() throws IOException {
        List<String> backends = ordered(results.values(COLLECT, "backend"));
        List<String> sizes = sizes();
        if (sizes.isEmpty()) return "";
        StringBuilder sb = new StringBuilder("## Collect cost\n\nTime of one `collect()` (the backend's scan and re-arm, and building "
                + "`DirtyPages`) after one store to each of the dirty pages; in brackets the ratio to the soft-dirty scanning "
                + "primitives at the same size and fraction: pagemap read + clear_refs, what a soft-dirty collect costs at least "
                + "(measured on any kernel: both walk the page tables whether or not the soft-dirty bit works; clear_refs walks "
                + "the whole process).\n\n");
        for (String size : sizes) {
            sb.append("### ").append(size).append("\n\n").append(collectTable(size, backends)).append('\n');
            String title = "Collect cost vs dirty fraction, " + size + " arena";
            String file = "collect-" + size + ".png";
            if (Charts.logLog(dir.resolve(CHARTS).resolve(file), title, "dirty pages (%)", "time per collect (µs)",
                    collectSeries(size, backends))) {
                charts.put(title, CHARTS + "/" + file);
                sb.append("![").append(title).append("](").append(CHARTS).append('/').append(file).append(")\n\n");
            }
        }
        return sb.toString();
    }

    private List<String> sizes() {
        List<String> sizes = new ArrayList<>(results.values(COLLECT, "size"));
        for (String s : results.values(PAGEMAP_READ, "size")) if (!sizes.contains(s)) sizes.add(s);
        sizes.sort(Comparator.comparingLong(Sizes::parse));
        return sizes;
    }

    private List<String> fractions(String benchmark) {
        List<String> f = new ArrayList<>(results.values(benchmark, "dirtyPercent"));
        f.sort(Comparator.comparingDouble(Double::parseDouble));
        return f;
    }

    private String collectTable(String size, List<String> backends) {
        List<String> headers = new ArrayList<>(List.of("dirty", "pagemap read", "clear_refs", "soft-dirty scan"));
        headers.addAll(backends);
        MarkdownTable t = new MarkdownTable(headers);
        List<String> fractions = fractions(COLLECT);
        for (String f : fractions(PAGEMAP_READ)) if (!fractions.contains(f)) fractions.add(f);
        for (String f : fractions) {
            Map<String, String> at = Map.of("size", size, "dirtyPercent", f);
            double read = nanos(PAGEMAP_READ, at), clear = nanos(CLEAR_REFS, at), scan = read + clear;
            List<String> row = new ArrayList<>(List.of(f + "%", time(read), time(clear), time(scan)));
            for (String b : backends) row.add(cell(nanos(COLLECT, Map.of("backend", b, "size", size, "dirtyPercent", f)), scan));
            t.row(row);
        }
        return t.render();
    }

    private List<Charts.Series> collectSeries(String size, List<String> backends) {
        List<Charts.Series> series = new ArrayList<>();
        List<String> scanFractions = fractions(PAGEMAP_READ);
        series.add(new Charts.Series("soft-dirty scan (pagemap read + clear_refs)", doubles(scanFractions),
                scanFractions.stream().map(f -> micros(nanos(PAGEMAP_READ, Map.of("size", size, "dirtyPercent", f))
                        + nanos(CLEAR_REFS, Map.of("size", size, "dirtyPercent", f)))).toList()));
        List<String> fractions = fractions(COLLECT);
        for (String b : backends) {
            series.add(new Charts.Series(b, doubles(fractions),
                    fractions.stream().map(f -> micros(nanos(COLLECT, Map.of("backend", b, "size", size, "dirtyPercent", f)))).toList()));
        }
        return series;
    }

    private String crossover() throws IOException {
        List<String> backends = ordered(results.values(EPOCH, "backend"));
        if (backends.isEmpty()) return "";
        List<String> stores = storesPerPage();
        List<String> headers = new ArrayList<>(List.of("stores per page"));
        headers.addAll(backends);
        MarkdownTable t = new MarkdownTable(headers);
        for (String s : stores) {
            double card = nanos(EPOCH, Map.of("backend", CARD_TABLE, "storesPerPage", s));
            List<String> row = new ArrayList<>(List.of(s));
            for (String b : backends) row.add(cell(nanos(EPOCH, Map.of("backend", b, "storesPerPage", s)), card));
            t.row(row);
        }
        List<Charts.Series> series = new ArrayList<>();
        for (String b : backends) {
            series.add(new Charts.Series(b, doubles(stores),
                    stores.stream().map(s -> micros(nanos(EPOCH, Map.of("backend", b, "storesPerPage", s)))).toList()));
        }
        StringBuilder sb = new StringBuilder("## Crossover: card marking versus the hardware barrier\n\nOne epoch: "
                + CrossoverBenchmark.DIRTY_PAGES + " pages of a " + CrossoverBenchmark.ARENA_MIB + " MiB arena each get S 8-byte "
                + "stores through the write API, then one collect; time per epoch, in brackets the ratio to card-table. "
                + "A hardware backend pays one fault per dirtied page and its collect; card-table a mark per store and a scan "
                + "of the whole card table.\n\n").append(t.render()).append('\n').append(crossoverTable()).append('\n');
        String title = "Time per epoch vs stores per dirtied page";
        if (Charts.logLog(dir.resolve(CHARTS).resolve("crossover.png"), title, "stores per dirtied page per epoch (S)",
                "time per epoch (µs)", series)) {
            charts.put(title, CHARTS + "/crossover.png");
            sb.append("![").append(title).append("](").append(CHARTS).append("/crossover.png)\n\n");
        }
        return sb.toString();
    }

    private List<String> storesPerPage() {
        List<String> s = new ArrayList<>(results.values(EPOCH, "storesPerPage"));
        s.sort(Comparator.comparingLong(Long::parseLong));
        return s;
    }

    private String crossoverTable() {
        MarkdownTable t = new MarkdownTable(List.of("hardware backend", "beats card-table from S ="));
        for (String b : ordered(results.values(EPOCH, "backend"))) {
            if (!b.equals(CARD_TABLE)) t.row(List.of(b, crossoverPoint(b)));
        }
        return t.render();
    }

    /**
     * The smallest S (stores per page per epoch) from which backend {@code b} stays faster than
     * card-table, interpolated geometrically between the two measured S around the crossing.
     */
    private String crossoverPoint(String b) {
        List<String> stores = storesPerPage();
        double prevS = Double.NaN, prevRatio = Double.NaN;
        String answer = null;
        for (String s : stores) {
            double ratio = nanos(EPOCH, Map.of("backend", b, "storesPerPage", s))
                    / nanos(EPOCH, Map.of("backend", CARD_TABLE, "storesPerPage", s));
            if (Double.isNaN(ratio)) return "n/a";
            double sv = Double.parseDouble(s);
            if (ratio > 1) {
                answer = null;
            } else if (answer == null) {
                if (Double.isNaN(prevS)) {
                    answer = "≤ " + s + " (wins over the whole range)";
                } else {
                    double logS = Math.log(prevS) + (Math.log(sv) - Math.log(prevS)) * Math.log(prevRatio) / (Math.log(prevRatio) - Math.log(ratio));
                    answer = String.format(Locale.ROOT, "≈ %s (between %s and %s)", round(Math.exp(logS)), (long) prevS, s);
                }
            }
            prevS = sv;
            prevRatio = ratio;
        }
        return answer != null ? answer : "> " + stores.getLast() + " (card-table wins over the whole range)";
    }

    private String jvmCost() {
        List<String> backends = ordered(results.values(JVM_COST, "backend"));
        if (backends.isEmpty()) return "";
        double card = nanos(JVM_COST, Map.of("backend", CARD_TABLE));
        MarkdownTable t = new MarkdownTable(List.of("backend", "heap workload after a collect"));
        for (String b : backends) t.row(List.of(b, cell(nanos(JVM_COST, Map.of("backend", b)), card)));
        return "## What a collect costs the rest of the JVM\n\nA heap workload (a store to each page of 64 MiB of old data, "
                + "32 MiB of new objects) timed right after one collect of a small arena, median of the runs; in brackets the "
                + "ratio to card-table. Only soft-dirty's collect reaches outside its arena (clear_refs write-protects the whole "
                + "process); where soft-dirty is compiled out every backend should be at 1x, within the noise.\n\n" + t.render() + '\n';
    }

    private String checkpoint() {
        List<String> arenas = results.values(CHECKPOINT, "arenaBytes");
        if (arenas.isEmpty()) return "";
        StringBuilder sb = new StringBuilder("## Checkpoint throughput\n\nOne incremental checkpoint (the dirty pages as a delta: "
                + "checksummed, fsynced, published) against saving the whole arena without knowing what changed; in brackets the "
                + "ratio to a full copy of the arena to a file (write + fsync). Dirty MB/s = dirty bytes / time.\n\n");
        for (String arena : arenas) {
            long bytes = Long.parseLong(arena);
            Map<String, String> copy = Map.of("arenaBytes", arena);
            double toFile = nanos(COPY_TO_FILE, copy), toMemory = nanos(COPY_TO_MEMORY, copy);
            MarkdownTable t = new MarkdownTable(List.of("backend", "dirty", "checkpoint", "dirty MB/s"));
            for (String backend : ordered(results.values(CHECKPOINT, "backend"))) {
                List<String> fractions = new ArrayList<>(results.values(CHECKPOINT, "dirtyPercent"));
                fractions.sort(Comparator.comparingDouble(Double::parseDouble));
                for (String f : fractions) {
                    double ns = nanos(CHECKPOINT, Map.of("arenaBytes", arena, "backend", backend, "dirtyPercent", f));
                    double mbPerSecond = bytes * Double.parseDouble(f) / 100 / 1e6 / (ns / 1e9);
                    t.row(List.of(backend, f + "%", cell(ns, toFile), Double.isNaN(ns) ? "n/a" : String.format(Locale.ROOT, "%.0f", mbPerSecond)));
                }
            }
            sb.append("### ").append(Sizes.format(bytes)).append(" arena\n\n").append(t.render())
                    .append("\nFull copy to a file: ").append(time(toFile)).append("; to memory (a stop-the-world copy): ")
                    .append(time(toMemory)).append(".\n\n");
        }
        return sb.toString();
    }

    private String snapshot() {
        List<String> arenas = results.values(SNAPSHOT_ARM, "arenaBytes");
        if (arenas.isEmpty()) return "";
        StringBuilder sb = new StringBuilder("## Live snapshot\n\nA consistent snapshot taken while writers run (copy-before-write) "
                + "against a stop-the-world copy of the same arena. Arming: the start, write-protecting the arena (writers that fault "
                + "meanwhile wait for it; afterwards a write waits at most for its own fault and one page copy). Snapshot: start "
                + "to last page saved in memory by the background thread. "
                + "Store: a writer's random 8-byte store alone and while snapshots run back to back (in brackets the slowdown). "
                + "fork(): the pause of a fork-based snapshot (Redis' BGSAVE), timed by the C reference in this run: fork() of a "
                + "process holding the same memory, populated, until it returns in the parent.\n\n");
        for (String arena : arenas) {
            double fork = forkPause(Long.parseLong(arena));
            MarkdownTable t = new MarkdownTable(List.of("backend", "arming (pause)", "snapshot", "stop-the-world copy (pause)",
                    "store alone", "store during snapshots", "fork() (pause)"));
            for (String backend : ordered(results.values(SNAPSHOT_ARM, "backend"))) {
                Map<String, String> at = Map.of("arenaBytes", arena, "backend", backend);
                double alone = nanos(SNAPSHOT_WRITES, Map.of("arenaBytes", arena, "backend", backend, "duringSnapshots", "false"));
                double during = nanos(SNAPSHOT_WRITES, Map.of("arenaBytes", arena, "backend", backend, "duringSnapshots", "true"));
                t.row(List.of(backend, time(nanos(SNAPSHOT_ARM, at)), time(nanos(SNAPSHOT, at)), time(nanos(SNAPSHOT_STW, at)),
                        time(alone), cell(during, alone), time(fork)));
            }
            sb.append("### ").append(Sizes.format(Long.parseLong(arena))).append(" arena\n\n").append(t.render()).append('\n');
        }
        return sb.toString();
    }

    private String cuts() {
        List<String> sizes = results.values(CUT, "size");
        if (sizes.isEmpty()) return "";
        StringBuilder sb = new StringBuilder("## Consistent cuts\n\nThe pause of a cut (`CutSource.cut()`: the pages written since "
                + "the previous cut, as at its instant) against the share of pages written since the previous one: on uffd-sync, "
                + "uffd-sigbus and mprotect the re-protect of those pages (copy-before-write; the writers are never stopped), on "
                + "uffd-async a writer pause in which they are collected and copied. Beside it a stop-the-world copy of the whole "
                + "arena, and fork() of a process holding the same memory, populated, timed by the C reference in this run (the "
                + "pause of a fork-based snapshot); in brackets the cut's pause as a multiple of fork()'s.\n\n");
        for (String size : sizes) {
            for (String huge : results.values(CUT, "hugePages")) {
                double fork = CReferences.find(reference, CReferences.CUT_FORK_ANCHOR.pairing(Map.of("size", size, "hugePages", huge)))
                        .map(CReference.Measurement::medianNanos).orElse(Double.NaN);
                List<String> fractions = fractions(CUT);
                List<String> headers = new ArrayList<>(List.of("backend"));
                fractions.forEach(f -> headers.add(f + "% written"));
                headers.add("stop-the-world copy");
                MarkdownTable t = new MarkdownTable(headers);
                for (String backend : ordered(results.values(CUT, "backend"))) {
                    List<String> row = new ArrayList<>(List.of(backend));
                    for (String f : fractions) row.add(cell(nanos(CUT, Map.of("backend", backend, "size", size, "dirtyPercent", f, "hugePages", huge)), fork));
                    row.add(time(nanos(CUT_STW, Map.of("backend", backend, "size", size, "dirtyPercent", fractions.getFirst(), "hugePages", huge))));
                    t.row(row);
                }
                if (t.isEmpty()) continue;
                sb.append("### ").append(size).append(Boolean.parseBoolean(huge) ? ", transparent huge pages" : ", 4 KiB pages")
                        .append(" (fork(): ").append(time(fork)).append(")\n\n").append(t.render()).append('\n');
            }
        }
        return sb.toString();
    }

    /** The C reference's fork() pause for {@code bytes} of populated memory in this run, NaN if not measured. */
    private double forkPause(long bytes) {
        return CReferences.find(reference, CReferences.FORK_ANCHOR.pairing(Map.of("arenaBytes", Long.toString(bytes))))
                .map(CReference.Measurement::medianNanos).orElse(Double.NaN);
    }

    /** The end-to-end results of one workload, card-table first. */
    private List<Result> endToEndRuns(String workload) {
        List<Result> runs = new ArrayList<>(results.all().stream()
                .filter(r -> r.benchmark().equals(END_TO_END) && workload.equals(r.params().get("workload"))).toList());
        runs.sort(Comparator.comparingInt(r -> rank(r.params().get("backend"))));
        return runs;
    }

    private static double mutatorOpsPerSecond(Result r) {
        return r.counters().getOrDefault("mutatorOps", Double.NaN) * 1e9 / r.counters().getOrDefault("mutatorNanos", Double.NaN);
    }

    private static double mutatorOpsPerCpuSecond(Result r) {
        return r.counters().getOrDefault("mutatorOps", Double.NaN) * 1e9 / r.counters().getOrDefault("mutatorCpuNanos", Double.NaN);
    }

    /** The median remark pause of an end-to-end result in nanoseconds, NaN when its runs completed no cycle. */
    private double remarkMedian(Result r) {
        return latencies.find(END_TO_END, r.params()).filter(h -> h.getTotalCount() > 0)
                .map(h -> (double) h.getValueAtPercentile(50)).orElse(Double.NaN);
    }

    private String endToEndTable(String workload) {
        List<Result> runs = endToEndRuns(workload);
        Result base = runs.stream().filter(r -> r.params().get("backend").equals(EndToEndBenchmark.CARD_TABLE)).findFirst().orElse(null);
        MarkdownTable t = new MarkdownTable(List.of("runtime", "mutator ops/s", "ops per mutator CPU-s", "remark p50", "remark p99",
                "remark max", "cycles"));
        for (Result r : runs) {
            String backend = r.params().get("backend");
            Optional<Histogram> remarks = latencies.find(END_TO_END, r.params()).filter(h -> h.getTotalCount() > 0);
            t.row(List.of(backend.equals(EndToEndBenchmark.CARD_TABLE) ? "own card table" : "agent on " + backend,
                    rate(mutatorOpsPerSecond(r), base == null ? Double.NaN : mutatorOpsPerSecond(base)),
                    rate(mutatorOpsPerCpuSecond(r), base == null ? Double.NaN : mutatorOpsPerCpuSecond(base)),
                    cell(remarkMedian(r), base == null ? Double.NaN : remarkMedian(base)),
                    time(remarks.map(h -> (double) h.getValueAtPercentile(99)).orElse(Double.NaN)),
                    time(remarks.map(h -> (double) h.getMaxValue()).orElse(Double.NaN)),
                    String.format(Locale.ROOT, "%.0f", r.counters().getOrDefault("cycles", Double.NaN))));
        }
        return t.render();
    }

    private String endToEnd() {
        List<String> workloads = results.values(END_TO_END, "workload");
        if (workloads.isEmpty()) return "";
        StringBuilder sb = new StringBuilder("## End to end: the sample runtime, its own card table versus the agent\n\n"
                + "The sample runtime (off-heap heap, 2 mutator threads, incremental collector) as written, with its software "
                + "card table and write barrier, and under the pagemark agent on each hardware backend (barrier calls removed, "
                + "heap in a tracked arena, card table marked from the dirty pages before each remark). Same seed, same run "
                + "length; in brackets the ratio to the runtime's own card table (above 1 is better for throughput, below 1 for "
                + "the pause). Ops per mutator CPU-second do not depend on how much CPU other processes left: compare those on a "
                + "busy machine. The remark pause includes the time to stop the mutators and, under the agent, the collect of "
                + "the dirty pages.\n\n");
        for (String workload : workloads) sb.append("### Workload ").append(workload).append("\n\n").append(endToEndTable(workload)).append('\n');
        return sb.toString();
    }

    private String otherResults() {
        MarkdownTable t = new MarkdownTable(List.of("benchmark", "parameters", "score", "error", "unit"));
        for (Result r : results.all()) {
            if (KNOWN.contains(r.benchmark())) continue;
            t.row(List.of(r.benchmark(), r.params().toString(), String.format(Locale.ROOT, "%.4g", r.rawScore()),
                    Double.isNaN(r.rawError()) ? "" : String.format(Locale.ROOT, "± %.2g", r.rawError()), r.rawUnit()));
        }
        return t.isEmpty() ? "" : "## Other benchmarks\n\n" + t.render() + '\n';
    }

    // ---- conclusions and the README section ----

    private String conclusions() {
        List<String> lines = new ArrayList<>();
        for (String range : results.values(STORE, "range")) {
            double base = nanos(STORE, Map.of("barrier", Arenas.UNTRACKED, "order", "seq", "range", range));
            double card = nanos(STORE, Map.of("barrier", CARD_TABLE, "order", "seq", "range", range));
            double hw = nanos(STORE, Map.of("barrier", BASELINE_FAULT, "order", "seq", "range", range));
            if (!Double.isNaN(base / card)) {
                lines.add(String.format(Locale.ROOT, "Steady-state stores (seq, %s): a card-marked store costs %s an untracked one; "
                        + "on %s, armed and dirty, %s.", range, factor(card / base), BASELINE_FAULT, factor(hw / base)));
            }
        }
        List<String> faultBackends = ordered(results.values(FIRST_WRITE, "backend"));
        double asyncFault = nanos(FIRST_WRITE, Map.of("backend", BASELINE_FAULT, "order", "seq", "writers", "1", "bulkPages", WINDOW));
        List<String> faults = new ArrayList<>();
        for (String b : faultBackends) {
            if (b.equals(BASELINE_FAULT) || b.equals(CARD_TABLE)) continue;
            faults.add(b + " " + factor(nanos(FIRST_WRITE, Map.of("backend", b, "order", "seq", "writers", "1", "bulkPages", WINDOW)) / asyncFault));
        }
        if (!faults.isEmpty()) lines.add("First write per page (seq, 1 writer) relative to " + BASELINE_FAULT + ": " + String.join(", ", faults) + ".");
        for (String size : results.values(COLLECT, "size")) {
            List<String> fractions = fractions(COLLECT);
            if (fractions.isEmpty()) continue;
            String low = fractions.getFirst(), high = fractions.getLast();
            double scanLow = nanos(PAGEMAP_READ, Map.of("size", size, "dirtyPercent", low)) + nanos(CLEAR_REFS, Map.of("size", size, "dirtyPercent", low));
            double scanHigh = nanos(PAGEMAP_READ, Map.of("size", size, "dirtyPercent", high)) + nanos(CLEAR_REFS, Map.of("size", size, "dirtyPercent", high));
            List<String> parts = new ArrayList<>();
            for (String b : ordered(results.values(COLLECT, "backend"))) {
                parts.add(String.format(Locale.ROOT, "%s %s / %s", b,
                        factor(nanos(COLLECT, Map.of("backend", b, "size", size, "dirtyPercent", low)) / scanLow),
                        factor(nanos(COLLECT, Map.of("backend", b, "size", size, "dirtyPercent", high)) / scanHigh)));
            }
            lines.add("Collect of a " + size + " arena relative to the soft-dirty scanning primitives, at " + low + "% / " + high + "% dirty: "
                    + String.join(", ", parts) + ".");
        }
        List<String> cross = new ArrayList<>();
        for (String b : ordered(results.values(EPOCH, "backend"))) if (!b.equals(CARD_TABLE)) cross.add(b + " " + crossoverPoint(b));
        if (!cross.isEmpty()) lines.add("The hardware barrier beats card marking from S stores per dirtied page per epoch: " + String.join("; ", cross) + ".");
        for (String workload : results.values(END_TO_END, "workload")) {
            List<Result> runs = endToEndRuns(workload);
            Result base = runs.stream().filter(r -> r.params().get("backend").equals(EndToEndBenchmark.CARD_TABLE)).findFirst().orElse(null);
            if (base == null) continue;
            List<String> parts = new ArrayList<>();
            for (Result r : runs) {
                if (r == base) continue;
                parts.add(String.format(Locale.ROOT, "%s %s (per mutator CPU-s %s), remark p50 %s", r.params().get("backend"),
                        factor(mutatorOpsPerSecond(r) / mutatorOpsPerSecond(base)), factor(mutatorOpsPerCpuSecond(r) / mutatorOpsPerCpuSecond(base)),
                        factor(remarkMedian(r) / remarkMedian(base))));
            }
            if (!parts.isEmpty()) {
                lines.add("The sample runtime (" + workload + ") under the agent relative to its own card table, mutator throughput: "
                        + String.join("; ", parts) + ".");
            }
        }
        for (String arena : results.values(CHECKPOINT, "arenaBytes")) {
            double toFile = nanos(COPY_TO_FILE, Map.of("arenaBytes", arena));
            List<String> parts = new ArrayList<>();
            for (String f : results.values(CHECKPOINT, "dirtyPercent")) {
                parts.add(f + "% dirty " + factor(nanos(CHECKPOINT, Map.of("arenaBytes", arena, "dirtyPercent", f)) / toFile));
            }
            lines.add("Incremental checkpoint (" + Sizes.format(Long.parseLong(arena))
                    + " arena) relative to a full copy to a file: " + String.join(", ", parts) + ".");
        }
        StringBuilder sb = new StringBuilder();
        for (String l : lines) sb.append("- ").append(l).append('\n');
        return sb.toString();
    }

    private String readmeSection() {
        String base = linkBase();
        StringBuilder sb = new StringBuilder("## Performance\n\n");
        sb.append("Latest `./pagemark bench --").append(info.profile()).append("` run: ").append(info.started(), 0, Math.min(10, info.started().length()))
                .append(", ").append(machine()).append(". Absolute times are this machine's; the conclusions are drawn from ratios "
                        + "measured within the same run. Full report: [").append(base).append(REPORT).append("](").append(base).append(REPORT).append(").\n");
        if (busy()) sb.append("\n**Noisy run:** the machine was busy while it ran; rerun on a quiet machine before quoting numbers.\n");
        sb.append('\n').append(conclusions()).append('\n');
        List<String> barriers = ordered(results.values(STORE, "barrier"));
        if (!barriers.isEmpty()) sb.append(storeCost().replace("## ", "### "));
        List<String> backends = ordered(results.values(FIRST_WRITE, "backend"));
        if (!backends.isEmpty()) {
            sb.append("### First write per page\n\nPer page; in brackets the ratio to ").append(BASELINE_FAULT).append(".\n\n")
                    .append(firstWriteTable(backends)).append('\n');
        }
        List<String> sizes = sizes();
        if (!sizes.isEmpty()) {
            String size = sizes.contains("256MiB") ? "256MiB" : sizes.getFirst();
            sb.append("### Collect, ").append(size).append(" arena\n\nIn brackets the ratio to the soft-dirty scanning primitives "
                    + "(pagemap read + clear_refs).\n\n").append(collectTable(size, ordered(results.values(COLLECT, "backend")))).append('\n');
        }
        if (!results.values(EPOCH, "backend").isEmpty()) sb.append("### Crossover\n\n").append(crossoverTable()).append('\n');
        for (String workload : results.values(END_TO_END, "workload")) {
            sb.append("### End to end: the sample runtime (").append(workload).append(")\n\nIts own card table versus the agent; "
                    + "in brackets the ratio to its own card table.\n\n").append(endToEndTable(workload)).append('\n');
        }
        charts.forEach((title, link) -> sb.append("![").append(title).append("](").append(base).append(link).append(")\n"));
        return sb.toString();
    }

    /** The run directory as a link prefix from the repository root (the launcher's working directory), e.g. {@code jmh/results/quick/}. */
    private String linkBase() {
        Path cwd = Path.of("").toAbsolutePath();
        Path abs = dir.toAbsolutePath().normalize();
        Path link = abs.startsWith(cwd) ? cwd.relativize(abs) : abs;
        String s = link.toString().replace('\\', '/');
        return s.isEmpty() ? "" : s + "/";
    }

    /**
     * The time of one operation of {@code benchmark} with {@code params} in nanoseconds (NaN if not
     * measured): JMH's per-operation median, divided by the stores of a batch for the store benchmark.
     */
    private double nanos(String benchmark, Map<String, String> params) {
        double perResult = benchmark.equals(STORE) ? StoreCostBenchmark.STORES : 1;
        return results.nanos(benchmark, params) / perResult;
    }

    /** The share of first writes that fault: counted where the backend counts, else every one (uffd-async). */
    private double faultFraction(Map<String, String> params) {
        double f = faultsPerPage(params);
        return Double.isNaN(f) || f <= 0 ? 1 : f;
    }

    /**
     * The median of the faulting first writes: when a share f of the timed stores fault (the slow
     * ones), their median is the (1 - f/2) quantile of all of them.
     */
    private double medianFault(Map<String, String> params) {
        double percentile = 100 * (1 - faultFraction(params) / 2);
        return latencies.find(FIRST_WRITE_LATENCY, params).map(h -> (double) h.getValueAtPercentile(percentile)).orElse(Double.NaN);
    }

    /**
     * Faults taken per page written in the first-write benchmark with {@code params} (at most 1; less
     * where a backend unprotects more than the faulting page), or NaN where the backend cannot count
     * its faults.
     */
    private double faultsPerPage(Map<String, String> params) {
        return results.find(FIRST_WRITE, params)
                .filter(r -> r.counters().getOrDefault("pages", 0.0) > 0)
                .map(r -> r.counters().get("faults") / r.counters().get("pages"))
                .orElse(Double.NaN);
    }

    // ---- formatting ----

    /** Backend ids in a stable order: untracked, card-table, then the hardware backends as {@link Backend} lists them. */
    static List<String> ordered(List<String> ids) {
        List<String> sorted = new ArrayList<>(ids);
        sorted.sort(Comparator.comparingInt(ReportGenerator::rank));
        return sorted;
    }

    private static int rank(String id) {
        if (id.equals(Arenas.UNTRACKED)) return -2;
        if (id.equals(CARD_TABLE)) return -1;
        return Backend.parse(id).ordinal();
    }

    static String time(double nanos) {
        if (Double.isNaN(nanos)) return "n/a";
        if (nanos < 1e3) return significant(nanos) + " ns";
        if (nanos < 1e6) return significant(nanos / 1e3) + " µs";
        if (nanos < 1e9) return significant(nanos / 1e6) + " ms";
        return significant(nanos / 1e9) + " s";
    }

    private static String significant(double v) {
        return String.format(Locale.ROOT, v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.2f", v);
    }

    static String factor(double ratio) {
        if (Double.isNaN(ratio) || Double.isInfinite(ratio)) return "n/a";
        return String.format(Locale.ROOT, ratio >= 100 ? "%.0fx" : ratio >= 10 ? "%.1fx" : "%.2fx", ratio);
    }

    private static String cell(double nanos, double baseline) {
        if (Double.isNaN(nanos)) return "n/a";
        return time(nanos) + " (" + factor(nanos / baseline) + ")";
    }

    /** A rate (per second) and, in brackets, its ratio to {@code baseline}. */
    private static String rate(double perSecond, double baseline) {
        if (Double.isNaN(perSecond) || Double.isInfinite(perSecond)) return "n/a";
        String value = perSecond >= 1e6 ? String.format(Locale.ROOT, "%.2f M", perSecond / 1e6)
                : perSecond >= 1e3 ? String.format(Locale.ROOT, "%.1f k", perSecond / 1e3) : String.format(Locale.ROOT, "%.0f", perSecond);
        return value + " (" + factor(perSecond / baseline) + ")";
    }

    private static String round(double v) {
        double magnitude = Math.pow(10, Math.floor(Math.log10(v)) - 1);
        return Long.toString(Math.round(Math.round(v / magnitude) * magnitude));
    }

    private static double micros(double nanos) {
        return nanos / 1e3;
    }

    private static List<Double> doubles(List<String> values) {
        return values.stream().map(Double::parseDouble).toList();
    }
}
