package io.pagemark.checkpoint;

import io.pagemark.TrackedArena;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.stream.Stream;

import static io.pagemark.checkpoint.ArenaAssertions.assertSameBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A checkpoint that fails midway (a real write error: the process's file size limit, RLIMIT_FSIZE,
 * makes write(2) fail with EFBIG part way through the file; HotSpot ignores SIGXFSZ) publishes
 * nothing, leaves no file behind, and loses no page: the next checkpoint holds the pages the failed
 * one collected.
 */
class CheckpointFailureTest {
    private static final int RLIMIT_FSIZE = 1;
    private static final long PAGES = 64;
    /** Room for the header and a few page records: every checkpoint below is larger. */
    private static final long FILE_SIZE_LIMIT = 5 * 4096;

    @TempDir
    Path dir;

    @Test
    void aFailedDeltaPublishesNothingAndItsPagesGoIntoTheNextCheckpoint() throws Throwable {
        try (TrackedArena arena = TrackedArena.open(PAGES * 4096); Checkpointer checkpointer = Checkpointer.open(arena, dir)) {
            long page = arena.pageSize();
            for (long p = 0; p < PAGES; p++) arena.putLong(p * page, p + 1);
            Checkpoint base = checkpointer.checkpoint();
            byte[] atBase = arena.segment().toArray(ValueLayout.JAVA_BYTE);

            for (long p = 0; p < 40; p++) arena.putLong(p * page + 64, -p);        // collected by the checkpoints that fail
            for (int attempt = 0; attempt < 2; attempt++) {
                IOException failure = withFileSizeLimit(FILE_SIZE_LIMIT, () -> assertThrows(IOException.class, checkpointer::checkpoint));
                assertTrue(failure.getMessage().contains("File too large"), failure.toString());
                assertEquals(base.sequence(), checkpointer.chain().sequence(), "nothing was published");
                assertEquals(base.sequence(), Checkpointer.chain(dir).sequence());
                assertNoFilesBut(base.file());
                assertRestoresTo(MemorySegment.ofArray(atBase), page, "the chain after a failed checkpoint");
                arena.putLong((50 + attempt) * page, 77L);                           // written between failures
            }
            Checkpoint next = checkpointer.checkpoint();
            assertEquals(Checkpoint.Kind.DELTA, next.kind());
            assertEquals(42, next.pages(), "the 40 pages of the failed checkpoints, and the 2 written since");
            assertRestoresTo(arena.segment(), page, "the delta after the failures");
        }
    }

    @Test
    void aFailedBaseIsWrittenAgainInFull() throws Throwable {
        try (TrackedArena arena = TrackedArena.open(PAGES * 4096); Checkpointer checkpointer = Checkpointer.open(arena, dir)) {
            for (long p = 0; p < PAGES; p++) arena.putLong(p * arena.pageSize() + 8, p + 1);
            withFileSizeLimit(FILE_SIZE_LIMIT, () -> assertThrows(IOException.class, checkpointer::checkpoint));
            assertThrows(NoSuchFileException.class, () -> Checkpointer.chain(dir));
            assertNoFilesBut();
            arena.putLong(0, 99L);
            Checkpoint base = checkpointer.checkpoint();
            assertEquals(Checkpoint.Kind.BASE, base.kind());
            assertEquals(PAGES, base.pages());
            assertRestoresTo(arena.segment(), arena.pageSize(), "the base written after a failed one");
        }
    }

    private void assertNoFilesBut(Path... expected) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            var left = files.map(f -> f.getFileName().toString())
                    .filter(n -> !n.equals("pagemark.lock") && !n.equals(ChainDirectory.MANIFEST)).sorted().toList();
            assertEquals(Stream.of(expected).map(f -> f.getFileName().toString()).sorted().toList(), left,
                    "a failed checkpoint leaves no file behind");
        }
    }

    private void assertRestoresTo(MemorySegment expected, long pageSize, String what) throws IOException {
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment restored = scratch.allocate(expected.byteSize());
            Checkpointer.restore(dir, restored);
            assertSameBytes(expected, restored, pageSize, what);
        }
    }

    // ---- RLIMIT_FSIZE through FFM (a test-only call: the library never changes process limits) ----

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle GETRLIMIT = LINKER.downcallHandle(LINKER.defaultLookup().find("getrlimit").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
    private static final MethodHandle SETRLIMIT = LINKER.downcallHandle(LINKER.defaultLookup().find("setrlimit").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));

    @FunctionalInterface
    private interface Action<T> {
        T run() throws Throwable;
    }

    /** Runs {@code action} with the soft file size limit at {@code bytes}, then puts the limit back. */
    private static <T> T withFileSizeLimit(long bytes, Action<T> action) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment original = arena.allocate(16, 8);
            assertEquals(0, (int) GETRLIMIT.invokeExact(RLIMIT_FSIZE, original), "getrlimit(RLIMIT_FSIZE)");
            MemorySegment limited = arena.allocate(16, 8);
            limited.set(ValueLayout.JAVA_LONG, 0, bytes);
            limited.set(ValueLayout.JAVA_LONG, 8, original.get(ValueLayout.JAVA_LONG, 8));
            assertEquals(0, (int) SETRLIMIT.invokeExact(RLIMIT_FSIZE, limited), "setrlimit(RLIMIT_FSIZE)");
            try {
                return action.run();
            } finally {
                assertEquals(0, (int) SETRLIMIT.invokeExact(RLIMIT_FSIZE, original), "setrlimit(RLIMIT_FSIZE) back");
            }
        }
    }
}
