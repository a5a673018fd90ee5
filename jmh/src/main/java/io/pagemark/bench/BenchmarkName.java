package io.pagemark.bench;

/** How the suite names a benchmark method in its reports and files: {@code Class.method}, without the package. */
public final class BenchmarkName {
    private BenchmarkName() {}

    /** {@code io.pagemark.bench.StoreCostBenchmark.store} (or already {@code StoreCostBenchmark.store}) as {@code StoreCostBenchmark.store}. */
    public static String simple(String benchmark) {
        int methodDot = benchmark.lastIndexOf('.');
        return benchmark.substring(benchmark.lastIndexOf('.', methodDot - 1) + 1);
    }
}
