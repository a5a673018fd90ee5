package io.pagemark.checkpoint;

import io.pagemark.TrackedArena;
import io.pagemark.linux.Libc;
import io.pagemark.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static io.pagemark.checkpoint.ArenaAssertions.assertSameBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What a checkpoint directory lets in, tried as a careless or hostile neighbour would: links planted
 * where the library's files go, a directory others can write or another user owns, a dangling link
 * as the directory; and what a failed restore leaves behind. (The cases root's privileges would hide
 * run as nobody: {@link CheckpointUnprivilegedTest}.)
 */
class CheckpointDirectoryTest {
    private static final long PAGES = 16;

    @TempDir
    Path work;

    private static TrackedArena arena() {
        return TrackedArena.open(PAGES * 4096);
    }

    /** A chain of a base and two deltas in {@code dir}; returns the arena's final contents. */
    private static byte[] chainIn(Path dir) throws IOException {
        try (TrackedArena arena = arena(); Checkpointer checkpointer = Checkpointer.open(arena, dir)) {
            for (long p = 0; p < PAGES; p++) arena.putLong(p * arena.pageSize(), p + 1);
            checkpointer.checkpoint();
            arena.putLong(3 * arena.pageSize() + 8, 33L);
            checkpointer.checkpoint();
            for (long p = 0; p < PAGES; p++) arena.putLong(p * arena.pageSize() + 16, -p);
            checkpointer.checkpoint();
            return arena.segment().toArray(ValueLayout.JAVA_BYTE);
        }
    }

    @Test
    void aLinkPlantedAsTheLockFileIsNotFollowed() throws IOException {
        Path dir = Files.createDirectory(work.resolve("ckpt"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path outside = work.resolve("outside");
        Files.createSymbolicLink(dir.resolve("pagemark.lock"), outside);
        try (TrackedArena arena = arena()) {
            IOException refused = assertThrows(IOException.class, () -> Checkpointer.open(arena, dir).close());
            assertTrue(refused.getMessage().contains("pagemark.lock") && refused.getMessage().contains("symbolic link"), refused.getMessage());
            assertThrows(IOException.class, () -> Checkpointer.compact(dir), "offline compaction takes the same lock");
        }
        assertFalse(Files.exists(outside, LinkOption.NOFOLLOW_LINKS), "the link's target was created outside the directory");
    }

    @Test
    void aLinkInPlaceOfTheManifestOrAChainFileIsNotFollowed() throws IOException {
        Path dir = work.resolve("ckpt");
        byte[] expected = chainIn(dir);
        Chain chain = Checkpointer.chain(dir);
        // Each file moved out and a link to it put in its place: the bytes are intact, the link must still be refused.
        for (Path file : new Path[] {dir.resolve(ChainDirectory.MANIFEST), chain.files().getFirst().file(), chain.head().file()}) {
            Path away = work.resolve("away-" + file.getFileName());
            Files.move(file, away);
            Files.createSymbolicLink(file, away);
            try (Arena scratch = Arena.ofConfined()) {
                CheckpointCorruptException e = assertThrows(CheckpointCorruptException.class,
                        () -> Checkpointer.restore(dir, scratch.allocate(expected.length)), "restore through a link as " + file);
                assertEquals(file, e.file(), e.getMessage());
                assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());
            }
            Files.delete(file);
            Files.move(away, file);
        }
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment restored = scratch.allocate(expected.length);
            Checkpointer.restore(dir, restored);
            assertSameBytes(MemorySegment.ofArray(expected), restored, 4096, "the files put back");
        }
    }

