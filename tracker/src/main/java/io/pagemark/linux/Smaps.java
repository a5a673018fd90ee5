package io.pagemark.linux;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.stream.Stream;

/** /proc/self/smaps: what the kernel backs a range of this process with. */
public final class Smaps {
    private static final Path SMAPS = Path.of("/proc/self/smaps");

    private Smaps() {}

    /**
     * The bytes of [start, end) backed by transparent huge pages now: the AnonHugePages of every
     * mapping inside the range (the kernel splits a mapping at the range's ends when it changes
     * protection or advice there, so an arena's mappings lie inside it).
     */
    public static long anonHugePageBytes(long start, long end) {
        long total = 0;
        boolean inside = false;
        try (Stream<String> lines = Files.lines(SMAPS)) {
            for (Iterator<String> it = lines.iterator(); it.hasNext(); ) {
                String line = it.next();
                int dash = line.indexOf('-');
                int space = line.indexOf(' ');
                if (dash > 0 && space > dash && isHex(line, 0, dash)) {
                    long from = Long.parseUnsignedLong(line, 0, dash, 16);
                    long to = Long.parseUnsignedLong(line, dash + 1, space, 16);
                    inside = from >= start && to <= end;
                } else if (inside && line.startsWith("AnonHugePages:")) {
                    total += Long.parseLong(line.substring("AnonHugePages:".length()).replace("kB", "").trim()) * 1024;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + SMAPS, e);
        }
        return total;
    }

    private static boolean isHex(String s, int from, int to) {
        for (int i = from; i < to; i++) if (Character.digit(s.charAt(i), 16) < 0) return false;
        return to > from;
    }
}
