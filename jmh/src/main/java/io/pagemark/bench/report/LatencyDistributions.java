package io.pagemark.bench.report;

import io.pagemark.bench.LatencyHistograms;
import org.HdrHistogram.EncodableHistogram;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramLogReader;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/** The per-operation latency histograms a run wrote ({@link LatencyHistograms}), forks of the same benchmark merged. */
final class LatencyDistributions {
    private final Map<String, Histogram> byName = new HashMap<>();

    private LatencyDistributions() {}

    /** Reads every histogram log in {@code dir} (none when it does not exist). */
    static LatencyDistributions read(Path dir) throws IOException {
        LatencyDistributions d = new LatencyDistributions();
        if (!Files.isDirectory(dir)) return d;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + LatencyHistograms.EXTENSION)) {
            for (Path file : files) {
                String fileName = file.getFileName().toString();
                // name.<pid>.hlog: one file per fork
                String stem = fileName.substring(0, fileName.length() - LatencyHistograms.EXTENSION.length());
                String name = stem.substring(0, stem.lastIndexOf('.'));
                HistogramLogReader reader = new HistogramLogReader(file.toFile());
                try {
                    EncodableHistogram h;
                    while ((h = reader.nextIntervalHistogram()) != null) {
                        d.byName.computeIfAbsent(name, k -> new Histogram(3)).add((Histogram) h);
                    }
                } finally {
                    reader.close();
                }
            }
        }
        return d;
    }

    /** The distribution of benchmark {@code benchmark} ({@code SimpleClass.method}) with exactly these parameters. */
    Optional<Histogram> find(String benchmark, Map<String, String> params) {
        return Optional.ofNullable(byName.get(LatencyHistograms.fileName(benchmark, params)));
    }
}
