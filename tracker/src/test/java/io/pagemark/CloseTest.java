package io.pagemark;

import io.pagemark.testing.BackendsWith;
import io.pagemark.testing.ChildJvm;
import io.pagemark.backend.TestTrackers;
import io.pagemark.nativelib.FaultPaths;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * close() while writers are blocked in faults or hammering the arena: every thread returns, the
 * handler threads exit, the signal handlers stop handling the range, and a new arena works after.
 */
class CloseTest {
    private static final int PAGE = 4096;

    /** Threads of this process whose name (comm) is {@code name}. */
    private static long threadsNamed(String name) throws IOException {
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            return tasks.filter(t -> name.equals(read(t.resolve("comm")))).count();
        }
    }

    /** Threads of this process blocked in the kernel's userfaultfd fault path. */
    private static long threadsInUserfault() throws IOException {
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            return tasks.filter(t -> read(t.resolve("wchan")).equals("handle_userfault")).count();
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file).trim();
        } catch (IOException e) {
            return "";
        }
    }

    private static void join(List<Thread> threads) throws InterruptedException {
        for (Thread t : threads) {
            t.join(10_000);
            assertFalse(t.isAlive(), t.getName() + " did not return after close():\n" + stack(t));
        }
    }

    private static String stack(Thread t) {
        StringBuilder sb = new StringBuilder();
        for (StackTraceElement e : t.getStackTrace()) sb.append("  at ").append(e).append('\n');
        return sb.toString();
    }

    /** A new arena on {@code backend} catches writes: what was closed left nothing behind that gets in the way. */
    private static void newArenaWorks(Backend backend) {
        try (TrackedArena arena = TrackedArena.builder().size(16 * PAGE).backend(backend).open()) {
            arena.arm();
            arena.putLong(3 * PAGE, 1L);
            assertEquals(List.of(3L), arena.collect().pages().boxed().toList());
        }
    }

    /**
     * Writers blocked in faults that nothing resolves (no handler thread) until close(). They are
     * kernel-mode writers (read(2) into the arena): a thread blocked in a fault of its own store would
     * count as running Java code and hold up the next safepoint, so with no resolver the JVM would
     * stop dead at the first GC, this test's close() included (seen: that is why uffd-sync's close()
     * unregisters, waking every blocked writer, before it stops its handler threads).
     */
    @Test
    void closeReleasesWritersBlockedInFaults(@TempDir Path dir) throws Exception {
        NativeBackendsTest.assumeUsable(Backend.UFFD_SYNC);
        assumeTrue(Capabilities.probe().userfaultfdLimitation() == null, "userfaultfd is user-mode-only here: kernel-mode writes fail instead of blocking");
        Path file = dir.resolve("data");
        Files.write(file, new byte[PAGE]);
        long baseline = threadsInUserfault();
        TrackedArena arena = TrackedArena.map(Backend.UFFD_SYNC, "test: no handler thread", 64 * PAGE, false,
                TestTrackers::uffdSyncWithoutHandlers, null);
        arena.arm();
        List<Thread> writers = new ArrayList<>();
        AtomicReference<Throwable> unexpected = new AtomicReference<>();
        AtomicInteger completed = new AtomicInteger();
        for (int w = 0; w < 4; w++) {
            long offset = (long) w * 5 * PAGE;
            writers.add(Thread.ofPlatform().name("blocked-writer-" + w).start(() -> {
                try (FileChannel channel = FileChannel.open(file)) {
                    if (arena.read(channel, offset, PAGE) == PAGE) completed.incrementAndGet(); // blocks: nobody resolves the fault
                } catch (Throwable t) {
                    unexpected.set(t);
                }
            }));
        }
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (threadsInUserfault() < baseline + 4 && System.nanoTime() < deadline) Thread.sleep(10);
        assertEquals(baseline + 4, threadsInUserfault(), "all four writers are blocked in handle_userfault");
        arena.close();
        join(writers);
        assertNull(unexpected.get(), () -> "a writer failed: " + unexpected.get());
        assertEquals(4, completed.get(), "unregistering let every blocked write complete");
        assertEquals(baseline, threadsInUserfault(), "no thread is left blocked in the kernel");
        newArenaWorks(Backend.UFFD_SYNC);
    }

    @ParameterizedTest
    @BackendsWith(Backend.Trait.NATIVE_FAULT_PATH)
    void closeWhileWritersHammer(Backend backend) throws Exception {
        NativeBackendsTest.assumeUsable(backend);
        long handlersBefore = threadsNamed("pagemark-uffd");
        int rangesBefore = FaultPaths.signalRanges();
        TrackedArena.Builder builder = TrackedArena.builder().size(1024 * PAGE).backend(backend);
        if (backend.accepts(Backend.Option.HANDLER_THREADS)) builder.handlerThreads(2);
        TrackedArena arena = builder.open();
        arena.arm();
        if (backend.accepts(Backend.Option.HANDLER_THREADS)) assertEquals(handlersBefore + 2, threadsNamed("pagemark-uffd"));
        else assertEquals(rangesBefore + 1, FaultPaths.signalRanges());
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> unexpected = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < 3; w++) {
            int id = w;
            threads.add(Thread.ofPlatform().name("hammer-" + w).start(() -> {
                SplittableRandom random = new SplittableRandom(id);
                try {
                    while (true) arena.putLong(random.nextLong(1024) * PAGE, id);
                } catch (IllegalStateException closed) {
                    // the arena is closed: what a writer racing close() gets
                } catch (Throwable t) {
                    unexpected.set(t);
                }
            }));
        }
        threads.add(Thread.ofPlatform().name("collector").start(() -> {
            try {
                while (!stop.get()) arena.collect();   // keeps re-protecting, so the writers keep faulting
            } catch (IllegalStateException closed) {
                // closed under it
            } catch (Throwable t) {
                unexpected.set(t);
            }
        }));
        Thread.sleep(300);
        long faults = arena.stats().faults();
        arena.close();
        stop.set(true);
        join(threads);
        assertNull(unexpected.get(), () -> "a thread failed: " + unexpected.get());
        assertTrue(faults > 100, "the writers were faulting when close() came: " + faults);
        assertEquals(handlersBefore, threadsNamed("pagemark-uffd"), "the handler threads exited");
        assertEquals(rangesBefore, FaultPaths.signalRanges(), "the signal handlers no longer handle the range");
        newArenaWorks(backend);
    }

    /**
     * close() while writers fault and safepoints are requested all along ({@link CloseUnderSafepoints}),
     * in a child JVM watched from here: a closer that blocked in a safepoint while a writer retried its
     * store stopped the whole JVM, which no thread inside it could report.
     */
    @ParameterizedTest
    @BackendsWith(Backend.Trait.SIGNAL_HANDLER)
    void closeWhileWritersFaultAndSafepointsArePending(Backend backend) throws Exception {
        NativeBackendsTest.assumeUsable(backend);
        List<String> cmd = ChildJvm.command(List.of(), List.of(), ChildJvm.classPath(), CloseUnderSafepoints.class, backend.id(), "200");
        ChildJvm.Outcome outcome = ChildJvm.runWatched(cmd, line -> line.startsWith("round "), 30, 300);
        assertEquals(0, outcome.exitCode(), outcome::output);
        assertEquals("round 199", outcome.lines().getLast(), outcome::output);
    }

    /** 64 mprotect and uffd-sigbus arenas may be open at once; the next one is refused with a message that says so. */
    @Test
    void atMost64SignalHandledArenasAtOnce() {
        NativeBackendsTest.assumeUsable(Backend.MPROTECT);
        int before = FaultPaths.signalRanges();
        List<TrackedArena> open = new ArrayList<>();
        try {
            for (int i = before; i < FaultPaths.MAX_SIGNAL_RANGES; i++) {
                open.add(TrackedArena.builder().size(PAGE).backend("mprotect").open());
            }
            PagemarkException e = assertThrows(PagemarkException.class, () -> TrackedArena.builder().size(PAGE).backend("mprotect").open());
            assertTrue(e.getMessage().contains("at most 64 mprotect and uffd-sigbus arenas can be open at once"), e.getMessage());
        } finally {
            open.forEach(TrackedArena::close);
        }
        assertEquals(before, FaultPaths.signalRanges());
        newArenaWorks(Backend.MPROTECT);
    }

    /** The signal handlers hold at most 64 ranges at once: closing must give each one back. */
    @ParameterizedTest
    @BackendsWith(Backend.Trait.SIGNAL_HANDLER)
    void manyArenasOneAfterAnother(Backend backend) {
        NativeBackendsTest.assumeUsable(backend);
        for (int i = 0; i < 2 * FaultPaths.MAX_SIGNAL_RANGES; i++) newArenaWorks(backend);
    }

    /**
     * A read(2) into the arena blocked on an empty pipe holds its memory: close() gives up after
     * CLOSE_WAIT_MILLIS with one message, tracking stopped and the memory still mapped; once the
     * read returned, close() again unmaps it.
     */
    @Test
    void aReadBlockedInTheArenasMemoryMakesCloseFailAfterItsBoundAndASecondCloseUnmaps() throws Exception {
        java.nio.channels.Pipe pipe = java.nio.channels.Pipe.open();
        // auto: a hardware backend, so the read that completes after close has no card to mark in a closed table.
        TrackedArena arena = TrackedArena.builder().size(16 * PAGE).open();
        arena.arm();
        AtomicInteger read = new AtomicInteger(-2);
        CountDownLatch reading = new CountDownLatch(1);
        Thread reader = Thread.ofPlatform().name("pipe-reader").start(() -> {
            try {
                reading.countDown();
                read.set(arena.read(pipe.source(), 2 * PAGE, 64));
            } catch (IOException e) {
                read.set(-3);
            }
        });
        reading.await();
        long waitUntil = System.nanoTime() + 10_000_000_000L;
        while (!blockedInPipeRead(reader) && System.nanoTime() < waitUntil) Thread.sleep(5);
        assertTrue(blockedInPipeRead(reader), "the reader sleeps in the pipe's read");
        long start = System.nanoTime();
        PagemarkException e = assertThrows(PagemarkException.class, arena::close);
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(millis >= TrackedArena.CLOSE_WAIT_MILLIS && millis < TrackedArena.CLOSE_WAIT_MILLIS + 2000, millis + " ms");
        assertTrue(e.getMessage().startsWith("close(): after " + TrackedArena.CLOSE_WAIT_MILLIS + " ms a thread is still inside an I/O"
                + " operation or a native call that holds the arena's memory"), e.getMessage());
        assertTrue(arena.segment().scope().isAlive(), "still mapped");
        assertFalse(arena.isArmed());
        assertThrows(IllegalStateException.class, arena::collect, "closed for everything else");

        pipe.sink().write(java.nio.ByteBuffer.wrap(new byte[] {1, 2, 3}));
        reader.join(10_000);
        assertEquals(3, read.get());
        arena.close();
        assertFalse(arena.segment().scope().isAlive(), "the second close unmapped it");
        arena.close();   // idempotent from then on
        pipe.source().close();
        pipe.sink().close();
    }

    /** Whether {@code t} sleeps in the kernel (a pipe read waits in pipe_read or its wait queue). */
    private static boolean blockedInPipeRead(Thread t) {
        for (Path task : tasksOf()) {
            if (read(task.resolve("comm")).equals(t.getName()) && read(task.resolve("stat")).contains(") S ")) return true;
        }
        return false;
    }

    private static List<Path> tasksOf() {
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            return tasks.toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
