package io.pagemark.checkpoint;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A base written page by page: published like a checkpoint, restorable, nothing left behind when abandoned. */
class BaseWriterTest {
    private static final int PAGE = 4096;
    private static final int PAGES = 16;

    @Test
    void aPublishedBaseReplacesTheChainAndAnAbandonedOneChangesNothing(@TempDir Path dir) throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment first = arena.allocate((long) PAGE * PAGES, PAGE);
            for (int p = 0; p < PAGES; p += 2) first.asSlice((long) p * PAGE, PAGE).fill((byte) (p + 1)); // odd pages stay zero
            Checkpoint published;
            try (BaseWriter base = BaseWriter.open(dir, first.byteSize(), PAGE)) {
                for (int p = 0; p < PAGES; p++) base.add(p, first, (long) p * PAGE);
                published = base.publish();
                assertThrows(IllegalStateException.class, () -> base.add(0, first, 0), "a published base takes no more pages");
            }
            assertEquals(Checkpoint.Kind.BASE, published.kind());
            assertEquals(PAGES / 2, published.pages(), "zero pages are left out");

            MemorySegment other = arena.allocate((long) PAGE * PAGES, PAGE);
            other.fill((byte) 9);
            try (BaseWriter abandoned = BaseWriter.open(dir, other.byteSize(), PAGE)) {
                for (int p = 0; p < PAGES / 2; p++) abandoned.add(p, other, (long) p * PAGE);
            }
            MemorySegment restored = arena.allocate((long) PAGE * PAGES, PAGE);
            Checkpointer.restore(dir, restored);
            assertEquals(-1, first.mismatch(restored), "the abandoned base must not replace the published one");
            try (Stream<Path> files = Files.list(dir)) {
                assertTrue(files.noneMatch(f -> f.getFileName().toString().endsWith(".tmp")), "an abandoned base leaves no temporary file");
            }
        }
    }

    @Test
    void badGeometryIsRefusedWithWhatIsAccepted(@TempDir Path dir) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BaseWriter.open(dir, 10_000, PAGE));
        assertTrue(e.getMessage().contains("whole number of pages") && e.getMessage().contains("10000"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BaseWriter.open(dir, 3 * 1000, 1000));
    }
}
