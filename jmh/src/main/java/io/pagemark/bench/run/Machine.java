package io.pagemark.bench.run;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Facts about this machine for the report, read from /proc. */
final class Machine {
    private Machine() {}

    /** The CPU model name, or "unknown". */
    static String cpu() {
        return procField("/proc/cpuinfo", "model name").orElse("unknown");
    }

    /** Physical memory in bytes, or -1. */
    static long memoryBytes() {
        return procField("/proc/meminfo", "MemTotal")
                .map(v -> Long.parseLong(v.replace("kB", "").trim()) * 1024)
                .orElse(-1L);
    }

    /** The 1-minute load average, or -1. */
    static double loadAverage() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static java.util.Optional<String> procField(String file, String key) {
        try (var lines = Files.lines(Path.of(file))) {
            return lines.filter(l -> l.startsWith(key))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .findFirst();
        } catch (IOException | RuntimeException e) {
            return java.util.Optional.empty();
        }
    }
}