    @Test
    void aDirectoryOthersCanWriteIsRefusedSayingHowToFixIt() throws IOException {
        Path dir = work.resolve("ckpt");
        chainIn(dir);
        for (String mode : new String[] {"rwxrwxrwx", "rwxrwxr-x", "rwx---rwx"}) {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString(mode));
            String who = mode.charAt(4) == 'w' && mode.charAt(7) == 'w' ? "group and others" : mode.charAt(4) == 'w' ? "group" : "others";
            try (TrackedArena arena = arena(); Arena scratch = Arena.ofConfined()) {
                for (ThrowingAction use : new ThrowingAction[] {
                        () -> Checkpointer.open(arena, dir).close(),
                        () -> Checkpointer.restore(dir, scratch.allocate(arena.size())),
                        () -> Checkpointer.restore(dir, TrackedArena.builder()).close(),
                        () -> Checkpointer.compact(dir),
                        () -> Checkpointer.chain(dir),
                        () -> BaseWriter.open(dir, arena.size(), arena.pageSize()).close()}) {
                    IOException e = assertThrows(IOException.class, use::run, mode);
                    assertEquals("checkpoint directory " + dir + " is writable by " + who + " (mode " + octal(mode) + "): anyone who can write it can"
                            + " replace the checkpoints; tighten it (chmod go-w " + dir + ", or Checkpointer.tightenPermissions)"
                            + " or use a directory of your own", e.getMessage());
                }
            }
        }
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Checkpointer.chain(dir);   // readable by others, writable by no one else: accepted (ssh's rule)
    }

    @Test
    void aDirectoryAnotherUserOwnsIsRefused() throws IOException {
        assumeTrue(Libc.geteuid() == 0, "needs root to give a directory to another user (running as uid " + Libc.geteuid() + ")");
        Path dir = work.resolve("ckpt");
        chainIn(dir);
        Files.setAttribute(dir, "unix:uid", ChildJvm.NOBODY);
        try (TrackedArena arena = arena(); Arena scratch = Arena.ofConfined()) {
            IOException open = assertThrows(IOException.class, () -> Checkpointer.open(arena, dir).close());
            assertEquals("checkpoint directory " + dir + " is owned by nobody (uid " + ChildJvm.NOBODY + "), not by this process's user (uid 0) or root:"
                    + " its owner could replace the checkpoints; use a directory of your own", open.getMessage());
            IOException restore = assertThrows(IOException.class, () -> Checkpointer.restore(dir, scratch.allocate(arena.size())));
            assertEquals(open.getMessage(), restore.getMessage());
        }
    }

    @Test
    void tighteningMakesADirectoryOfOnesOwnPassAndRefusesAnotherUsers() throws IOException {
        Path dir = work.resolve("ckpt");
        chainIn(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThrows(IOException.class, () -> Checkpointer.chain(dir));
        assertEquals(dir, Checkpointer.tightenPermissions(dir));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
        assertEquals(3, Checkpointer.chain(dir).files().size());
        Path created = Checkpointer.tightenPermissions(work.resolve("new"));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(created)), "a missing directory is created 0700");

        assumeTrue(Libc.geteuid() == 0, "needs root to give a directory to another user (running as uid " + Libc.geteuid() + ")");
        Files.setAttribute(dir, "unix:uid", ChildJvm.NOBODY);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        IOException theirs = assertThrows(IOException.class, () -> Checkpointer.tightenPermissions(dir));
        assertEquals("checkpoint directory " + dir + " is owned by nobody (uid " + ChildJvm.NOBODY + "), not by this process's user"
                + " (uid 0): tightening its permissions would leave it another user's; use a directory of your own", theirs.getMessage());
        assertEquals("rwxrwxrwx", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)), "left as it was");
    }

    @Test
    void aDanglingLinkAsTheDirectoryIsExplained() throws IOException {
        Path target = work.resolve("gone");
        Path link = Files.createSymbolicLink(work.resolve("ckpt"), target);
        try (TrackedArena arena = arena()) {
            IOException e = assertThrows(IOException.class, () -> Checkpointer.open(arena, link).close());
            assertFalse(e instanceof FileAlreadyExistsException, e.toString());
            assertEquals("checkpoint directory " + link + " is a symbolic link to " + target + ", which does not exist: create " + target
                    + " (mode 0700) or point the link at a directory", e.getMessage());
            Files.createDirectory(target, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            try (Checkpointer checkpointer = Checkpointer.open(arena, link)) {   // a link to a good directory is followed, once
                arena.putLong(0, 7L);
                checkpointer.checkpoint();
            }
            assertTrue(Files.exists(target.resolve(ChainDirectory.MANIFEST)));
        }
    }

    @Test
    void aFailedRestoreLeavesTheTargetAsItWas() throws IOException {
        Path dir = work.resolve("ckpt");
        byte[] expected = chainIn(dir);
        Path head = Checkpointer.chain(dir).head().file();
        byte[] pristine = Files.readAllBytes(head);
        byte[] damaged = pristine.clone();
        damaged[damaged.length - Format.TRAILER_BYTES - 100] ^= 1;   // the last page record of the newest delta
        Files.write(head, damaged);
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment target = scratch.allocate(expected.length);
            target.fill((byte) 0x5A);
            MemorySegment before = scratch.allocate(expected.length);
            before.copyFrom(target);
            CheckpointCorruptException e = assertThrows(CheckpointCorruptException.class, () -> Checkpointer.restore(dir, target));
            assertEquals(head, e.file());
            assertSameBytes(before, target, 4096, "the target after a failed restore");

            Files.write(head, pristine);
            Checkpointer.restore(dir, target);
            assertSameBytes(MemorySegment.ofArray(expected), target, 4096, "the target after a good restore");
        }
    }

    @Test
    void restoringIntoABuilderLeavesTheCallersBuilderAsItWas() throws IOException {
        Path dir = work.resolve("ckpt");
        chainIn(dir);
        TrackedArena.Builder builder = TrackedArena.builder().size(4096);
        try (TrackedArena restored = Checkpointer.restore(dir, builder)) {
            assertEquals(PAGES * 4096, restored.size());
        }
        try (TrackedArena mine = builder.open()) {
            assertEquals(4096, mine.size(), "the builder still has the size its caller gave it");
        }
    }

    @Test
    void aBuildersCopyHasEverySetting() throws ReflectiveOperationException {
        TrackedArena.Builder builder = TrackedArena.builder().size(3 * 4096).backend(io.pagemark.Backend.MPROTECT)
                .transparentHugePages(true).forcePopulate(true).handlerThreads(2).pinHandlerThreads(true).handlerSpinMicros(5)
                .bulkPages(4).ringCapacity(1 << 16).writerPause(new io.pagemark.WriterGate()).name("copied").monitored(false)
                .inFlightWrites(TrackedArena.InFlightWrites.COLLECT_WAITS);
        TrackedArena.Builder copy = builder.copy(), fresh = TrackedArena.builder();
        for (java.lang.reflect.Field field : TrackedArena.Builder.class.getDeclaredFields()) {
            if (java.lang.reflect.Modifier.isStatic(field.getModifiers())) continue;
            field.setAccessible(true);
            assertTrue(!java.util.Objects.equals(field.get(builder), field.get(fresh)), "this test leaves " + field.getName() + " at its default");
            assertEquals(field.get(builder), field.get(copy), "copy() leaves out " + field.getName());
        }
        copy.size(4096);
        java.lang.reflect.Field size = TrackedArena.Builder.class.getDeclaredField("size");
        size.setAccessible(true);
        assertEquals(3 * 4096L, size.get(builder), "changing the copy changes the original");
    }

    @FunctionalInterface
    private interface ThrowingAction {
        void run() throws IOException;
    }

    private static String octal(String mode) {
        return String.format("%04o", Integer.parseInt(mode.replaceAll("[rwx]", "1").replace('-', '0'), 2));
    }
}
