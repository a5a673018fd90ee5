package io.pagemark.bench;

import java.util.Locale;

/** Byte sizes as the benchmarks' parameters spell them: {@code 64KiB}, {@code 256MiB}, {@code 4GiB}, or a plain byte count. */
public final class Sizes {
    private Sizes() {}

    /**
     * Parses a size.
     *
     * @throws IllegalArgumentException naming the bad value and the accepted forms
     */
    public static long parse(String text) {
        String t = text.trim();
        long unit = 1;
        String lower = t.toLowerCase(Locale.ROOT);
        if (lower.endsWith("kib")) unit = 1L << 10;
        else if (lower.endsWith("mib")) unit = 1L << 20;
        else if (lower.endsWith("gib")) unit = 1L << 30;
        String digits = unit == 1 ? t : t.substring(0, t.length() - 3);
        try {
            long n = Long.parseLong(digits.trim());
            if (n <= 0) throw new NumberFormatException();
            return Math.multiplyExact(n, unit);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("bad size '" + text + "': expected a positive byte count or a number with KiB, MiB or GiB (e.g. 256MiB)");
        }
    }

    /** A size as the report shows it ({@code 256 MiB}; {@link #parse} reads it back): whole KiB, MiB or GiB, else bytes. */
    public static String format(long bytes) {
        if (bytes >= 1L << 30 && bytes % (1L << 30) == 0) return (bytes >> 30) + " GiB";
        if (bytes >= 1L << 20 && bytes % (1L << 20) == 0) return (bytes >> 20) + " MiB";
        if (bytes >= 1L << 10 && bytes % (1L << 10) == 0) return (bytes >> 10) + " KiB";
        return bytes + " bytes";
    }
}
