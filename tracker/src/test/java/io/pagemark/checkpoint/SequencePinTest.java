package io.pagemark.checkpoint;

import io.pagemark.TrackedArena;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import static io.pagemark.checkpoint.ArenaAssertions.assertSameBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Rollback: an older manifest put back, intact, restores the older state without a word unless a
 * {@link SequencePin} says which checkpoint was seen last; with one, the restore (and a checkpointer
 * opened on the directory) refuses before it changes anything.
 */
class SequencePinTest {
    private static final long PAGES = 8;

    @TempDir
    Path work;

    private Path dir() {
        return work.resolve("ckpt");
    }

    /** Checkpoints {@code count} times, each after a write of {@code value + i} to page i; returns the arena's bytes after each. */
    private static byte[][] checkpoints(TrackedArena arena, Checkpointer checkpointer, int count) throws IOException {
        byte[][] states = new byte[count][];
        for (int i = 0; i < count; i++) {
            arena.putLong(i % PAGES * arena.pageSize(), 1000L + i);
            checkpointer.checkpoint();
            states[i] = arena.segment().toArray(ValueLayout.JAVA_BYTE);
        }
        return states;
    }

    @Test
    void aSidecarPinReportsAnOlderManifestPutBack() throws IOException {
        Path sidecar = work.resolve("ckpt.pin");
        Path manifest = dir().resolve(ChainDirectory.MANIFEST);
        byte[] older, olderState;
        try (TrackedArena arena = TrackedArena.open(PAGES * 4096); Checkpointer checkpointer = Checkpointer.open(arena, dir(), SequencePin.sidecar(sidecar))) {
            olderState = checkpoints(arena, checkpointer, 2)[1];
            older = Files.readAllBytes(manifest);
            checkpoints(arena, checkpointer, 2);
        }
        assertEquals(4, SequencePin.sidecar(sidecar).newest(), "the sidecar holds the last checkpoint published");
        Files.write(manifest, older);   // intact, older: every checksum agrees

        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment target = scratch.allocate(PAGES * 4096);
            assertEquals(2, Checkpointer.restore(dir(), target).sequence(), "without a pin the manifest is the root of trust");
            assertSameBytes(MemorySegment.ofArray(olderState), target, 4096, "the older state");

            target.fill((byte) 7);
            SequencePin pin = SequencePin.sidecar(sidecar);   // as a new process reads it
            CheckpointCorruptException rollback = assertThrows(CheckpointCorruptException.class, () -> Checkpointer.restore(dir(), target, pin));
            assertEquals(manifest, rollback.file());
            assertEquals(manifest + " at offset 0: holds checkpoint 2, older than checkpoint 4, the newest the sequence pin " + sidecar
                    + " has seen: an older manifest was put back (a rollback); the checkpoint chain cannot be restored", rollback.getMessage());
            for (long at = 0; at < target.byteSize(); at++) assertEquals(7, target.get(ValueLayout.JAVA_BYTE, at), "the target was changed");
            assertThrows(CheckpointCorruptException.class, () -> Checkpointer.restore(dir(), TrackedArena.builder(), pin).close());
            try (TrackedArena arena = TrackedArena.open(PAGES * 4096)) {
                CheckpointCorruptException continued = assertThrows(CheckpointCorruptException.class, () -> Checkpointer.open(arena, dir(), pin).close());
                assertTrue(continued.getMessage().contains("a rollback"), continued.getMessage());
            }
        }
        Files.delete(manifest);
        try (TrackedArena arena = TrackedArena.open(PAGES * 4096)) {
            CheckpointCorruptException deleted = assertThrows(CheckpointCorruptException.class,
                    () -> Checkpointer.open(arena, dir(), SequencePin.sidecar(sidecar)).close());
            assertTrue(deleted.getMessage().contains("missing, while the sequence pin " + sidecar + " has seen checkpoint 4 here"), deleted.getMessage());
        }
    }

    @Test
    void aPinTheCallerKeepsAdvancesWithEveryCheckpointAndRestore() throws IOException {
        SequencePin pin = SequencePin.of(0);
        byte[] older;
        try (TrackedArena arena = TrackedArena.open(PAGES * 4096); Checkpointer checkpointer = Checkpointer.open(arena, dir(), pin)) {
            checkpoints(arena, checkpointer, 3);
            assertEquals(3, pin.newest());
            older = Files.readAllBytes(dir().resolve(ChainDirectory.MANIFEST));
            checkpointer.compact();
            assertEquals(3, pin.newest(), "a compaction keeps the sequence");
            checkpoints(arena, checkpointer, 1);
        }
        assertEquals(4, pin.newest());

        // A pin behind the chain (a crash between the manifest's rename and the pin's update) refuses nothing.
        SequencePin behind = SequencePin.of(3);
        try (TrackedArena restored = Checkpointer.restore(dir(), TrackedArena.builder(), behind)) {
            assertEquals(4, behind.newest(), "a restore advances the pin to the chain restored");
        }
        // The compaction deleted the files the older manifest lists: put back with it, the restore fails on them ...
        Files.write(dir().resolve(ChainDirectory.MANIFEST), older);
        try (Arena scratch = Arena.ofConfined()) {
            assertThrows(CheckpointCorruptException.class, () -> Checkpointer.restore(dir(), scratch.allocate(PAGES * 4096)));
            // ... and with the pin it is refused as what it is, before any file is read.
            CheckpointCorruptException rollback = assertThrows(CheckpointCorruptException.class,
                    () -> Checkpointer.restore(dir(), scratch.allocate(PAGES * 4096), SequencePin.of(4)));
            assertTrue(rollback.getMessage().contains("holds checkpoint 3, older than checkpoint 4, the newest the sequence pin the caller kept has seen"),
                    rollback.getMessage());
        }
    }

    @Test
    void aPinIsCheckedForWhereItIsKeptAndWhatItHolds() throws IOException {
        try (TrackedArena arena = TrackedArena.open(PAGES * 4096); Checkpointer checkpointer = Checkpointer.open(arena, dir())) {
            checkpoints(arena, checkpointer, 1);
        }
        IllegalArgumentException inside = assertThrows(IllegalArgumentException.class,
                () -> Checkpointer.restore(dir(), TrackedArena.builder(), SequencePin.sidecar(dir().resolve("ckpt.pin"))).close());
        assertTrue(inside.getMessage().contains("inside the checkpoint directory"), inside.getMessage());

        Path sidecar = work.resolve("ckpt.pin");
        try (TrackedArena restored = Checkpointer.restore(dir(), TrackedArena.builder(), SequencePin.sidecar(sidecar))) {
            assertEquals(1, SequencePin.sidecar(sidecar).newest(), "a restore with a sidecar pin records what it restored");
        }
        byte[] bytes = Files.readAllBytes(sidecar);
        bytes[14] ^= 1;
        Files.write(sidecar, bytes);
        CheckpointCorruptException damaged = assertThrows(CheckpointCorruptException.class, () -> SequencePin.sidecar(sidecar));
        assertEquals(sidecar, damaged.file(), damaged.getMessage());
        Files.delete(sidecar);
        Path elsewhere = Files.write(work.resolve("elsewhere"), new byte[0]);
        Files.createSymbolicLink(sidecar, elsewhere);
        CheckpointCorruptException link = assertThrows(CheckpointCorruptException.class, () -> SequencePin.sidecar(sidecar));
        assertTrue(link.getMessage().contains("symbolic link"), link.getMessage());
        assertThrows(NoSuchFileException.class, () -> SequencePin.sidecar(work.resolve("absent/ckpt.pin")));
        assertThrows(IllegalArgumentException.class, () -> SequencePin.of(-1));
    }
}
