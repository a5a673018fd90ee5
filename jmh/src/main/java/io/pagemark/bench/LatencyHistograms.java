package io.pagemark.bench;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramLogWriter;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;

import java.io.FileNotFoundException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Per-operation latencies (HdrHistogram, nanoseconds), one histogram per writer thread, kept over the
 * measurement iterations of one fork (warmup iterations record too, so the timed code is the same
 * code, but are discarded). At the end of the fork the merged histogram is printed and, when the
 * system property {@value JvmFlags#HISTOGRAM_DIR_PROPERTY} names a directory, written there as an
 * HdrHistogram log named by {@link #fileName} for the report.
 */
@State(Scope.Benchmark)
public class LatencyHistograms {
    /** Suffix of the histogram log files. */
    public static final String EXTENSION = ".hlog";
    private static final long HIGHEST_NANOS = TimeUnit.MINUTES.toNanos(10);
    private static final int MAX_WRITERS = 64;

    private final Histogram[] perWriter = new Histogram[MAX_WRITERS];

    /** The histogram writer {@code index} records into (each writer thread its own: Histogram is not thread-safe). */
    public Histogram writer(int index) {
        Histogram h = perWriter[index];
        if (h == null) {
            h = new Histogram(HIGHEST_NANOS, 3);
            perWriter[index] = h;
        }
        return h;
    }

    @Setup(Level.Iteration)
    public void discardWarmup(IterationParams iteration) {
        if (iteration.getType() == IterationType.WARMUP) {
            for (Histogram h : perWriter) if (h != null) h.reset();
        }
    }

    @TearDown(Level.Trial)
    public void publish(BenchmarkParams benchmark) {
        Histogram merged = new Histogram(HIGHEST_NANOS, 3);
        for (Histogram h : perWriter) if (h != null) merged.add(h);
        Map<String, String> params = new TreeMap<>();
        for (String key : benchmark.getParamsKeys()) params.put(key, benchmark.getParam(key));
        System.out.printf("%n%s %s: %d samples, us p50 %.2f, p90 %.2f, p99 %.2f, p99.9 %.2f, max %.2f%n",
                benchmark.getBenchmark(), params, merged.getTotalCount(),
                micros(merged.getValueAtPercentile(50)), micros(merged.getValueAtPercentile(90)),
                micros(merged.getValueAtPercentile(99)), micros(merged.getValueAtPercentile(99.9)), micros(merged.getMaxValue()));
        String dir = System.getProperty(JvmFlags.HISTOGRAM_DIR_PROPERTY);
        if (dir == null) return;
        Path file = Path.of(dir).resolve(fileName(benchmark.getBenchmark(), params) + "." + ProcessHandle.current().pid() + EXTENSION);
        try {
            Files.createDirectories(file.getParent());
            try (PrintStream out = new PrintStream(file.toFile())) {
                HistogramLogWriter log = new HistogramLogWriter(out);
                log.outputLogFormatVersion();
                log.outputLegend();
                log.outputIntervalHistogram(merged);
            }
        } catch (FileNotFoundException e) {
            throw new UncheckedIOException("cannot write the latency histogram " + file, e);
        } catch (java.io.IOException e) {
            throw new UncheckedIOException("cannot create " + file.getParent(), e);
        }
    }

    /**
     * The name (without fork id and extension) of the histogram of benchmark {@code benchmark} (its
     * method name, qualified or {@linkplain BenchmarkName#simple simple}) with {@code params}: {@code Class.method@k1=v1,k2=v2}. The report
     * matches JMH results to histograms by it.
     */
    public static String fileName(String benchmark, Map<String, String> params) {
        StringBuilder sb = new StringBuilder(BenchmarkName.simple(benchmark)).append('@');
        new TreeMap<>(params).forEach((k, v) -> sb.append(k).append('=').append(v).append(','));
        sb.setLength(sb.length() - 1);
        return sb.toString();
    }

    private static double micros(long nanos) {
        return nanos / 1000.0;
    }
}
