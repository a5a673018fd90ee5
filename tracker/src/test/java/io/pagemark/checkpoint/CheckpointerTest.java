package io.pagemark.checkpoint;

import io.pagemark.TrackedArena;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;

import static io.pagemark.checkpoint.ArenaAssertions.assertSameBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The checkpointer's contract on one arena: what each checkpoint holds, restore, compaction, reopening, the directory. */
class CheckpointerTest {
    private static final long PAGES = 64;

    @TempDir
    Path dir;

    private static TrackedArena arena() {
        return TrackedArena.open(PAGES * 4096);
    }

    private static void restoreAndCompare(Path dir, TrackedArena arena, String what) throws IOException {
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment restored = scratch.allocate(arena.size());
            Checkpointer.restore(dir, restored);
            assertSameBytes(arena.segment(), restored, arena.pageSize(), what);
        }
    }

    @Test
    void firstCheckpointIsABaseOfTheNonZeroPagesThenDeltasHoldExactlyTheWrittenPages() throws IOException {
        try (TrackedArena arena = arena(); Checkpointer checkpointer = Checkpointer.open(arena, dir)) {
            long page = arena.pageSize();
            arena.putLong(3 * page, 0x1111L);
            arena.putLong(10 * page + 100, 0x2222L);

            Checkpoint base = checkpointer.checkpoint();
            assertEquals(Checkpoint.Kind.BASE, base.kind());
            assertEquals(2, base.pages(), "a base leaves zero pages out");
            assertEquals(Files.size(base.file()), base.bytes());
            restoreAndCompare(dir, arena, "after the base");

            arena.putByte(5 * page, (byte) 7);
            arena.put(6 * page - 4, new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, 0, 8);   // straddles pages 5 and 6
            arena.putLong((PAGES - 1) * page + page - 8, -1L);
            arena.putLong(3 * page, 0L);                                        // page 3 written back to zero: a delta keeps it
            Checkpoint delta = checkpointer.checkpoint();
            assertEquals(Checkpoint.Kind.DELTA, delta.kind());
            assertTrue(delta.sequence() > base.sequence());
            assertEquals(4, delta.pages(), "pages 3, 5, 6 and the last");
            restoreAndCompare(dir, arena, "after a delta");

            Checkpoint empty = checkpointer.checkpoint();
            assertEquals(0, empty.pages());
            Chain chain = checkpointer.chain();
            assertEquals(List.of(base.sequence(), delta.sequence(), empty.sequence()),
                    chain.files().stream().map(Checkpoint::sequence).toList());
            assertEquals(chain, Checkpointer.chain(dir));
            restoreAndCompare(dir, arena, "after an empty delta");
        }
    }

    @Test
    void compactionFoldsTheChainIntoOneBaseOfTheSameStateThatLaterDeltasExtend() throws IOException {
        try (TrackedArena arena = arena(); Checkpointer checkpointer = Checkpointer.open(arena, dir)) {
            for (int round = 0; round < 5; round++) {
                for (int i = 0; i <= round; i++) arena.putLong((round * 7L + i * 3L) % PAGES * arena.pageSize(), round * 100L + i);
                checkpointer.checkpoint();
            }
            long head = checkpointer.chain().sequence();
            Chain compacted = checkpointer.compact();
            assertEquals(1, compacted.files().size());
            assertEquals(Checkpoint.Kind.BASE, compacted.head().kind());
            assertEquals(head, compacted.sequence(), "a compacted base keeps the head's sequence");
            try (Stream<Path> files = Files.list(dir)) {
                assertEquals(List.of(compacted.head().file().getFileName().toString()),
                        files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".base") || n.endsWith(".delta")).toList(),
                        "the folded files are deleted");
            }
            restoreAndCompare(dir, arena, "after compaction");

            arena.putLong(0, 42L);
            Checkpoint delta = checkpointer.checkpoint();
            assertEquals(Checkpoint.Kind.DELTA, delta.kind());
            restoreAndCompare(dir, arena, "a delta on a compacted base");
            Chain again = checkpointer.compact();
            assertEquals(1, again.files().size());
            assertEquals(delta.sequence(), again.sequence());
            restoreAndCompare(dir, arena, "after a second compaction");
            assertEquals(again, checkpointer.compact(), "a chain that is only a base is left as is");
        }
    }

    @Test
    void compactionNeedsTheDirectoryToItselfAndWorksWithoutAnArena() throws IOException {
        try (TrackedArena arena = arena()) {
            try (Checkpointer checkpointer = Checkpointer.open(arena, dir)) {
                arena.putLong(0, 1L);
                checkpointer.checkpoint();
                arena.putLong(arena.pageSize() * 9, 2L);
                checkpointer.checkpoint();
                IOException busy = assertThrows(IOException.class, () -> Checkpointer.compact(dir));
                assertTrue(busy.getMessage().contains("in use"), busy.getMessage());
                assertThrows(IOException.class, () -> Checkpointer.open(arena, dir), "a second checkpointer on the directory");
            }
            Chain compacted = Checkpointer.compact(dir);
            assertEquals(1, compacted.files().size());
            restoreAndCompare(dir, arena, "after an offline compaction");
        }
    }

    @Test
    void reopeningADirectoryContinuesItsChainWithANewBase() throws IOException {
        try (TrackedArena arena = arena()) {
            long firstHead;
            try (Checkpointer checkpointer = Checkpointer.open(arena, dir)) {
                arena.putLong(0, 1L);
                checkpointer.checkpoint();
                arena.putLong(arena.pageSize(), 2L);
                firstHead = checkpointer.checkpoint().sequence();
            }
            arena.putLong(2 * arena.pageSize(), 3L);
            try (Checkpointer checkpointer = Checkpointer.open(arena, dir)) {
                assertEquals(firstHead, checkpointer.chain().sequence(), "the chain found is the published one until a new base");
                Checkpoint base = checkpointer.checkpoint();
                assertEquals(Checkpoint.Kind.BASE, base.kind());
                assertTrue(base.sequence() > firstHead);
                assertEquals(1, Checkpointer.chain(dir).files().size(), "the old chain is replaced");
                restoreAndCompare(dir, arena, "after reopening");
            }
        }
    }

    @Test
    void restoreIntoANewArenaRebuildsItUnarmed() throws IOException {
        try (TrackedArena arena = arena(); Checkpointer checkpointer = Checkpointer.open(arena, dir)) {
            arena.putLong(17 * arena.pageSize() + 8, 0xCAFEL);
            checkpointer.checkpoint();
            arena.putLong(18 * arena.pageSize(), 0xBEEFL);
            checkpointer.checkpoint();
            try (TrackedArena restored = Checkpointer.restore(dir, TrackedArena.builder())) {
                assertFalse(restored.isArmed());
                assertEquals(arena.size(), restored.size());
                assertSameBytes(arena.segment(), restored.segment(), arena.pageSize(), "restored arena");
            }
        }
    }

    @Test
    void filesAreOwnerOnlyAndCrashLeftoversAreIgnoredThenDeleted() throws IOException {
        Path ckpt = dir.resolve("ckpt");
        try (TrackedArena arena = arena()) {
            try (Checkpointer checkpointer = Checkpointer.open(arena, ckpt)) {
                arena.putLong(0, 5L);
                checkpointer.checkpoint();
                arena.putLong(arena.pageSize(), 6L);
                checkpointer.checkpoint();
            }
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(ckpt)));
            try (Stream<Path> files = Files.list(ckpt)) {
                for (Path f : files.toList()) {
                    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)), f.toString());
                }
            }
            // What a crash can leave: a temporary file, and a checkpoint file renamed into place whose manifest never was.
            Path temp = Files.writeString(ckpt.resolve(".pagemark-123.tmp"), "partial");
            Path orphan = Files.writeString(ckpt.resolve(String.format("pagemark-%020d.delta", 999)), "not listed");
            restoreAndCompare(ckpt, arena, "with leftovers in the directory");
            try (Checkpointer checkpointer = Checkpointer.open(arena, ckpt)) {
                assertFalse(Files.exists(temp), "temporary files are deleted on open");
                Checkpoint base = checkpointer.checkpoint();
                assertTrue(base.sequence() > 999, "sequence numbers never reuse a name found in the directory");
                assertFalse(Files.exists(orphan), "unlisted chain files are deleted after a publish");
            }
        }
    }

    @Test
    void aFirstCheckpointInterruptedBeforeItsManifestPublishedNothingAndAMissingManifestWithDeltasIsDamage() throws IOException {
        Path manifest = dir.resolve(ChainDirectory.MANIFEST);
        try (TrackedArena arena = arena()) {
            Checkpoint base;
            try (Checkpointer checkpointer = Checkpointer.open(arena, dir)) {
                arena.putLong(0, 5L);
                base = checkpointer.checkpoint();
            }
            Files.delete(manifest);   // the state of a kill between the base's rename and the manifest's
            NoSuchFileException nothing = assertThrows(NoSuchFileException.class, () -> Checkpointer.chain(dir));
            assertTrue(nothing.getMessage().contains("no checkpoint has been published")
                    && nothing.getMessage().contains(base.file().getFileName().toString()), nothing.getMessage());
            assertThrows(NoSuchFileException.class, () -> Checkpointer.restore(dir, MemorySegment.ofArray(new byte[(int) arena.size()])));

            try (Checkpointer checkpointer = Checkpointer.open(arena, dir)) {
                Checkpoint first = checkpointer.checkpoint();
                assertEquals(Checkpoint.Kind.BASE, first.kind(), "nothing was published: the next checkpoint is a base");
                assertFalse(Files.exists(base.file()), "the unpublished base is deleted once a checkpoint is published");
                arena.putLong(arena.pageSize(), 6L);
                assertEquals(Checkpoint.Kind.DELTA, checkpointer.checkpoint().kind());
            }
            restoreAndCompare(dir, arena, "after the interrupted first checkpoint");
            Files.delete(manifest);   // a delta exists, so a base was published: the manifest's absence is damage
            CheckpointCorruptException damage = assertThrows(CheckpointCorruptException.class, () -> Checkpointer.chain(dir));
            assertEquals(manifest, damage.file(), damage.getMessage());
            assertTrue(damage.getMessage().contains("no manifest"), damage.getMessage());
        }
    }

    @Test
    void badInputIsRefusedWithAClearMessage() throws IOException {
        NoSuchFileException none = assertThrows(NoSuchFileException.class, () -> Checkpointer.restore(dir, MemorySegment.ofArray(new byte[4096])));
        assertTrue(none.getMessage().contains("no checkpoint has been published"), none.getMessage());
        try (TrackedArena arena = arena()) {
            try (Checkpointer checkpointer = Checkpointer.open(arena, dir)) {
                IOException nothing = assertThrows(IOException.class, checkpointer::compact);
                assertTrue(nothing.getMessage().contains("nothing to compact"), nothing.getMessage());
                checkpointer.checkpoint();
            }
            IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
                    () -> Checkpointer.restore(dir, MemorySegment.ofArray(new byte[4096])));
            assertTrue(size.getMessage().contains("4096") && size.getMessage().contains(String.valueOf(arena.size())), size.getMessage());
            try (TrackedArena other = TrackedArena.open(2 * arena.size())) {
                IllegalArgumentException mismatch = assertThrows(IllegalArgumentException.class, () -> Checkpointer.open(other, dir));
                assertTrue(mismatch.getMessage().contains("another directory"), mismatch.getMessage());
            }
            Checkpointer closed = Checkpointer.open(arena, dir);
            closed.close();
            closed.close();
            assertThrows(IllegalStateException.class, closed::checkpoint);
        }
    }
}
