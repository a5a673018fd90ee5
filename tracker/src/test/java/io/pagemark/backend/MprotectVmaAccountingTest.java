package io.pagemark.backend;

import io.pagemark.linux.Kernel;
import io.pagemark.linux.Libc;
import io.pagemark.nativelib.FaultPaths;
import io.pagemark.nativelib.NativeLibrary;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The VMA count the mprotect handler keeps (to degrade before vm.max_map_count) against the
 * kernel's own: the lines of /proc/self/maps, before and after 20,000 random single-page faults
 * (far enough below the limit that nothing degrades), and after the collect that re-protects them.
 */
class MprotectVmaAccountingTest {
    @Test
    void theBoundaryCountIsTheKernelsVmaCount() {
        assumeTrue(NativeLibrary.status().loaded(), NativeLibrary.status().detail());
        long size = 1L << 30, pages = size / 4096;
        long address = Libc.mmapAnonymous(size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_NORESERVE);
        MemorySegment memory = MemorySegment.ofAddress(address).reinterpret(size);
        MprotectTracker tracker = MprotectTracker.open(new MappedRegion(address, size, 4096, memory), TrackerOptions.DEFAULTS);
        try {
            tracker.arm();
            long before = Kernel.mappingCount();
            SplittableRandom random = new SplittableRandom(3);
            for (int i = 0; i < 20_000; i++) memory.set(ValueLayout.JAVA_BYTE, random.nextLong(pages) * 4096, (byte) 1);
            long added = Kernel.mappingCount() - before;
            long counted = tracker.counter(FaultPaths.Counter.VMA_BOUNDARIES);
            assertTrue(added > 30_000, "the writes split the range's VMA many times: " + added);
            assertEquals(0, tracker.counter(FaultPaths.Counter.DEGRADATIONS), "far from the limit: no degradation");
            // Within 1%: other threads of this JVM map memory meanwhile. (Two per fault would be 40,000, 12% off.)
            assertTrue(Math.abs(added - counted) <= added / 100, "counted " + counted + " VMA boundaries, the kernel added " + added + " VMAs");
            tracker.collect(new PageSet(address, 4096, pages));
            assertEquals(0, tracker.counter(FaultPaths.Counter.VMA_BOUNDARIES));
            assertTrue(Math.abs(Kernel.mappingCount() - before) <= 100, "the re-protect merged them back");
        } finally {
            tracker.close();
            Libc.munmap(address, size);
            tracker.regionUnmapped();   // what TrackedArena.close() does after unmapping
        }
    }
}
