package io.pagemark.bench.report;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.pagemark.Capabilities;
import io.pagemark.bench.CReference;
import io.pagemark.bench.FirstWriteBenchmark;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

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
    private static final long MIB_256 = 256L << 20;

    /**
     * A C measurement taken after benchmark {@code benchmark} ({@code SimpleClass.method}) ran with {@code params}.
     *
     * @param options the C measurement's options ({@link CReference}'s option names)
     */
    public record Pairing(String benchmark, Map<String, String> params, String measurement, Map<String, String> options) {}

    /** A row of the Java-vs-C table: a mechanism, the Java result, the C result of the same kernel calls. */
    public record Comparison(String mechanism, Pairing pairing) {}

    static final List<Comparison> COMPARISONS = comparisons();

    /** fork() of a process holding the snapshot benchmark's arena, populated: the pause a fork-based snapshot costs. */
    static final List<Pairing> ANCHORS = List.of(
            new Pairing(ReportGenerator.SNAPSHOT_ARM, Map.of("arenaBytes", Long.toString(MIB_256)), CReference.FORK,
                    Map.of(CReference.SIZE, Long.toString(MIB_256))),
            new Pairing(ReportGenerator.SNAPSHOT_ARM, Map.of("arenaBytes", Long.toString(1L << 30)), CReference.FORK,
                    Map.of(CReference.SIZE, Long.toString(1L << 30))));

    private CReferences() {}

    private static List<Comparison> comparisons() {
        List<Comparison> c = new ArrayList<>();
        String pages = Long.toString(FirstWriteBenchmark.PAGES * Capabilities.probe().pageSize());
        for (String backend : List.of("uffd-async", "uffd-sync", "uffd-sigbus", "mprotect")) {
            Map<String, String> params = Map.of("backend", backend, "order", "seq", "writers", "1");
            // uffd-sync's first write costs tens of microseconds here: a few samples of 65536 faults are seconds.
            String samples = backend.equals("uffd-sync") ? "5" : "20";
            c.add(new Comparison(backend + " first write, per fault (256 MiB, seq, 1 writer)", new Pairing(ReportGenerator.FIRST_WRITE, params,
                    CReference.FIRST_WRITE, Map.of(CReference.BACKEND, backend, CReference.SIZE, pages, CReference.SAMPLES, samples,
                    CReference.MAX_SECONDS, "20"))));
            c.add(new Comparison(backend + " first write, median of the timed faults (incl. two clock reads)", new Pairing(ReportGenerator.FIRST_WRITE_LATENCY,
                    params, CReference.FIRST_WRITE, Map.of(CReference.BACKEND, backend, CReference.SIZE, pages, CReference.TIMED, "true",
                    CReference.SAMPLES, backend.equals("uffd-sync") ? "2" : "5", CReference.MAX_SECONDS, "20"))));
        }
        for (String percent : List.of("0.1", "1", "10", "100")) {
            c.add(new Comparison("uffd-async collect = PAGEMAP_SCAN, " + percent + "% of 256 MiB dirty", new Pairing(ReportGenerator.COLLECT,
                    Map.of("backend", "uffd-async", "size", "256MiB", "dirtyPercent", percent), CReference.PAGEMAP_SCAN,
                    Map.of(CReference.SIZE, Long.toString(MIB_256), CReference.DIRTY_PERCENT, percent))));
        }
        c.add(new Comparison("pagemap read of 256 MiB (pread + bit 55 test)", new Pairing(ReportGenerator.PAGEMAP_READ,
                Map.of("size", "256MiB", "dirtyPercent", "0.1"), CReference.PAGEMAP_READ, Map.of(CReference.SIZE, Long.toString(MIB_256)))));
        c.add(new Comparison("card-marked 8-byte store (seq, hot 64 KiB)", new Pairing(ReportGenerator.STORE,
                Map.of("barrier", "card-table", "order", "seq", "range", "64KiB"), CReference.CARD_MARK, Map.of(CReference.SIZE, "65536"))));
        for (long bytes : new long[] {MIB_256, 1L << 30}) {
            String size = bytes == MIB_256 ? "256 MiB" : "1 GiB";
            for (String backend : List.of("uffd-sync", "uffd-sigbus")) {
                c.add(new Comparison(backend + " live snapshot start = UFFDIO_WRITEPROTECT of " + size, new Pairing(ReportGenerator.SNAPSHOT_ARM,
                        Map.of("backend", backend, "arenaBytes", Long.toString(bytes)), CReference.WRITEPROTECT,
                        Map.of(CReference.SIZE, Long.toString(bytes)))));
            }
            c.add(new Comparison("stop-the-world copy of " + size + " = memcpy", new Pairing(ReportGenerator.SNAPSHOT_STW,
                    Map.of("arenaBytes", Long.toString(bytes)), CReference.MEMCPY,
                    Map.of(CReference.SIZE, Long.toString(bytes), CReference.DIRTY_PERCENT, "100", CReference.SAMPLES, "10"))));
        }
        return List.copyOf(c);
    }

    /**
     * The C measurements to take after benchmark {@code benchmark} ran with these parameter values: those
     * of the pairings whose every parameter took the pairing's value in that run. One per distinct measurement.
     */
    public static List<Pairing> after(String benchmark, Map<String, List<String>> runParams) {
        List<Pairing> all = new ArrayList<>();
        COMPARISONS.forEach(c -> all.add(c.pairing()));
        all.addAll(ANCHORS);
        List<Pairing> due = new ArrayList<>();
        for (Pairing p : all) {
            if (!p.benchmark().equals(benchmark)) continue;
            boolean ran = p.params().entrySet().stream().allMatch(e -> runParams.getOrDefault(e.getKey(), List.of()).contains(e.getValue()));
            if (ran && due.stream().noneMatch(d -> d.measurement().equals(p.measurement()) && d.options().equals(p.options()))) due.add(p);
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
