package io.pagemark.bench.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pagemark.bench.BenchmarkName;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The results of a JMH JSON file, scores normalized to nanoseconds per operation, each result
 * represented by a median (of its samples or of its iterations, see robustScore).
 */
public final class Results {
    private final List<Result> all;

    private Results(List<Result> all) {
        this.all = all;
    }

    /** Reads JMH's JSON output ({@code -rf json}). */
    public static Results read(Path json) throws IOException {
        JsonNode array = new ObjectMapper().readTree(json.toFile());
        List<Result> results = new ArrayList<>();
        for (JsonNode o : array) {
            String benchmark = o.get("benchmark").asText();
            String simple = BenchmarkName.simple(benchmark);
            Map<String, String> params = new TreeMap<>();
            if (o.has("params")) o.get("params").properties().forEach(p -> params.put(p.getKey(), p.getValue().asText()));
            JsonNode metric = o.get("primaryMetric");
            String unit = metric.get("scoreUnit").asText();
            double median = robustScore(o.path("mode").asText(), metric);
            double scale = nanosPer(unit);
            Map<String, Double> counters = new TreeMap<>();
            o.path("secondaryMetrics").properties().forEach(m -> {
                if (m.getValue().path("scoreUnit").asText().equals("#")) counters.put(m.getKey(), number(m.getValue().get("score")));
            });
            results.add(new Result(simple, params, median * scale, number(metric.get("score")), number(metric.get("scoreError")), unit, counters));
        }
        return new Results(results);
    }

    /** Every result. */
    public List<Result> all() {
        return all;
    }

    /** The result of benchmark {@code name} ({@code SimpleClass.method}) with these parameter values (others may be anything). */
    public Optional<Result> find(String name, Map<String, String> params) {
        return all.stream().filter(r -> r.matches(name, params)).findFirst();
    }

    /** The score in nanoseconds, or NaN when there is no such result. */
    public double nanos(String name, Map<String, String> params) {
        return find(name, params).map(Result::nanos).orElse(Double.NaN);
    }

    /** The distinct values parameter {@code param} takes in benchmark {@code name}'s results, in order of appearance. */
    public List<String> values(String name, String param) {
        LinkedHashSet<String> values = new LinkedHashSet<>();
        for (Result r : all) if (r.benchmark().equals(name) && r.params().containsKey(param)) values.add(r.params().get(param));
        return List.copyOf(values);
    }

    /** Benchmark names ({@code SimpleClass.method}) present, in order of appearance. */
    public List<String> benchmarks() {
        return all.stream().map(Result::benchmark).distinct().toList();
    }

    /**
     * The median rather than the mean, so that an invocation or an iteration slowed by something else
     * running on the machine does not move the result: for sample-time results the median sample, for
     * average-time and single-shot results the median of the iterations, else JMH's score.
     */
    private static double robustScore(String mode, JsonNode metric) {
        JsonNode median = metric.path("scorePercentiles").get("50.0");
        if (mode.equals("sample") && median != null) return number(median);
        if ((mode.equals("avgt") || mode.equals("ss")) && metric.path("rawData").isArray()) {
            List<Double> iterations = new ArrayList<>();
            for (JsonNode fork : metric.get("rawData")) for (JsonNode v : fork) iterations.add(number(v));
            if (!iterations.isEmpty()) {
                iterations.sort(null);
                int n = iterations.size();
                return n % 2 == 1 ? iterations.get(n / 2) : (iterations.get(n / 2 - 1) + iterations.get(n / 2)) / 2;
            }
        }
        return number(metric.get("score"));
    }

    private static double number(JsonNode n) {
        // JMH writes "NaN" as a string when the error cannot be computed (one iteration).
        if (n == null || n.isNull()) return Double.NaN;
        if (n.isNumber()) return n.asDouble();
        try {
            return Double.parseDouble(n.asText());
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    /** Nanoseconds per unit of a time-per-operation score; NaN for other units (throughput), which only the raw score describes. */
    private static double nanosPer(String unit) {
        return switch (unit) {
            case "ns/op" -> 1;
            case "us/op" -> 1e3;
            case "ms/op" -> 1e6;
            case "s/op" -> 1e9;
            default -> Double.NaN;
        };
    }
}
