package io.pagemark.bench;

import io.pagemark.Backend;
import io.pagemark.bench.report.ReportGenerator;
import io.pagemark.bench.report.Result;
import io.pagemark.bench.report.Results;
import io.pagemark.bench.report.RunInfo;
import io.pagemark.bench.run.BenchCommand;
import io.pagemark.bench.run.Profile;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The suite's smoke mode: every benchmark of the suite runs once for a token time (one fork, no
 * warmup, one short iteration, the smallest inputs) on every backend usable here, and the report is
 * generated from what they produced. Proves the benchmarks and the report work; asserts no timing.
 */
class BenchSmokeTest {

    @Test
    void everyBenchmarkRunsOnEveryUsableBackendAndTheReportIsWritten() throws Exception {
        Path out = Path.of("target", "bench-smoke");
        deleteRecursively(out);

        RunInfo info = BenchCommand.run(Profile.SMOKE, out, null, null, System.out);

        assertTrue(info.missing().isEmpty(), "benchmark runs without a result: " + info.missing());
        Results results = Results.read(out.resolve(ReportGenerator.RESULTS));
        assertEquals(suiteMethods(), new TreeSet<>(results.benchmarks()), "every benchmark method produced a result");
        for (Result r : results.all()) {
            String backend = r.params().getOrDefault("backend", r.params().get("barrier"));
            if (backend != null && !backend.equals(Arenas.UNTRACKED) && !backend.equals(Backend.AUTO.id())) {
                assertTrue(info.backends().contains(backend), r + " ran on " + backend + ", which the probe does not call usable");
            }
        }
        for (String backend : info.backends()) {
            if (backend.equals("soft-dirty")) continue;   // no first-write or store benchmark is skipped for it, but it may not be built
            assertTrue(results.all().stream().anyMatch(r -> backend.equals(r.params().get("backend"))),
                    "no benchmark ran on usable backend " + backend);
        }

        for (Result r : results.all()) {
            if (r.benchmark().equals(EndToEndBenchmark.class.getSimpleName() + ".run")) {
                assertTrue(r.counters().getOrDefault("mutatorOps", 0.0) > 0, "the sample runtime's mutators did nothing in " + r);
            }
        }

        String report = Files.readString(out.resolve(ReportGenerator.REPORT));
        for (String section : List.of("## Conclusions", "## Against the mechanisms driven from C", "## Store cost", "## First write per page",
                "## First-write latency distribution", "## Collect cost", "## Crossover", "## Checkpoint throughput", "## Live snapshot",
                "## End to end")) {
            assertTrue(report.contains(section), "the report lacks the section " + section + ":\n" + report);
        }
        assertTrue(Files.readString(out.resolve(ReportGenerator.README_SECTION)).startsWith("## Performance"));
        try (Stream<Path> histograms = Files.list(out.resolve(ReportGenerator.HISTOGRAMS))) {
            assertFalse(histograms.toList().isEmpty(), "the first-write latency benchmark wrote no histogram");
        }
        for (String chart : List.of("crossover.png", "collect-8MiB.png", "first-write-latency-2-writers.png")) {
            BufferedImage image = ImageIO.read(out.resolve(ReportGenerator.CHARTS).resolve(chart).toFile());
            assertNotNull(image, chart + " is not a readable image");
            assertTrue(image.getWidth() > 0 && image.getHeight() > 0, chart + " is empty");
        }
    }

    /** Every benchmark method in the suite, as {@code SimpleClass.method}. */
    private static Set<String> suiteMethods() {
        return BenchCommand.benchmarks(null).stream().map(e -> BenchmarkName.simple(e.getUsername()))
                .collect(Collectors.toCollection(TreeSet::new));
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
