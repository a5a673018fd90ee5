package io.pagemark.bench.report;

import java.util.Map;

/**
 * One JMH result: a benchmark method with one parameter combination.
 *
 * @param benchmark {@code SimpleClass.method}
 * @param params    parameter values by name
 * @param nanos      the median time per operation in nanoseconds: of the samples (sample-time mode) or of the
 *                   iterations (average-time mode); NaN when the unit is not a time per operation
 * @param rawScore   the score as JMH printed it, in {@code rawUnit}
 * @param rawError   JMH's 99.9% confidence half-interval of its mean, in {@code rawUnit} (NaN when it could not compute it)
 * @param rawUnit    JMH's unit, e.g. {@code us/op} or {@code ops/s}
 * @param counters   the benchmark's own counters (JMH secondary results of unit "#"), by name
 */
public record Result(String benchmark, Map<String, String> params, double nanos,
                     double rawScore, double rawError, String rawUnit, Map<String, Double> counters) {

    /** True if this is the benchmark {@code name} ({@code SimpleClass.method}) with every one of {@code wanted}'s parameter values. */
    public boolean matches(String name, Map<String, String> wanted) {
        if (!benchmark.equals(name)) return false;
        for (Map.Entry<String, String> w : wanted.entrySet()) {
            if (!w.getValue().equals(params.get(w.getKey()))) return false;
        }
        return true;
    }
}
