package io.pagemark.backend;

import io.pagemark.linux.Libc;
import io.pagemark.nativelib.FaultPaths;
import io.pagemark.nativelib.NativeLibrary;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The VMA count the mprotect handler keeps (to degrade before vm.max_map_count) against the
 * kernel's own: the VMAs of /proc/self/maps that overlap the arena, after 20,000 random single-page
 * faults (far enough below the limit that nothing degrades), and after the collect that re-protects them.
 */
class MprotectVmaAccountingTest {
    /** The VMAs of this process that overlap [address, address + size). */
    private static long vmasOverlapping(long address, long size) throws IOException {
        try (Stream<String> maps = Files.lines(Path.of("/proc/self/maps"))) {
            return maps.filter(line -> {
                String[] range = line.substring(0, line.indexOf(' ')).split("-");
                long start = Long.parseUnsignedLong(range[0], 16), end = Long.parseUnsignedLong(range[1], 16);
                return start < address + size && end > address;
            }).count();
        }
    }

    @Test
    void theBoundaryCountIsTheKernelsVmaCount() throws IOException {
        assumeTrue(NativeLibrary.status().loaded(), NativeLibrary.status().detail());
        long size = 1L << 30, pages = size / 4096;
        long address = Libc.mmapAnonymous(size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_NORESERVE);
        MemorySegment memory = MemorySegment.ofAddress(address).reinterpret(size);
        // No page of the fresh mapping is touched: the backend gives it its anon_vma (MprotectTracker.open).
        MprotectTracker tracker = MprotectTracker.open(new MappedRegion(address, size, 4096, memory), TrackerOptions.DEFAULTS);
        try {
            tracker.arm();
            assertEquals(1, vmasOverlapping(address, size), "armed: one read-only VMA");
            SplittableRandom random = new SplittableRandom(3);
            for (int i = 0; i < 20_000; i++) memory.set(ValueLayout.JAVA_BYTE, random.nextLong(pages) * 4096, (byte) 1);
            long vmas = vmasOverlapping(address, size);
            assertTrue(vmas > 30_000, "the writes split the arena's VMA many times: " + vmas);
            assertEquals(0, tracker.counter(FaultPaths.Counter.DEGRADATIONS), "far from the limit: no degradation");
            assertEquals(vmas - 1, tracker.counter(FaultPaths.Counter.VMA_BOUNDARIES), () -> "each boundary counted is one more VMA ("
                    + tracker.counter(FaultPaths.Counter.UNPROTECT_RETRIES) + " unprotect retries)");
            tracker.collect(new PageSet(address, 4096, pages));
            assertEquals(0, tracker.counter(FaultPaths.Counter.VMA_BOUNDARIES));
            assertEquals(1, vmasOverlapping(address, size), "the re-protect merged them back into one");
        } finally {
            tracker.close();
            Libc.munmap(address, size);
            tracker.regionUnmapped();   // what TrackedArena.close() does after unmapping
        }
    }
}
