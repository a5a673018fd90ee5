package io.pagemark.checkpoint;

import io.pagemark.testing.BackendsWith;
import io.pagemark.Backend;
import io.pagemark.Capabilities;
import io.pagemark.TrackedArena;
import io.pagemark.WriterGate;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static io.pagemark.checkpoint.ArenaAssertions.assertSameBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Random writers keep writing while checkpoints (fuzzy), compactions and quiet points follow each
 * other; at every quiet point (writers paused, then a checkpoint) the chain must restore to the
 * arena byte for byte, on every backend usable here.
 */
class CheckpointWorkloadTest {
    private static final long ARENA_BYTES = 4L << 20;
    private static final int WRITERS = 2;
    private static final int ROUNDS = 40;
    private static final Capabilities CAPABILITIES = Capabilities.probe();

    @ParameterizedTest
    @BackendsWith
    void everyQuietPointRestoresToTheArena(Backend backend, @TempDir Path dir) throws Exception {
        Capabilities.Support support = CAPABILITIES.backends().get(backend);
        assumeTrue(support.usable(), () -> backend + " is not usable here: " + support.reason());

        // Writers enter the gate around each batch of writes; a quiet point stops them (and so does
        // soft-dirty's collect, the one backend that needs it).
        WriterGate gate = new WriterGate();
        try (TrackedArena arena = TrackedArena.builder().size(ARENA_BYTES).backend(backend).writerPause(gate).open();
             Checkpointer checkpointer = Checkpointer.open(arena, dir)) {
            AtomicLong writes = new AtomicLong();
            AtomicReference<Throwable> writerFailure = new AtomicReference<>();
            List<Thread> writers = new ArrayList<>();
            for (int w = 0; w < WRITERS; w++) {
                long seed = 31L * w + backend.ordinal();
                writers.add(Thread.ofPlatform().name("writer-" + w).start(() -> {
                    try {
                        write(arena, gate, new SplittableRandom(seed), writes);
                    } catch (Throwable t) {
                        writerFailure.set(t);
                    }
                }));
            }
            int quietPoints = 0, compactions = 0;
            for (int round = 0; round < ROUNDS && writerFailure.get() == null; round++) {
                // Let the writers make some progress each round: on a synchronous backend a fault costs tens of
                // microseconds on a busy machine, and 40 back-to-back checkpoints could otherwise pass in a few writes.
                long progress = writes.get() + 320, deadline = System.nanoTime() + 10_000_000_000L;
                while (writes.get() < progress && writerFailure.get() == null && System.nanoTime() < deadline) Thread.sleep(1);
                if (round % 8 == 7) {
                    gate.stopWriters();
                    try {
                        checkpointer.checkpoint();
                        assertRestoresToArena(dir, arena, backend + ", quiet point after round " + round);
                        quietPoints++;
                    } finally {
                        gate.resumeWriters();
                    }
                } else {
                    checkpointer.checkpoint();
                }
                if (round % 13 == 12) {
                    checkpointer.compact();
                    compactions++;
                }
            }
            for (Thread t : writers) t.interrupt();
            for (Thread t : writers) t.join();
            assertNull(writerFailure.get(), () -> "a writer failed: " + writerFailure.get());

            checkpointer.checkpoint();
            assertRestoresToArena(dir, arena, backend + ", after the writers stopped");
            try (TrackedArena restored = Checkpointer.restore(dir, TrackedArena.builder().backend(backend).writerPause(new WriterGate()))) {
                assertSameBytes(arena.segment(), restored.segment(), arena.pageSize(), backend + ", restored into a new arena");
            }
            assertEquals(ROUNDS / 8, quietPoints);
            assertTrue(compactions >= 3);
            assertTrue(writes.get() > 10_000, "the writers made only " + writes.get() + " writes");
            System.out.printf("%s: %d writes, %d checkpoints, %d quiet points, %d compactions, chain now %d files, %d bytes%n",
                    backend, writes.get(), ROUNDS + 1, quietPoints + 1, compactions,
                    checkpointer.chain().files().size(), checkpointer.chain().bytes());
        }
    }

    /** Random writes of every shape until interrupted: bytes, longs, page-spanning copies, whole pages, and (hardware) direct stores. */
    private static void write(TrackedArena arena, WriterGate gate, SplittableRandom random, AtomicLong writes) {
        long size = arena.size();
        boolean directStoresSeen = arena.backend().isHardware();
        byte[] chunk = new byte[(int) arena.pageSize() + 2000];
        while (!Thread.currentThread().isInterrupted()) {
            gate.enter();
            try {
                for (int i = 0; i < 32; i++) {
                    switch (random.nextInt(directStoresSeen ? 5 : 4)) {
                        case 0 -> arena.putByte(random.nextLong(size), (byte) random.nextInt());
                        case 1 -> arena.putLong(random.nextLong(size - Long.BYTES + 1), random.nextLong());
                        case 2 -> {
                            int length = 1 + random.nextInt(chunk.length);
                            chunk[random.nextInt(length)] = (byte) random.nextInt();
                            arena.put(random.nextLong(size - length + 1), chunk, 0, length);
                        }
                        case 3 -> {
                            random.nextBytes(chunk);
                            arena.put(random.nextLong(arena.pageCount()) * arena.pageSize(), chunk, 0, (int) arena.pageSize());
                        }
                        default -> arena.segment().set(ValueLayout.JAVA_INT_UNALIGNED, random.nextLong(size - Integer.BYTES + 1), random.nextInt());
                    }
                }
                writes.addAndGet(32);
            } finally {
                gate.exit();
            }
            Thread.yield();
        }
    }

    private static void assertRestoresToArena(Path dir, TrackedArena arena, String what) throws IOException {
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment restored = scratch.allocate(arena.size());
            Checkpointer.restore(dir, restored);
            assertSameBytes(arena.segment(), restored, arena.pageSize(), what);
        }
    }
}
