package io.pagemark.bench.report;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.pagemark.Capabilities;
import io.pagemark.bench.CReference;
import io.pagemark.bench.FirstWriteBenchmark;
import io.pagemark.bench.Sizes;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Which C reference measurements ({@link CReference}) a bench run takes, and beside which benchmark: the
 * rows of the report's Java-vs-C table, and the anchors that are not Java at all (fork(), a memcpy). The
 * bench command runs the C side of a pairing right after the benchmark it pairs with has run with
 * those parameter values, so both are measured on one machine minutes apart at most; the results go
 * to {@value #FILE} next to the JMH results.
 */
public final class CReferences {
    /** The C results of a run, next to {@link ReportGenerator#RESULTS}. */
    public static final String FILE = "reference.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * A C measurement taken after benchmark {@code benchmark} ({@code SimpleClass.method}) ran with {@code params}.
     *
     * @param options the C measurement's options ({@link CReference}'s option names)
     */
    public record Pairing(String benchmark, Map<String, String> params, String measurement, Map<String, String> options) {}

    /**
     * A row of the Java-vs-C table (or an anchor) for every value its free parameters take: the Java result of
     * {@code benchmark} with the {@code fixed} parameter values and any values of the {@code free} ones, beside
     * C {@code measurement} with the options {@code options} makes of those parameters.
     */
    public record Comparison(String benchmark, Map<String, String> fixed, List<String> free, String measurement,
                             Function<Map<String, String>, Map<String, String>> options, Function<Map<String, String>, String> mechanism) {
        /** The pairing for the benchmark's parameters {@code params} (fixed and free). */
        Pairing pairing(Map<String, String> params) {
            return new Pairing(benchmark, params, measurement, options.apply(params));
        }

        /** Whether a result with {@code params} is one of this comparison's. */
        boolean covers(Map<String, String> params) {
            return fixed.entrySet().stream().allMatch(e -> e.getValue().equals(params.get(e.getKey()))) && params.keySet().containsAll(free);
        }
    }

    static final List<Comparison> COMPARISONS = comparisons();

    /** fork() of a process holding the snapshot benchmark's arena, populated: the pause a fork-based snapshot costs. */
    static final Comparison FORK_ANCHOR = new Comparison(ReportGenerator.SNAPSHOT_ARM, Map.of(), List.of("arenaBytes"), CReference.FORK,
            p -> Map.of(CReference.SIZE, p.get("arenaBytes")), p -> "fork() of " + Sizes.format(Long.parseLong(p.get("arenaBytes"))));

    /** fork() of a process holding the cut benchmark's arena, populated (with huge pages where the arena has them). */
    static final Comparison CUT_FORK_ANCHOR = new Comparison(ReportGenerator.CUT, Map.of(), List.of("size", "hugePages"), CReference.FORK,
            p -> Map.of(CReference.SIZE, Long.toString(Sizes.parse(p.get("size"))), CReference.THP, p.get("hugePages")),
            p -> "fork() of " + p.get("size") + (Boolean.parseBoolean(p.get("hugePages")) ? " of huge pages" : ""));

    private CReferences() {}

    private static List<Comparison> comparisons() {
        List<Comparison> c = new ArrayList<>();
        String pages = Long.toString(FirstWriteBenchmark.PAGES * Capabilities.probe().pageSize());
        for (String backend : List.of("uffd-async", "uffd-sync", "uffd-sigbus", "mprotect")) {
            // One page per fault, as the C program takes: the native backends' fixed block of 1 (bulkPages=1), not their window.
            Map<String, String> fixed = Map.of("backend", backend, "order", "seq", "writers", "1",
                    "bulkPages", backend.equals("uffd-async") ? ReportGenerator.WINDOW : "1");
            // uffd-sync's first write costs tens of microseconds here: a few samples of 65536 faults are seconds.
            boolean slow = backend.equals("uffd-sync");
            c.add(new Comparison(ReportGenerator.FIRST_WRITE, fixed, List.of(), CReference.FIRST_WRITE,
                    p -> Map.of(CReference.BACKEND, backend, CReference.SIZE, pages, CReference.SAMPLES, slow ? "5" : "20", CReference.MAX_SECONDS, "20"),
                    p -> backend + " first write, per fault (256 MiB, seq, 1 writer)"));
            c.add(new Comparison(ReportGenerator.FIRST_WRITE_LATENCY, fixed, List.of(), CReference.FIRST_WRITE,
                    p -> Map.of(CReference.BACKEND, backend, CReference.SIZE, pages, CReference.TIMED, "true", CReference.SAMPLES, slow ? "2" : "5",
                            CReference.MAX_SECONDS, "20"),
                    p -> backend + " first write, median of the timed faults (incl. two clock reads)"));
        }
        c.add(new Comparison(ReportGenerator.COLLECT, Map.of("backend", "uffd-async"), List.of("size", "dirtyPercent"), CReference.PAGEMAP_SCAN,
                p -> Map.of(CReference.SIZE, Long.toString(Sizes.parse(p.get("size"))), CReference.DIRTY_PERCENT, p.get("dirtyPercent")),
                p -> "uffd-async collect = PAGEMAP_SCAN, " + p.get("dirtyPercent") + "% of " + Sizes.format(Sizes.parse(p.get("size"))) + " dirty"));
        // The re-protects twice: from a single-threaded C process, and from one with a second thread on the other CPU, as a
        // JVM always has (reference.c's --sibling: the TLB flush after each protect call then considers that CPU too).
        for (boolean sibling : List.of(false, true)) {
            for (String backend : List.of("uffd-sync", "uffd-sigbus", "mprotect")) {
                c.add(new Comparison(ReportGenerator.COLLECT, Map.of("backend", backend), List.of("size", "dirtyPercent"), CReference.REPROTECT,
                        p -> Map.of(CReference.SIZE, Long.toString(Sizes.parse(p.get("size"))), CReference.DIRTY_PERCENT, p.get("dirtyPercent"),
                                CReference.BACKEND, backend, CReference.SAMPLES, "20", CReference.SIBLING, Boolean.toString(sibling)),
                        p -> backend + " collect = re-protect of the dirty pages (" + (backend.equals("mprotect") ? "one whole-range mprotect"
                                : "UFFDIO_WRITEPROTECT per merged run") + "), " + p.get("dirtyPercent") + "% of " + Sizes.format(Sizes.parse(p.get("size")))
                                + siblingNote(sibling)));
            }
        }
        c.add(new Comparison(ReportGenerator.PAGEMAP_READ, Map.of("dirtyPercent", "0.1"), List.of("size"), CReference.PAGEMAP_READ,
                p -> Map.of(CReference.SIZE, Long.toString(Sizes.parse(p.get("size")))),
                p -> "pagemap read of " + Sizes.format(Sizes.parse(p.get("size"))) + " (pread + bit 55 test)"));
        c.add(new Comparison(ReportGenerator.STORE, Map.of("barrier", "card-table", "order", "seq"), List.of("range"), CReference.CARD_MARK,
                p -> Map.of(CReference.SIZE, Long.toString(Sizes.parse(p.get("range")))),
                p -> "card-marked 8-byte store (seq, " + Sizes.format(Sizes.parse(p.get("range"))) + ")"));
        for (String backend : List.of("uffd-sync", "uffd-sigbus")) {
            c.add(new Comparison(ReportGenerator.SNAPSHOT_ARM, Map.of("backend", backend), List.of("arenaBytes"), CReference.WRITEPROTECT,
                    p -> Map.of(CReference.SIZE, p.get("arenaBytes")),
                    p -> backend + " live snapshot start = UFFDIO_WRITEPROTECT of " + Sizes.format(Long.parseLong(p.get("arenaBytes")))));
        }
        // A cut's start is a snapshot's start on the pages written since the previous one (pm_copy_before_write_start):
        // its kernel calls are the re-protect of those pages, made in the fault paths' pause.
        for (boolean sibling : List.of(false, true)) {
            for (String backend : List.of("uffd-sync", "uffd-sigbus", "mprotect")) {
                c.add(cutReprotect(ReportGenerator.CUT, backend, CReference.SIBLING, Boolean.toString(sibling),
                        " cut / snapshot start = re-protect of the pages written since the previous cut, ", siblingNote(sibling)));
            }
        }
        for (String backend : List.of("uffd-sync", "uffd-sigbus", "mprotect")) {
            // The same cut with a thread of the process running on the other CPU, beside C with a second thread that never sleeps.
            c.add(cutReprotect(ReportGenerator.CUT_THREAD_RUNNING, backend, CReference.BUSY_SIBLING, "true",
                    " cut / snapshot start, as above, with a thread of the process running on the other CPU, ", "; C with a second thread spinning there"));
            // Through the writer gate the thread is stopped (parked) for the re-protect: beside C whose second thread sleeps.
            c.add(cutReprotect(ReportGenerator.GATED_CUT_THREAD_RUNNING, backend, CReference.SIBLING, "true",
                    " cut / snapshot start through the writer gate, the running thread stopped in it, ", siblingNote(true)));
        }
        // The copy's benchmark state sits on each snapshot backend's arena: one row each, one C measurement for all.
        c.add(new Comparison(ReportGenerator.SNAPSHOT_STW, Map.of(), List.of("backend", "arenaBytes"), CReference.MEMCPY,
                p -> Map.of(CReference.SIZE, p.get("arenaBytes"), CReference.DIRTY_PERCENT, "100", CReference.SAMPLES, "10"),
                p -> "stop-the-world copy of " + Sizes.format(Long.parseLong(p.get("arenaBytes"))) + " (" + p.get("backend") + " arena) = memcpy"));
        return List.copyOf(c);
    }

    /**
     * A cut benchmark's row beside the re-protect of the same pages from C, whose second thread is as
     * {@code threadOption} = {@code threadValue} says ({@link CReference#SIBLING}, {@link CReference#BUSY_SIBLING}).
     */
    private static Comparison cutReprotect(String benchmark, String backend, String threadOption, String threadValue, String what, String note) {
        return new Comparison(benchmark, Map.of("backend", backend), List.of("size", "dirtyPercent", "hugePages"), CReference.REPROTECT,
                p -> Map.of(CReference.SIZE, Long.toString(Sizes.parse(p.get("size"))), CReference.DIRTY_PERCENT, p.get("dirtyPercent"),
                        CReference.BACKEND, backend, CReference.THP, p.get("hugePages"), CReference.SAMPLES, "20", threadOption, threadValue),
                p -> backend + what + p.get("dirtyPercent") + "% of " + Sizes.format(Sizes.parse(p.get("size")))
                        + (Boolean.parseBoolean(p.get("hugePages")) ? " of huge pages" : "") + note);
    }

    /** The mechanism's label suffix for a C process with a second thread ({@link CReference#SIBLING}). */
    private static String siblingNote(boolean sibling) {
        return sibling ? "; C with a second thread on the other CPU" : "";
    }

    /**
     * The C measurements to take after benchmark {@code benchmark} ran with these parameter values: one per
     * comparison (and anchor) it covers and combination of the free parameters' values, each distinct measurement once.
     */
    public static List<Pairing> after(String benchmark, Map<String, List<String>> runParams) {
        List<Comparison> all = new ArrayList<>(COMPARISONS);
        all.add(FORK_ANCHOR);
        all.add(CUT_FORK_ANCHOR);
        List<Pairing> due = new ArrayList<>();
        for (Comparison c : all) {
            if (!c.benchmark().equals(benchmark)) continue;
            if (!c.fixed().entrySet().stream().allMatch(e -> runParams.getOrDefault(e.getKey(), List.of()).contains(e.getValue()))) continue;
            List<Map<String, String>> combinations = new ArrayList<>(List.of(c.fixed()));
            for (String free : c.free()) {
                List<Map<String, String>> next = new ArrayList<>();
                for (Map<String, String> partial : combinations) {
                    for (String value : runParams.getOrDefault(free, List.of())) {
                        Map<String, String> m = new TreeMap<>(partial);
                        m.put(free, value);
                        next.add(m);
                    }
                }
                combinations = next;
            }
            for (Map<String, String> params : combinations) {
                Pairing p = c.pairing(params);
                if (due.stream().noneMatch(d -> d.measurement().equals(p.measurement()) && d.options().equals(p.options()))) due.add(p);
            }
        }
        return due;
    }

    /** Writes the run's C results. */
    public static void write(Path dir, List<CReference.Measurement> measurements) throws IOException {
        JSON.writeValue(dir.resolve(FILE).toFile(), measurements);
    }

    /** The run's C results; none if the run took none. */
    public static List<CReference.Measurement> read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) return List.of();
        return JSON.readValue(file.toFile(), new TypeReference<List<CReference.Measurement>>() {});
    }

    /** The result of {@code pairing}'s C measurement among {@code measured}. */
    static Optional<CReference.Measurement> find(List<CReference.Measurement> measured, Pairing pairing) {
        return measured.stream().filter(m -> m.measurement().equals(pairing.measurement()) && m.options().equals(pairing.options())).findFirst();
    }
}
