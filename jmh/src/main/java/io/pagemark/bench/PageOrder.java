package io.pagemark.bench;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Which pages a benchmark writes and in what order. Seeded, so every backend in a run gets the same
 * pages in the same order.
 */
public final class PageOrder {
    private static final long SEED = 0x9E3779B97F4A7C15L;

    private PageOrder() {}

    /** Every page of {@code pages}: ascending for {@code "seq"}, a random permutation for {@code "random"}. */
    public static int[] all(int pages, String order) {
        int[] p = new int[pages];
        for (int i = 0; i < pages; i++) p[i] = i;
        return switch (order) {
            case "seq" -> p;
            case "random" -> shuffled(p);
            default -> throw new IllegalArgumentException("bad order '" + order + "': expected seq or random");
        };
    }

    /**
     * {@code written} pages of an arena of {@code 2 * written} pages, in the order a first-write benchmark
     * writes them: {@code "seq"} the first half ascending (the rest stays clean, so a window reaching past
     * the last page written shows as pages reported but unwritten), {@code "stride"} every other page
     * ascending, {@code "random"} {@code written} distinct pages chosen at random, in a random order.
     */
    public static int[] firstWrites(int written, String order) {
        return switch (order) {
            case "seq" -> all(written, "seq");
            case "stride" -> {
                int[] p = new int[written];
                for (int i = 0; i < written; i++) p[i] = 2 * i;
                yield p;
            }
            case "random" -> Arrays.copyOf(shuffled(all(2 * written, "seq")), written);
            default -> throw new IllegalArgumentException("bad order '" + order + "': expected seq, stride or random");
        };
    }

    /**
     * {@code percent}% of {@code pages} (at least one page), chosen at random, ascending: the pages an
     * epoch dirties.
     */
    public static int[] sample(int pages, double percent) {
        if (!(percent > 0 && percent <= 100)) {
            throw new IllegalArgumentException("bad dirty percentage " + percent + ": expected more than 0 and at most 100");
        }
        return sampleCount(pages, (int) Math.max(1, Math.round(pages * percent / 100)));
    }

    /** {@code count} distinct pages of {@code pages}, chosen at random, ascending. */
    public static int[] sampleCount(int pages, int count) {
        if (count < 1 || count > pages) throw new IllegalArgumentException("cannot choose " + count + " of " + pages + " pages");
        int[] chosen = Arrays.copyOf(shuffled(all(pages, "seq")), count);
        Arrays.sort(chosen);
        return chosen;
    }

    /** The byte offsets of {@code pages} in an arena of {@code pageSize}-byte pages. */
    public static long[] offsets(int[] pages, long pageSize) {
        long[] offsets = new long[pages.length];
        for (int i = 0; i < pages.length; i++) offsets[i] = pages[i] * pageSize;
        return offsets;
    }

    /** The number of pages of {@code bytes} bytes, checked to fit the int indices the benchmarks use. */
    public static int pageCount(long bytes, long pageSize) {
        long pages = bytes / pageSize;
        if (bytes % pageSize != 0 || pages > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(bytes + " bytes is not a whole number of " + pageSize + "-byte pages that fits an int");
        }
        return (int) pages;
    }

    private static int[] shuffled(int[] p) {
        SplittableRandom random = new SplittableRandom(SEED);
        for (int i = p.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
