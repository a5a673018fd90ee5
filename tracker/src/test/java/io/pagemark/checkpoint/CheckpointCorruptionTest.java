package io.pagemark.checkpoint;

import io.pagemark.TrackedArena;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

import static io.pagemark.checkpoint.ArenaAssertions.assertSameBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Fault injection: every file of a chain (base, deltas, manifest) is damaged in turn — a byte flipped
 * at many offsets (every header, trailer and manifest byte, every record's index and checksum bytes,
 * data bytes of every record), truncated at many lengths, extended, deleted, swapped with another —
 * and every time restore must refuse with the damaged file and the exact offset of the checksummed
 * unit that holds the damage (for a truncation, the file's length).
 */
class CheckpointCorruptionTest {
    private static final int PAGES = 24;

    @TempDir
    Path dir;

    private final Random random = new Random(20251121);
    private long pageSize;
    private long recordBytes;
    /** Every file of the chain with its pristine bytes, the manifest last. */
    private final Map<Path, byte[]> pristine = new LinkedHashMap<>();
    private Path manifest;
    private byte[] expectedArena;

    @BeforeEach
    void buildChain() throws IOException {
        try (TrackedArena arena = TrackedArena.open(PAGES * 4096L); Checkpointer checkpointer = Checkpointer.open(arena, dir)) {
            pageSize = arena.pageSize();
            recordBytes = Format.recordBytes((int) pageSize);
            byte[] page = new byte[(int) pageSize];
            for (int p = 0; p < PAGES - 4; p++) {           // the last pages stay zero: the base leaves them out
                random.nextBytes(page);
                arena.put(p * pageSize, page, 0, page.length);
            }
            checkpointer.checkpoint();
            for (int dirty : new int[] {8, 3, 0, 12}) {
                for (int i = 0; i < dirty; i++) arena.putLong(random.nextInt(PAGES) * pageSize + 8L * random.nextInt(512), random.nextLong());
                checkpointer.checkpoint();
            }
            expectedArena = arena.segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            for (Checkpoint c : checkpointer.chain().files()) pristine.put(c.file(), Files.readAllBytes(c.file()));
            manifest = dir.resolve(ChainDirectory.MANIFEST);
            pristine.put(manifest, Files.readAllBytes(manifest));
        }
        assertEquals(6, pristine.size(), "a base, four deltas and the manifest");
        restoreSucceeds("the undamaged chain");
    }

    private void restoreSucceeds(String what) throws IOException {
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment target = scratch.allocate(expectedArena.length);
            Checkpointer.restore(dir, target);
            assertSameBytes(MemorySegment.ofArray(expectedArena), target, pageSize, what);
        }
    }

    /** Restore must refuse, naming {@code file} and {@code offset}. */
    private void assertDetected(Path file, long offset, String damage) throws IOException {
        try (Arena scratch = Arena.ofConfined()) {
            Checkpointer.restore(dir, scratch.allocate(expectedArena.length));
            fail("restore accepted the chain after " + damage);
        } catch (CheckpointCorruptException e) {
            assertEquals(file, e.file(), damage + ": " + e.getMessage());
            assertEquals(offset, e.offset(), damage + ": " + e.getMessage());
            assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("offset " + offset), e.getMessage());
        }
    }

    private void putBack(Path file) throws IOException {
        Files.write(file, pristine.get(file));
    }

    /** Where restore must report damage at {@code offset} of {@code file}: the start of the unit whose checksum covers it. */
    private long unitOf(Path file, long offset) {
        if (file.equals(manifest)) return 0;
        long size = pristine.get(file).length;
        if (offset < Format.HEADER_BYTES) return 0;
        if (offset >= size - Format.TRAILER_BYTES) return size - Format.TRAILER_BYTES;
        return Format.HEADER_BYTES + (offset - Format.HEADER_BYTES) / recordBytes * recordBytes;
    }

    /** The offsets to damage: every header, trailer and manifest byte; each record's prefix and a spread of its data bytes. */
    private TreeSet<Long> offsetsToDamage(Path file) {
        long size = pristine.get(file).length;
        TreeSet<Long> offsets = new TreeSet<>();
        if (file.equals(manifest)) {
            for (long o = 0; o < size; o++) offsets.add(o);
            return offsets;
        }
        for (long o = 0; o < Format.HEADER_BYTES; o++) offsets.add(o);
        for (long o = size - Format.TRAILER_BYTES; o < size; o++) offsets.add(o);
        for (long r = Format.HEADER_BYTES; r < size - Format.TRAILER_BYTES; r += recordBytes) {
            for (long o = 0; o < Format.RECORD_PREFIX_BYTES; o++) offsets.add(r + o);
            long data = r + Format.RECORD_PREFIX_BYTES;
            offsets.add(data);
            offsets.add(data + pageSize / 2);
            offsets.add(data + pageSize - 1);
            offsets.add(data + random.nextInt((int) pageSize));
        }
        return offsets;
    }

    @Test
    void aFlippedByteAnywhereInAnyFileIsReportedWithItsFileAndOffset() throws IOException {
        int flips = 0;
        for (Path file : pristine.keySet()) {
            for (long offset : offsetsToDamage(file)) {
                byte[] damaged = pristine.get(file).clone();
                damaged[(int) offset] ^= (byte) (1 + random.nextInt(255));
                Files.write(file, damaged);
                assertDetected(file, unitOf(file, offset), "a flipped byte at offset " + offset + " of " + file.getFileName());
                flips++;
            }
            putBack(file);
        }
        restoreSucceeds("the chain put back");
        System.out.println(flips + " flipped bytes, each detected at its file and offset");
        assertTrue(flips > 1000, "only " + flips + " flips tried");
    }

    @Test
    void aTruncatedOrExtendedFileIsReportedAtItsLength() throws IOException {
        for (Path file : pristine.keySet()) {
            byte[] bytes = pristine.get(file);
            TreeSet<Long> lengths = new TreeSet<>(List.of(0L, 1L, 8L, (long) Format.HEADER_BYTES - 1, (long) Format.HEADER_BYTES,
                    bytes.length - (long) Format.TRAILER_BYTES, bytes.length - 4L, bytes.length - 1L));
            for (long r = Format.HEADER_BYTES; r < bytes.length - Format.TRAILER_BYTES; r += recordBytes) {
                lengths.add(r + 1);
                lengths.add(r + recordBytes - 1);
                lengths.add(r + recordBytes);
            }
            for (long length : lengths) {
                if (length >= bytes.length) continue;
                Files.write(file, java.util.Arrays.copyOf(bytes, (int) length));
                assertDetected(file, file.equals(manifest) ? 0 : length, file.getFileName() + " truncated to " + length + " bytes");
            }
            byte[] longer = java.util.Arrays.copyOf(bytes, bytes.length + 1);
            Files.write(file, longer);
            assertDetected(file, file.equals(manifest) ? 0 : bytes.length, file.getFileName() + " with a byte appended");
            putBack(file);
        }
        restoreSucceeds("the chain put back");
    }

    @Test
    void aMissingFileIsReportedEvenTheNewest() throws IOException {
        for (Path file : pristine.keySet()) {
            Files.delete(file);
            assertDetected(file, 0, file.getFileName() + " deleted");
            putBack(file);
        }
        restoreSucceeds("the chain put back");
    }

    @Test
    void swappedFilesAreReported() throws IOException {
        List<Path> chainFiles = new ArrayList<>(pristine.keySet());
        chainFiles.remove(manifest);
        for (int i = 0; i < chainFiles.size(); i++) {
            for (int j = i + 1; j < chainFiles.size(); j++) {
                Path a = chainFiles.get(i), b = chainFiles.get(j);
                Files.write(a, pristine.get(b));
                Files.write(b, pristine.get(a));
                try (Arena scratch = Arena.ofConfined()) {
                    Checkpointer.restore(dir, scratch.allocate(expectedArena.length));
                    fail("restore accepted the chain with " + a.getFileName() + " and " + b.getFileName() + " swapped");
                } catch (CheckpointCorruptException e) {
                    assertTrue(e.file().equals(a) || e.file().equals(b), e.getMessage());
                }
                putBack(a);
                putBack(b);
            }
        }
        // A delta renamed over its successor: its own place in the chain is empty now.
        Path first = chainFiles.get(1), second = chainFiles.get(2);
        Files.move(first, second, StandardCopyOption.REPLACE_EXISTING);
        assertDetected(first, 0, first.getFileName() + " renamed over " + second.getFileName());
        putBack(first);
        putBack(second);
        restoreSucceeds("the chain put back");
    }

    @Test
    void compactionRefusesADamagedChainAndLeavesItAsItWas() throws IOException {
        for (Path file : pristine.keySet()) {
            byte[] damaged = pristine.get(file).clone();
            int offset = damaged.length / 2;
            damaged[offset] ^= 0x40;
            Files.write(file, damaged);
            try {
                Checkpointer.compact(dir);
                fail("compaction accepted a chain with a flipped byte in " + file.getFileName());
            } catch (CheckpointCorruptException e) {
                assertEquals(file, e.file(), e.getMessage());
                assertEquals(unitOf(file, offset), e.offset(), e.getMessage());
            }
            putBack(file);
            for (Path f : pristine.keySet()) assertTrue(Files.exists(f), "compaction deleted " + f + " after failing");
        }
        restoreSucceeds("the chain after refused compactions");
    }
}
