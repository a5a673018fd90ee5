package io.pagemark.checkpoint;

import io.pagemark.Backend;
import io.pagemark.Capabilities;
import io.pagemark.KernelMatrix;
import io.pagemark.TrackedArena;
import io.pagemark.WriterGate;
import io.pagemark.testing.BackendsWith;
import io.pagemark.testing.OverwritingWriters;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Checkpoints of an arena whose writers keep overwriting pages during the checkpoint (the versioned
 * pattern of {@link OverwritingWriters}) restore to the arena exactly as it was at one instant, the
 * checkpoint's cut, on every backend that copies before write; a checkpointer that reads the cut's
 * pages from the arena instead of from the cut (a test hook) restores to something else (the teeth);
 * on the backends that cannot cut without a writer pause, a checkpoint of a running arena is fuzzy,
 * as {@link Checkpointer#consistent()} says.
 */
class ConsistentCheckpointTest {
    private static final long ARENA_BYTES = 8L << 20;
    private static final int DELTAS = 4;

    private static void assumeUsable(Backend backend) {
        Capabilities.Support support = Capabilities.probe().backends().get(backend);
        assumeTrue(support.usable(), () -> "skipped: " + backend + " is not usable here: " + support.reason());
    }

    /** Which checkpoints read the cut's pages from the arena as they are now (the teeth's test hook). */
    private enum Bypass { NONE, BASE, DELTAS }

    /**
     * A base, then deltas, each taken as: writers held, the arena copied as the expected image, the
     * checkpoint's instant, then the writers overwriting pages (400 of them before a single page is
     * read) while the checkpoint reads and writes its pages; the chain restored after each must equal
     * the expected image. Returns the first difference, or null.
     */
    private static String checkpointsEqualTheirInstant(Backend backend, Path dir, Bypass bypass) throws Exception {
        WriterGate gate = new WriterGate();
        try (TrackedArena arena = TrackedArena.builder().size(ARENA_BYTES).backend(backend).writerPause(gate).open();
             Arena scratch = Arena.ofConfined();
             OverwritingWriters writers = new OverwritingWriters(arena, gate, 11);
             Checkpointer checkpointer = Checkpointer.open(arena, dir)) {
            long pageSize = arena.pageSize();
            MemorySegment expected = scratch.allocate(ARENA_BYTES, pageSize);
            MemorySegment restored = scratch.allocate(ARENA_BYTES, pageSize);
            checkpointer.afterInstantForTest = () -> {
                writers.go();
                try {
                    writers.awaitPages(400);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            };
            long pagesWritten = 0;
            for (int round = 0; round <= DELTAS; round++) {
                writers.go();
                writers.awaitPages(round == 0 ? 1500 : 200 + 100L * round);
                writers.hold();
                MemorySegment.copy(arena.segment(), 0, expected, 0, ARENA_BYTES);
                checkpointer.bypassCutForTest = bypass == (round == 0 ? Bypass.BASE : Bypass.DELTAS);
                Checkpoint checkpoint = checkpointer.checkpoint();
                writers.hold();
                assertEquals(round == 0 ? Checkpoint.Kind.BASE : Checkpoint.Kind.DELTA, checkpoint.kind());
                pagesWritten += checkpoint.pages();
                Checkpointer.restore(dir, restored);
                long at = restored.mismatch(expected);
                if (at >= 0) {
                    return backend + ", checkpoint " + checkpoint.sequence() + " (" + checkpoint.kind() + ", " + checkpoint.pages()
                            + " pages): the restored chain differs from the arena at the checkpoint's instant at page " + at / pageSize;
                }
            }
            System.out.printf("%s: a base and %d deltas (%d pages) of %d MiB, each restored equal to the arena at its instant"
                    + " while the writers overwrote pages%n", backend, DELTAS, pagesWritten, ARENA_BYTES >> 20);
            return null;
        }
    }

    @KernelMatrix
    @ParameterizedTest(name = "{0}")
    @BackendsWith(Backend.Trait.COPY_BEFORE_WRITE)
    void checkpointsOfARunningArenaEqualTheArenaAtTheirInstant(Backend backend, @TempDir Path dir) throws Exception {
        assumeUsable(backend);
        assertNull(checkpointsEqualTheirInstant(backend, dir, Bypass.NONE));
    }

    /** Teeth: a base that reads the full cut's pages from the arena (as a fuzzy checkpoint does) must differ. */
    @ParameterizedTest(name = "{0}")
    @BackendsWith(Backend.Trait.COPY_BEFORE_WRITE)
    void aBaseThatBypassesTheCutDiffers(Backend backend, @TempDir Path dir) throws Exception {
        assertBypassDiffers(backend, dir, Bypass.BASE);
    }

    /** Teeth: deltas that read their cut's pages from the arena (the base from its cut) must differ. */
    @ParameterizedTest(name = "{0}")
    @BackendsWith(Backend.Trait.COPY_BEFORE_WRITE)
    void deltasThatBypassTheCutDiffer(Backend backend, @TempDir Path dir) throws Exception {
        assertBypassDiffers(backend, dir, Bypass.DELTAS);
    }

    private static void assertBypassDiffers(Backend backend, Path dir, Bypass bypass) throws Exception {
        assumeUsable(backend);
        String difference = checkpointsEqualTheirInstant(backend, dir, bypass);
        assertNotNull(difference, "checkpoints reading the arena instead of the cut (" + bypass + ") still equalled the arena at their instant");
        if (bypass == Bypass.DELTAS) assertTrue(!difference.contains("BASE"), difference);
        System.out.println("teeth (" + bypass + "): " + difference);
    }

    @ParameterizedTest(name = "{0}")
    @BackendsWith(Backend.Trait.COPY_BEFORE_WRITE)
    void aCopyBeforeWriteBackendCheckpointsConsistently(Backend backend, @TempDir Path dir) throws Exception {
        assumeUsable(backend);
        try (TrackedArena arena = TrackedArena.builder().size(1 << 20).backend(backend).open();
             Checkpointer checkpointer = Checkpointer.open(arena, dir)) {
            assertTrue(checkpointer.consistent());
        }
    }

    /**
     * What the other hardware backends do: a checkpoint of a running arena is fuzzy (it differs from
     * the arena at its instant). Card-table is the same, but it sees only writes through the arena's
     * API, and these writers store to the memory directly.
     */
    @ParameterizedTest(name = "{0}")
    @BackendsWith(value = Backend.Trait.HARDWARE, without = Backend.Trait.COPY_BEFORE_WRITE)
    void theOtherBackendsCheckpointARunningArenaFuzzily(Backend backend, @TempDir Path dir) throws Exception {
        assumeUsable(backend);
        try (TrackedArena arena = TrackedArena.builder().size(1 << 20).backend(backend).writerPause(new WriterGate()).open();
             Checkpointer checkpointer = Checkpointer.open(arena, dir)) {
            assertFalse(checkpointer.consistent());
        }
        String difference = checkpointsEqualTheirInstant(backend, dir.resolve("running"), Bypass.NONE);
        assertNotNull(difference, "a fuzzy checkpoint of a running " + backend + " arena equalled the arena at its instant");
        System.out.println("fuzzy, as documented: " + difference);
    }
}
