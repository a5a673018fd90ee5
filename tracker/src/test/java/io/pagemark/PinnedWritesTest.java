package io.pagemark;

import com.sun.nio.file.ExtendedOpenOption;
import io.pagemark.testing.BackendsWith;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Writes through pinned pages (issue 20): O_DIRECT reads into the arena racing a spinning collector
 * lose nothing through the API route on every backend, with teeth (the route without its
 * post-completion report, or a waiting collect that does not wait, must lose or fail); a failed or
 * partial read still reports what it wrote; the scope's and {@code written}'s contract. The race runs
 * {@value #DEFAULT_SECONDS} s per backend, or {@code -Dpagemark.pinned.seconds=N}.
 */
class PinnedWritesTest {
    private static final double DEFAULT_SECONDS = 2;
    private static final double SECONDS = Double.parseDouble(System.getProperty("pagemark.pinned.seconds", String.valueOf(DEFAULT_SECONDS)));
    private static final long ARENA = 16L << 20;
    private static final int PAGE = 4096;

    private static TrackedArena open(Backend backend, TrackedArena.InFlightWrites mode) {
        return open(backend, mode, false);
    }

    /** {@code exact}: one page per fault where the backend takes the option, so that sets compare exactly (no adaptive window). */
    private static TrackedArena open(Backend backend, TrackedArena.InFlightWrites mode, boolean exact) {
        Capabilities.Support support = Capabilities.probe().backends().get(backend);
        assumeTrue(support.usable(), () -> backend + " is not usable here: " + support.reason());
        TrackedArena.Builder builder = TrackedArena.builder().size(ARENA).backend(backend);
        if (exact && backend.accepts(Backend.Option.BULK_PAGES)) builder.bulkPages(1);
        if (backend.needsWriterPause()) builder.writerPause(new WriterGate()); // the readers report through the API: nothing to stop
        if (mode != null) builder.inFlightWrites(mode);
        return builder.open();
    }

    private static Path directFile(Path dir) throws IOException {
        String unusable = DirectReadRace.directIoUnusable(dir);
        assumeTrue(unusable == null, () -> "skipped: " + unusable);
        return DirectReadRace.dataFile(dir, 32L << 20);
    }

    @KernelMatrix
    @ParameterizedTest(name = "{0}")
    @BackendsWith
    void directReadsRacingASpinningCollectorLoseNothingThroughTheApi(Backend backend, @TempDir Path dir) throws Exception {
        raceLosesNothing(backend, null, dir);
    }

    /** The other way on the backends that allow both: the collect waits for the reads in flight. */
    @ParameterizedTest(name = "{0}")
    @BackendsWith(without = Backend.Trait.SIGNAL_HANDLER)
    void collectWaitsLosesNothingEither(Backend backend, @TempDir Path dir) throws Exception {
        raceLosesNothing(backend, TrackedArena.InFlightWrites.COLLECT_WAITS, dir);
    }

    private static void raceLosesNothing(Backend backend, TrackedArena.InFlightWrites mode, Path dir) throws Exception {
        Path file = directFile(dir);
        try (TrackedArena arena = open(backend, mode)) {
            DirectReadRace.Result result = DirectReadRace.run(arena, file, DirectReadRace.Route.API, SECONDS, 250);
            System.out.println(result);
            assertTrue(result.reads() > 0 && result.collects() > 1 && result.checks() > 1, result::toString);
            assertEquals(0, result.failedReads(), result::toString);
            assertEquals(0, result.pagesLost(), result::toString);
        }
    }

    /** Teeth: where a collect may overlap a read, the route without its report after completion loses pages. */
    @ParameterizedTest(name = "{0}")
    @BackendsWith(without = Backend.Trait.SIGNAL_HANDLER)
    void withoutTheReportAfterCompletionPagesAreLost(Backend backend, @TempDir Path dir) throws Exception {
        Path file = directFile(dir);
        try (TrackedArena arena = open(backend, null)) {
            assumeTrue(arena.inFlightWrites() == TrackedArena.InFlightWrites.REPORT_AGAIN,
                    () -> "skipped: " + arena.describe() + ": its collects wait for kernel writes");
            arena.kernelWritesForTest().skipReportsForTest = true;
            DirectReadRace.Result result = DirectReadRace.run(arena, file, DirectReadRace.Route.API, SECONDS, 250);
            System.out.println("teeth: " + result);
            assertTrue(result.pagesLost() > 0, () -> "the test has no teeth: " + result);
        }
    }

    /** Teeth: where the kernel cannot fault for itself, a collect that does not wait for the reads makes them fail or lose pages. */
    @ParameterizedTest(name = "{0}")
    @BackendsWith(Backend.Trait.SIGNAL_HANDLER)
    void withoutTheWaitingCollectReadsFailOrLose(Backend backend, @TempDir Path dir) throws Exception {
        Path file = directFile(dir);
        try (TrackedArena arena = open(backend, null)) {
            arena.collectIgnoresKernelWritesForTest = true;
            DirectReadRace.Result result = DirectReadRace.run(arena, file, DirectReadRace.Route.API, SECONDS, 250);
            System.out.println("teeth: " + result);
            assertTrue(result.pagesLost() > 0 || result.failedReads() > 0, () -> "the test has no teeth: " + result);
        }
    }

    /**
     * The partial EFAULT: outside the API, an O_DIRECT read into a range whose first pages are writable
     * and whose later pages are protected fails with EFAULT, yet the device has already written pages
     * before the failure. Through the API the same read succeeds and reports every page.
     */
    @ParameterizedTest(name = "{0}")
    @BackendsWith(Backend.Trait.SIGNAL_HANDLER)
    void aRawDirectReadFailsPartWayAfterWritingAndTheApiReadSucceeds(Backend backend, @TempDir Path dir) throws Exception {
        Path file = directFile(dir);
        int pages = 64, writable = 32;
        byte[] data = new byte[pages * PAGE];
        try (FileChannel plain = FileChannel.open(file)) {
            plain.read(ByteBuffer.wrap(data), 0);
        }
        MemorySegment expected = MemorySegment.ofArray(data);
        try (TrackedArena arena = open(backend, null, true);
             FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, ExtendedOpenOption.DIRECT)) {
            arena.arm();
            for (int p = 0; p < writable; p++) arena.putLong((long) p * PAGE, 0L); // pages 0-31 writable; 32-63 protected
            IOException e = assertThrows(IOException.class, () -> ch.read(arena.segment().asSlice(0, pages * PAGE).asByteBuffer(), 0),
                    "a raw O_DIRECT read into protected pages");
            assertTrue(e.getMessage().contains("Bad address"), "EFAULT: " + e);
            assertEquals(-1, arena.segment().asSlice(0, PAGE).mismatch(expected.asSlice(0, PAGE)),
                    "the failed read has written its first page all the same");
            arena.collect();

            ch.position(0);
            assertEquals(pages * PAGE, arena.read(ch, 0, pages * PAGE), "through the API it succeeds");
            BitSet all = new BitSet();
            all.set(0, pages);
            assertEquals(all, arena.collect().bitSet());
            assertEquals(-1, arena.segment().asSlice(0, pages * PAGE).mismatch(expected));
        }
    }

    /** A channel that writes the first half of the buffer it is given, then fails. */
    private static final class FailingHalfWay implements ReadableByteChannel {
        @Override
        public int read(ByteBuffer dst) throws IOException {
            int half = dst.remaining() / 2;
            for (int i = 0; i < half; i++) dst.put((byte) 0x5a);
            throw new IOException("failed half way (test)");
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {}
    }

    /** A failed read through the API still reports its whole range: the library cannot know how much the kernel wrote. */
    @KernelMatrix
    @ParameterizedTest(name = "{0}")
    @BackendsWith
    void aFailedReadStillReportsItsRange(Backend backend) {
        try (TrackedArena arena = open(backend, null, true)) {
            arena.arm();
            IOException e = assertThrows(IOException.class, () -> arena.read(new FailingHalfWay(), 10L * PAGE + 100, 4 * PAGE));
            assertEquals("failed half way (test)", e.getMessage());
            assertEquals((byte) 0x5a, arena.getByte(10L * PAGE + 100));
            BitSet range = new BitSet();
            range.set(10, 15);
            assertEquals(range, arena.collect().bitSet());
            assertEquals(0, arena.kernelWritesInFlight());
        }
    }

    @KernelMatrix
    @ParameterizedTest(name = "{0}")
    @BackendsWith
    void writtenReportsTheRangeAndRejectsBadOnes(Backend backend) {
        try (TrackedArena arena = open(backend, null)) {
            arena.arm();
            arena.written(5L * PAGE + 1, 2 * PAGE);   // pages 5, 6, 7
            arena.written(100L * PAGE, 0);            // nothing
            arena.written(ARENA - 1, 1);              // the last page
            BitSet expected = new BitSet();
            expected.set(5, 8);
            expected.set((int) (ARENA / PAGE) - 1);
            assertEquals(expected, arena.collect().bitSet());
            assertTrue(arena.collect().isEmpty(), "reported once");
            IndexOutOfBoundsException bad = assertThrows(IndexOutOfBoundsException.class, () -> arena.written(ARENA - 10, 11));
            assertEquals("written(offset " + (ARENA - 10) + ", length 11): the range must lie inside the arena's " + ARENA
                    + " bytes (offset >= 0, length >= 0, offset + length <= " + ARENA + ")", bad.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> arena.written(-1, 1));
            assertThrows(IndexOutOfBoundsException.class, () -> arena.written(0, -1));
            assertThrows(IndexOutOfBoundsException.class, () -> arena.kernelWrite(Long.MAX_VALUE, 2));
            assertTrue(arena.describe().contains("writes through pinned pages (O_DIRECT, io_uring, RDMA) outside"
                    + " read/kernelWrite/written: unsupported"), arena.describe());
        }
        TrackedArena closed = open(backend, null);
        closed.close();
        assertThrows(IllegalStateException.class, () -> closed.written(0, 1));
        assertThrows(IllegalStateException.class, () -> closed.kernelWrite(0, 1));
    }

    /** The scope: closed from another thread, twice; reported once closed, not before (where nothing else reports it). */
    @Test
    void aScopeReportsWhenClosedFromAnyThread() throws Exception {
        try (TrackedArena arena = open(Backend.CARD_TABLE, null)) {
            arena.arm();
            KernelWrite write = arena.kernelWrite(3L * PAGE, PAGE);
            assertEquals(1, arena.kernelWritesInFlight());
            arena.segment().set(java.lang.foreign.ValueLayout.JAVA_BYTE, 3L * PAGE, (byte) 1); // card-table sees no raw store
            assertTrue(arena.collect().isEmpty(), "in flight: not reported yet");
            CompletableFuture.runAsync(write::close).get(10, TimeUnit.SECONDS);
            write.close();
            assertEquals(0, arena.kernelWritesInFlight());
            assertEquals(java.util.List.of(3L), arena.collect().pages().boxed().toList());
        }
    }

    /** copy-before-write starts at an instant with no kernel write in flight: it waits for an open scope. */
    @ParameterizedTest(name = "{0}")
    @BackendsWith(Backend.Trait.COPY_BEFORE_WRITE)
    void copyBeforeWriteWaitsForKernelWritesInFlight(Backend backend) throws Exception {
        try (TrackedArena arena = open(backend, null)) {
            arena.arm();
            KernelWrite write = arena.kernelWrite(0, 8 * PAGE);
            CompletableFuture<CopyBeforeWrite> start = CompletableFuture.supplyAsync(arena::copyBeforeWrite);
            assertThrows(TimeoutException.class, () -> start.get(300, TimeUnit.MILLISECONDS), "it waits for the scope");
            write.close();
            try (CopyBeforeWrite copy = start.get(10, TimeUnit.SECONDS)) {
                assertFalse(copy.image().byteSize() == 0);
            }
        }
    }

    /** With COLLECT_WAITS a collect waits for the kernel writes in flight; the default elsewhere does not. */
    @ParameterizedTest(name = "{0}")
    @BackendsWith(without = Backend.Trait.NEEDS_WRITER_PAUSE)
    void collectWaitsOnlyWhenAskedOrNeeded(Backend backend) throws Exception {
        try (TrackedArena arena = open(backend, null)) {
            boolean waits = arena.inFlightWrites() == TrackedArena.InFlightWrites.COLLECT_WAITS;
            assertEquals(backend.has(Backend.Trait.SIGNAL_HANDLER) || !arena.handlesKernelCopies() && backend != Backend.CARD_TABLE, waits,
                    arena.describe());
            arena.arm();
            KernelWrite write = arena.kernelWrite(0, PAGE);
            CompletableFuture<DirtyPages> collect = CompletableFuture.supplyAsync(arena::collect);
            if (waits) {
                assertThrows(TimeoutException.class, () -> collect.get(300, TimeUnit.MILLISECONDS), "it waits for the scope");
                write.close();
                assertTrue(collect.get(10, TimeUnit.SECONDS).contains(0), "the prefault recorded page 0");
            } else {
                collect.get(10, TimeUnit.SECONDS);
                write.close();
                assertTrue(arena.collect().contains(0), "reported once the scope closed");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @BackendsWith(Backend.Trait.SIGNAL_HANDLER)
    void reportAgainIsRefusedWhereTheKernelCannotFault(Backend backend) {
        Capabilities.Support support = Capabilities.probe().backends().get(backend);
        assumeTrue(support.usable(), () -> backend + " is not usable here: " + support.reason());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrackedArena.builder().size(ARENA)
                .backend(backend).inFlightWrites(TrackedArena.InFlightWrites.REPORT_AGAIN).open());
        assertTrue(e.getMessage().startsWith("inFlightWrites(REPORT_AGAIN) needs a backend whose kernel faults the kernel resolves itself; on "
                + backend), e.getMessage());
        assertTrue(e.getMessage().endsWith("only COLLECT_WAITS is accepted"), e.getMessage());
    }
}
