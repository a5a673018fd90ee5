package io.pagemark.linux;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Facts about the running kernel, found by trying things (never from the version string), each
 * computed once per JVM on first use.
 */
public final class Kernel {
    private Kernel() {}

    private static final class UffdFacts {
        static final Uffd.Access ACCESS = Uffd.access();
        static final long FEATURES = ACCESS.available() ? Uffd.supportedFeatures() : 0;
    }

    private static final class ScanFacts {
        static final String PAGEMAP_SCAN_MISSING = probePagemapScan();
    }

    /**
     * The self-test writes /proc/self/clear_refs, which clears the soft-dirty bits of the whole
     * process: run it once per JVM, never again while soft-dirty arenas may be collecting.
     */
    private static final class SoftDirtyFacts {
        static final String MISSING = Pagemap.softDirtySelfTest();
    }

    /** The kernel release, as uname -r prints it. */
    public static String release() {
        return readFirstLine("/proc/sys/kernel/osrelease", "unknown");
    }

    /** The transparent huge page mode (always, madvise, never), the bracketed word of /sys/kernel/mm/transparent_hugepage/enabled. */
    public static String transparentHugePages() {
        String line = readFirstLine("/sys/kernel/mm/transparent_hugepage/enabled", "unavailable");
        int open = line.indexOf('['), close = line.indexOf(']');
        return open >= 0 && close > open ? line.substring(open + 1, close) : line;
    }

    /** vm.max_map_count, the most VMAs this process may have (mprotect splits one per isolated writable page), or -1. */
    public static long maxMapCount() {
        try {
            return Long.parseLong(readFirstLine("/proc/sys/vm/max_map_count", "-1"));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The VMAs this process holds now (the lines of /proc/self/maps), or 0 if unreadable. Costs a read of that file. */
    public static long mappingCount() {
        try (var lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.count();
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** How a userfaultfd can be opened here, with the outcome of each attempt. */
    public static Uffd.Access userfaultfdAccess() {
        return UffdFacts.ACCESS;
    }

    /** The UFFDIO_API features this kernel offers (0 when no userfaultfd can be opened). */
    public static long userfaultfdFeatures() {
        return UffdFacts.FEATURES;
    }

    /** Null if PAGEMAP_SCAN works on this kernel, else why not. */
    public static String pagemapScanMissing() {
        return ScanFacts.PAGEMAP_SCAN_MISSING;
    }

    /** Null if soft-dirty works (self-test: clear, write, read bit 55), else why not. Tested once per JVM. */
    public static String softDirtyMissing() {
        return SoftDirtyFacts.MISSING;
    }

    private static String probePagemapScan() {
        long page = Libc.pageSize();
        long addr = Libc.mmapAnonymous(page, Libc.PROT_READ | Libc.PROT_WRITE, 0);
        try (PagemapScan scan = new PagemapScan(1)) {
            MemorySegment.ofAddress(addr).reinterpret(page).set(JAVA_BYTE, 0, (byte) 1);
            long[] found = {0};
            scan.scan(addr, addr + page, 0, PagemapScan.PAGE_IS_PRESENT, (s, e) -> found[0] += e - s);
            return found[0] == page ? null : "PAGEMAP_SCAN did not report a present page";
        } catch (LinuxException e) {
            return e.getMessage();
        } finally {
            Libc.munmap(addr, page);
        }
    }

    private static String readFirstLine(String file, String fallback) {
        try {
            return Files.readAllLines(Path.of(file)).stream().findFirst().orElse(fallback).trim();
        } catch (IOException | RuntimeException e) {
            return fallback;
        }
    }
}
