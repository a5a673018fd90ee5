package io.pagemark.backend;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** Bindings to the test-only native library (src/test/c/test_fault_paths.c, built into test-classes). */
final class TestNatives {
    private static final SymbolLookup LIB = load();
    private static final MethodHandle PAGES_PER_PRODUCER = bind("pmt_pages_per_producer", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_INT));
    private static final MethodHandle PRODUCERS_START = bind("pmt_producers_start",
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle PRODUCERS_JOIN = bind("pmt_producers_join", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
    private static final MethodHandle RECORD = bind("pmt_record",
            FunctionDescriptor.of(JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, JAVA_INT));
    private static final MethodHandle SLOW_HANDLER_START = bind("pmt_slow_handler_start",
            FunctionDescriptor.of(ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle SLOW_HANDLER_STOP = bind("pmt_slow_handler_stop", FunctionDescriptor.ofVoid(ADDRESS));

    private TestNatives() {}

    /** From test-classes or from the tracker's test jar (the oracle's tests in tracker/cli): copied to a file first. */
    private static SymbolLookup load() {
        try (InputStream in = TestNatives.class.getResourceAsStream("/libpagemark-test.so")) {
            if (in == null) throw new AssertionError("libpagemark-test.so is not on the class path (built by the tracker's test-compile)");
            Path lib = Files.createTempFile("pagemark-test-", ".so");
            try {
                Files.copy(in, lib, StandardCopyOption.REPLACE_EXISTING);
                return SymbolLookup.libraryLookup(lib, Arena.global());
            } finally {
                Files.delete(lib); // the mapping stays
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static MethodHandle bind(String name, FunctionDescriptor fd) {
        return Linker.nativeLinker().downcallHandle(LIB.find(name).orElseThrow(), fd);
    }

    /** What pmt_producers_join reports. */
    record ProducerCounters(long fullRingWaits, long spilledEntries) {}

    static long pagesPerProducer(int records, int maxEntries) {
        try {
            return (long) PAGES_PER_PRODUCER.invokeExact(records, maxEntries);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * Starts {@code threads} C producers on the ring; producer t writes {@code records} records, record r
     * carrying 1 + r % maxEntries entries that name consecutive pages from t * pagesPerProducer.
     */
    static MemorySegment startProducers(FaultRing ring, int threads, int records, int maxEntries) {
        try {
            return (MemorySegment) PRODUCERS_START.invokeExact(ring.buffer(), ring.capacity(), ring.spillBitmap(), threads, records, maxEntries);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static ProducerCounters joinProducers(MemorySegment producers) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment counters = a.allocate(JAVA_LONG, 2);
            PRODUCERS_JOIN.invokeExact(producers, counters);
            return new ProducerCounters(counters.getAtIndex(JAVA_LONG, 0), counters.getAtIndex(JAVA_LONG, 1));
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** One record appended on this thread by the production producer; returns the entries spilled. */
    static long record(FaultRing ring, long pages, long... entries) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment e = a.allocateFrom(JAVA_LONG, entries);
            return (long) RECORD.invokeExact(ring.buffer(), ring.capacity(), ring.spillBitmap(), pages, e, entries.length);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * Starts a uffd handler thread that pauses {@code pauseNanos} between its two steps: unprotect
     * then record (docs/design.md's order), or, with {@code recordFirst}, record then unprotect.
     */
    static MemorySegment startSlowHandler(int uffd, MappedRegion region, FaultRing ring, long pauseNanos, boolean recordFirst) {
        try {
            return (MemorySegment) SLOW_HANDLER_START.invokeExact(uffd, region.address(), region.pageCount(), region.pageSize(),
                    ring.buffer(), ring.capacity(), ring.spillBitmap(), pauseNanos, recordFirst ? 1 : 0);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static void stopSlowHandler(MemorySegment handler) {
        try {
            SLOW_HANDLER_STOP.invokeExact(handler);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }
}
