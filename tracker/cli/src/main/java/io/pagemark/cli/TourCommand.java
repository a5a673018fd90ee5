package io.pagemark.cli;

import io.pagemark.Backend;
import io.pagemark.Capabilities;
import io.pagemark.DirtyPages;
import io.pagemark.PagemarkException;
import io.pagemark.TrackedArena;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.BitSet;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code pagemark tour}: on every backend usable here, arm a 256 MiB arena, write to some pages,
 * collect, and show what was caught and what each step cost.
 */
@Command(name = "tour",
        description = "Arm, write, collect on every usable backend, with the cost of each step; exits 1 if a write was not caught.")
final class TourCommand implements Callable<Integer> {
    private static final double SPARSE_FRACTION = 0.01;
    /** The table: each column as wide as its widest value or its header. */
    private static final String ROW = "%-12s %9s %13s %10s %20s %13s %10s%n";

    @Option(names = "--mib", paramLabel = "N", defaultValue = "256", converter = PositiveNumber.class, description = "the arena's size in MiB (default 256)")
    private long mib;

    @Mixin
    private HelpOption help;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        long bytes = mib << 20;
        Capabilities caps = Capabilities.probe();
        String auto;
        try {
            auto = "auto picks " + Capabilities.autoChoice();
        } catch (PagemarkException e) {
            auto = e.getMessage();
        }
        out.printf("kernel %s, %d-byte pages; %s%n", caps.kernelRelease(), caps.pageSize(), auto);
        out.printf("each backend: a %d MiB arena; arm; first writes to %.0f%% of the pages at random; collect; then a write to every page; collect%n%n",
                bytes >> 20, SPARSE_FRACTION * 100);
        out.printf(ROW, "backend", "arm", "1% writes", "collect", "caught", "100% writes", "collect");
        boolean allCaught = true;
        for (var e : caps.backends().entrySet()) {
            Backend backend = e.getKey();
            if (!e.getValue().usable()) {
                out.printf("%-12s not usable here: %s%n", backend.id(), e.getValue().reason());
                continue;
            }
            allCaught &= tour(backend, bytes, out);
        }
        return allCaught ? 0 : PagemarkCli.FAILED;
    }

    private static boolean tour(Backend backend, long bytes, PrintWriter out) {
        try (TrackedArena arena = TrackedArena.builder().size(bytes).backend(backend).open()) {
            long pages = arena.pageCount(), page = arena.pageSize();
            long t0 = System.nanoTime();
            arena.arm();
            long armNanos = System.nanoTime() - t0;

            BitSet written = new BitSet((int) pages);
            SplittableRandom random = new SplittableRandom(1);
            int sparse = (int) Math.max(1, pages * SPARSE_FRACTION);
            while (written.cardinality() < sparse) written.set((int) random.nextLong(pages));
            t0 = System.nanoTime();
            for (int p = written.nextSetBit(0); p >= 0; p = written.nextSetBit(p + 1)) arena.putLong(p * page, p);
            long sparseWriteNanos = System.nanoTime() - t0;
            t0 = System.nanoTime();
            DirtyPages dirty = arena.collect();
            long sparseCollectNanos = System.nanoTime() - t0;
            BitSet caught = dirty.bitSet();
            BitSet missed = (BitSet) written.clone();
            missed.andNot(caught);
            boolean exact = caught.equals(written);

            t0 = System.nanoTime();
            for (long p = 0; p < pages; p++) arena.putLong(p * page + 8, p);
            long fullWriteNanos = System.nanoTime() - t0;
            t0 = System.nanoTime();
            long fullCaught = arena.collect().pageCount();
            long fullCollectNanos = System.nanoTime() - t0;

            String verdict = missed.isEmpty() ? (exact ? "all, exactly" : "all (+" + (caught.cardinality() - sparse) + ")") : "MISSED " + missed.cardinality();
            out.printf(ROW, backend.id(), millis(armNanos),
                    micros(sparseWriteNanos / (double) sparse) + "/pg", millis(sparseCollectNanos),
                    String.format("%,d/%,d %s", dirty.pageCount(), sparse, verdict),
                    micros(fullWriteNanos / (double) pages) + "/pg", millis(fullCollectNanos)
                            + (fullCaught == pages ? "" : String.format(" (caught %,d/%,d)", fullCaught, pages)));
            out.printf("%-12s   %s%n", "", arena.describe());
            return missed.isEmpty() && fullCaught == pages;
        }
    }

    private static String millis(long nanos) {
        return String.format("%.2f ms", nanos / 1e6);
    }

    private static String micros(double nanos) {
        return nanos < 1000 ? String.format("%.0f ns", nanos) : String.format("%.2f µs", nanos / 1e3);
    }
}
