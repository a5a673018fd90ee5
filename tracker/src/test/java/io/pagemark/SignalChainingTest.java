package io.pagemark;

import io.pagemark.testing.BackendsWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The chained SIGSEGV/SIGBUS handlers take only write faults inside tracked ranges and pass every
 * other signal to the JVM's handler, which relies on them: implicit null checks in compiled code,
 * stack banging (StackOverflowError), and unsafe accesses to a truncated mapped file (SIGBUS into
 * InternalError). Each runs while an arena is armed and other threads fault on it.
 */
class SignalChainingTest {
    private static final int PAGE = 4096;

    /** A field access the JIT compiles with an implicit null check: a load that faults when {@code h} is null. */
    static final class Holder {
        int value;

        Holder(int value) {
            this.value = value;
        }
    }

    static int read(Holder h) {
        return h.value;
    }

    /** Runs {@code body} while writer threads keep faulting on an armed arena of {@code backend} (re-armed by collects). */
    private static void whileFaulting(Backend backend, ThrowingRunnable body) throws Exception {
        NativeBackendsTest.assumeUsable(backend);
        try (TrackedArena arena = TrackedArena.builder().size(1024L * PAGE).backend(backend).open()) {
            arena.arm();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong writes = new AtomicLong();
            Thread[] writers = new Thread[2];
            for (int w = 0; w < writers.length; w++) {
                int id = w;
                writers[w] = Thread.ofPlatform().start(() -> {
                    long i = id;
                    while (!stop.get()) {
                        arena.putLong((i * 7919 % 1024) * PAGE, i);
                        i += 2;
                        writes.incrementAndGet();
                    }
                });
            }
            Thread collector = Thread.ofPlatform().start(() -> {
                while (!stop.get()) arena.collect();
            });
            try {
                body.run();
            } finally {
                stop.set(true);
                for (Thread t : writers) t.join();
                collector.join();
            }
            assertTrue(writes.get() > 0 && arena.stats().faults() > 0, "the writers faulted meanwhile");
        }
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    @ParameterizedTest
    @BackendsWith(Backend.Trait.NATIVE_FAULT_PATH)
    void implicitNullChecksInHotCompiledCodeStillThrow(Backend backend) throws Exception {
        whileFaulting(backend, () -> {
            Holder present = new Holder(1);
            long npes = 0;
            // Rounds of a hot loop (compiled with an implicit null check), then a burst of nulls. After a
            // few traps HotSpot recompiles with an explicit check; every round starts over on a new site shape.
            for (int round = 0; round < 20; round++) {
                long sum = 0;
                for (int i = 0; i < 200_000; i++) sum += read(present);
                assertEquals(200_000, sum);
                for (int i = 0; i < 100; i++) {
                    try {
                        read(null);
                    } catch (NullPointerException expected) {
                        npes++;
                    }
                }
            }
            assertEquals(20 * 100, npes, "every null dereference arrived as a NullPointerException");
        });
    }

    private static int depth;

    private static void recurse() {
        depth++;
        recurse();
    }

    @ParameterizedTest
    @BackendsWith(Backend.Trait.SIGNAL_HANDLER)
    void stackOverflowStillThrows(Backend backend) throws Exception {
        whileFaulting(backend, () -> {
            for (int i = 0; i < 3; i++) {
                depth = 0;
                assertThrows(StackOverflowError.class, SignalChainingTest::recurse);
                assertTrue(depth > 1000, "recursed " + depth + " frames");
            }
        });
    }

    /** The JVM turns SIGBUS in an access to a truncated mapped file into InternalError: our SIGBUS handler passes it on. */
    @Test
    void sigbusFromATruncatedMappedFileStillReachesTheJvm(@TempDir Path dir) throws Exception {
        whileFaulting(Backend.UFFD_SIGBUS, () -> {
            Path file = dir.resolve("mapped");
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"); FileChannel ch = raf.getChannel()) {
                raf.setLength(4 * PAGE);
                MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_WRITE, 0, 4 * PAGE);
                map.put(3 * PAGE, (byte) 1);
                raf.setLength(PAGE);
                InternalError e = assertThrows(InternalError.class, () -> map.get(3 * PAGE));
                assertTrue(String.valueOf(e.getMessage()).contains("unsafe memory access"), String.valueOf(e.getMessage()));
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        });
    }
}
