package io.pagemark;

import io.pagemark.linux.Kernel;
import io.pagemark.linux.Libc;
import io.pagemark.linux.Pagemap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The soft-dirty backend on a kernel that has soft-dirty: the debian-6.1 guest of the kernel matrix.
 * On a kernel without it (our 6.18 hosts: CONFIG_MEM_SOFT_DIRTY is off) the class is skipped, saying so.
 */
@KernelMatrix
class SoftDirtyTrackerTest {
    private static final long PAGE = Libc.pageSize();

    @BeforeAll
    static void softDirtyWorksHere() {
        String missing = Kernel.softDirtyMissing();
        Skip.unless(missing == null, "soft-dirty does not work on this kernel (" + missing
                + "); these tests run for real in the debian-6.1 guest (tracker/src/test/kernel-vm/guest-tests.sh)");
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
    void collectReportsExactlyThePagesWritten(@TempDir Path dir) throws IOException {
        int pages = 512;
        WriterGate gate = new WriterGate();
        try (TrackedArena arena = TrackedArena.builder().size(pages * PAGE).backend(Backend.SOFT_DIRTY).writerPause(gate).open()) {
            // Before arm: the first half written (populated), the third quarter only read, the last quarter never touched.
            for (int p = 0; p < pages / 2; p++) arena.putLong(p * PAGE, p);
            for (int p = pages / 2; p < 3 * pages / 4; p++) arena.getLong(p * PAGE);
            arena.arm();

            BitSet expected = new BitSet();
            Path file = Files.write(dir.resolve("input"), new byte[100]);
            gate.enter();
            try {
                write(arena, expected, 0);
                write(arena, expected, pages - 1);
                Random random = new Random(42);
                for (int i = 0; i < 40; i++) write(arena, expected, random.nextInt(pages));
                write(arena, expected, 3 * pages / 4 + 10);                          // never touched
                write(arena, expected, pages / 2 + 10);                              // only read before arm
                arena.getLong(200 * PAGE);                                           // read, then written
                write(arena, expected, 200);
                arena.putLong(100 * PAGE - 4, -1L);                                  // straddles pages 99 and 100
                expected.set(99, 101);
                arena.put(310 * PAGE + 5, new byte[(int) (2 * PAGE)], 0, (int) (2 * PAGE));   // pages 310-312
                expected.set(310, 313);
                try (FileChannel in = FileChannel.open(file)) {                      // a kernel-mode write: read(2) into page 300
                    assertEquals(100, arena.read(in, 300 * PAGE + 10, 100));
                }
                expected.set(300);
                for (int p = 0; p < pages; p += 7) arena.getLong(p * PAGE);          // reads do not count
            } finally {
                gate.exit();
            }
            assertEquals(expected, arena.collect().bitSet(), "soft-dirty reports exactly the pages written since arm");
            assertTrue(arena.collect().isEmpty(), "a second collect with no write in between reports nothing");
            gate.run(() -> arena.putByte(7 * PAGE + 1, (byte) 3));
            assertEquals(BitSet.valueOf(new long[] {1L << 7}), arena.collect().bitSet());
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

    private static void write(TrackedArena arena, BitSet expected, int page) {
        arena.putLong(page * PAGE + 8, System.nanoTime());
        expected.set(page);
    }
}
