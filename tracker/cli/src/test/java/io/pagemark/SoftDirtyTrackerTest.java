package io.pagemark;

import io.pagemark.linux.Kernel;
import io.pagemark.linux.Libc;
import io.pagemark.linux.Pagemap;
import io.pagemark.verify.NoLostWriteOracle;
import io.pagemark.verify.OracleConfig;
import io.pagemark.verify.OracleResult;
import io.pagemark.verify.ShadowSync;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What is particular to the soft-dirty backend, on a kernel that has soft-dirty: the debian-6.1 guest
 * of the kernel matrix. (Its exact-set and oracle runs are in {@link ExactSetTest} and
 * {@link NoLostWriteOracleTest} with the other backends.) On a kernel without soft-dirty (our 6.18
 * hosts: CONFIG_MEM_SOFT_DIRTY is off) the class is skipped, saying so.
 */
@KernelMatrix
class SoftDirtyTrackerTest {
    private static final long PAGE = Libc.pageSize();

    @BeforeAll
    static void softDirtyWorksHere() {
        String missing = Kernel.softDirtyMissing();
        Assumptions.assumeTrue(missing == null, () -> "soft-dirty does not work on this kernel (" + missing
                + "); these tests run for real in the debian-6.1 guest (tracker/src/test/kernel-vm/guest-tests.sh)");
    }

    /**
     * Why the writer pause exists: with a pause that stops nothing, writes landing between a collect's
     * read of the bits and its clear are cleared unreported, and the oracle finds them. (The same
     * oracle with the pause loses nothing: {@link NoLostWriteOracleTest}.)
     */
    @Test
    void withoutStoppedWritersTheOracleFindsLostWrites() {
        WriterPause stopsNothing = new WriterPause() {
            @Override
            public void stopWriters() {}

            @Override
            public void resumeWriters() {}
        };
        OracleConfig fiveSeconds = OracleConfig.defaults().withMinWrites(0, Duration.ofSeconds(5), Duration.ofSeconds(5));
        // A loss needs a write to land inside a collect's read-to-clear window: runs of 5 s until one does (at most 3).
        OracleResult r = null;
        for (int run = 0; run < 3 && (r == null || r.ok()); run++) {
            try (TrackedArena arena = TrackedArena.builder().size(fiveSeconds.arenaBytes()).backend(Backend.SOFT_DIRTY)
                    .writerPause(stopsNothing).open()) {
                // The oracle's own gate still stops the writers for its quiescent checks, so only the other collects race.
                r = NoLostWriteOracle.run(arena, new WriterGate(), fiveSeconds, ShadowSync.CORRECT);
            }
            System.out.printf("soft-dirty without a writer pause: %d writes, %d collects, %d pages lost in %.1f s%n",
                    r.writes(), r.collects(), r.lost(), r.seconds());
        }
        assertTrue(r.lost() > 0, "no write was lost without the writer pause: " + r);
        assertTrue(r.losses().getFirst().contains("was never reported by backend soft-dirty"), r.losses().getFirst());
    }

    /**
     * What the backend relies on, straight from pagemap: a new mapping is born soft-dirty in every page,
     * present or not (the kernel marks the whole mapping); after a clear, the first write to a page
     * that was never touched sets the bit as it creates the page, as does a write to a page that was
     * only read (a copy of the zero page), while a read leaves the bit clear. So a write to a
     * never-touched page is reported without populating the arena before arming.
     */
    @Test
    void neverTouchedPagesNeedNoPopulateBeforeArm() {
        int pages = 4;
        long addr = Libc.mmapAnonymous(pages * PAGE, Libc.PROT_READ | Libc.PROT_WRITE, 0);
        int fd = Libc.open("/proc/self/pagemap", Libc.O_RDONLY | Libc.O_CLOEXEC, Libc.NO_HINT);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment mem = MemorySegment.ofAddress(addr).reinterpret(pages * PAGE);
            MemorySegment entries = a.allocate(JAVA_LONG, pages);
            Pagemap.read(fd, addr, pages, entries);
            for (int p = 0; p < pages; p++) {
                assertEquals(Pagemap.SOFT_DIRTY_BIT, entries.getAtIndex(JAVA_LONG, p) & (Pagemap.SOFT_DIRTY_BIT | Pagemap.PRESENT_BIT),
                        "page " + p + " of a new mapping: soft-dirty and not present");
            }
            mem.get(JAVA_BYTE, PAGE);   // page 1: read before the clear (maps the zero page)
            Pagemap.clearSoftDirty();
            mem.set(JAVA_BYTE, 0, (byte) 1);            // page 0: never touched, written
            mem.set(JAVA_BYTE, PAGE, (byte) 1);         // page 1: only read so far, written
            mem.get(JAVA_BYTE, 2 * PAGE);               // page 2: read; page 3: left alone
            Pagemap.read(fd, addr, pages, entries);
            long[] expected = {Pagemap.SOFT_DIRTY_BIT | Pagemap.PRESENT_BIT, Pagemap.SOFT_DIRTY_BIT | Pagemap.PRESENT_BIT,
                    Pagemap.PRESENT_BIT, 0};
            for (int p = 0; p < pages; p++) {
                assertEquals(expected[p], entries.getAtIndex(JAVA_LONG, p) & (Pagemap.SOFT_DIRTY_BIT | Pagemap.PRESENT_BIT),
                        "page " + p + " after clear_refs and a write to pages 0 and 1, a read of page 2");
            }
        } finally {
            Libc.close(fd);
            Libc.munmap(addr, pages * PAGE);
        }
    }

    @Test
    void collectRunsWithTheWritersStoppedAndArmDoesNotNeedThem() {
        List<String> calls = new ArrayList<>();
        WriterPause recording = new WriterPause() {
            @Override
            public void stopWriters() {
                calls.add("stop");
            }

            @Override
            public void resumeWriters() {
                calls.add("resume");
            }
        };
        try (TrackedArena arena = TrackedArena.builder().size(4 * PAGE).backend(Backend.SOFT_DIRTY).writerPause(recording).open()) {
            arena.arm();
            assertEquals(List.of(), calls);
            arena.collect();
            assertEquals(List.of("stop", "resume"), calls);
        }
    }

    @Test
    void oneSoftDirtyArenaPerProcess() {
        WriterGate gate = new WriterGate();
        try (TrackedArena first = TrackedArena.builder().size(PAGE).backend(Backend.SOFT_DIRTY).writerPause(gate).open()) {
            PagemarkException e = assertThrows(PagemarkException.class,
                    () -> TrackedArena.builder().size(PAGE).backend(Backend.SOFT_DIRTY).writerPause(gate).open());
            assertTrue(e.getMessage().startsWith("another soft-dirty arena is open in this process"), e.getMessage());
            first.arm();
        }
        TrackedArena.builder().size(PAGE).backend(Backend.SOFT_DIRTY).writerPause(gate).open().close();
    }
}
