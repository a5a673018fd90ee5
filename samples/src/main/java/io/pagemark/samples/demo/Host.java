package io.pagemark.samples.demo;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** The host line the demo prints: the CPU model, the CPUs, the kernel, and how busy the machine was. */
final class Host {
    private Host() {}

    /** The 1-minute load average now (-1 where the platform has none). */
    static double loadAverage() {
        return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }

    /** e.g. "Intel(R) Xeon(R) ..., 2 CPUs, Linux 6.18.0; 1-minute load average 0.52 at the start, 2.10 at the end". */
    static String describe(double loadAtStart, double loadAtEnd) {
        return String.format(Locale.ROOT, "%s, %d CPUs, Linux %s; 1-minute load average %.2f at the start, %.2f at the end",
                cpuModel(), Runtime.getRuntime().availableProcessors(), System.getProperty("os.version"), loadAtStart, loadAtEnd);
    }

    /** The "model name" of /proc/cpuinfo (what lscpu prints as Model name), or "unknown CPU". */
    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or unreadable: say so below
        }
        return "unknown CPU";
    }
}
