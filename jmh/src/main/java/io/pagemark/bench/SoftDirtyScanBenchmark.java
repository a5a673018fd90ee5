package io.pagemark.bench;

import io.pagemark.TrackedArena;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;
import java.util.concurrent.TimeUnit;

/**
 * The two halves of a soft-dirty collect, measured on any kernel: they walk the page tables whether
 * or not the soft-dirty bit works (where it is compiled out the bit just stays clear). Same sizes and
 * dirty fractions as {@link CollectBenchmark}, over untracked memory (every page present). Only the JDK
 * here (a FileChannel's positional read is one pread(2)), not pagemark's internal bindings.
 * <ul>
 *   <li>{@link #pagemapRead}: pread of the range's /proc/self/pagemap entries and the test of bit 55
 *   of each into a set of pages;</li>
 *   <li>{@link #clearRefs}: the write of "4" to /proc/self/clear_refs, which walks (and, where
 *   soft-dirty works, write-protects) every page of the whole process, not only the arena.</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.NATIVE_ACCESS, JvmFlags.ADD_EXPORTS, JvmFlags.EXPORT_INTERNAL_MISC, JvmFlags.ALLOW_UNSAFE, JvmFlags.HEAP_MIN, JvmFlags.HEAP_MAX})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class SoftDirtyScanBenchmark {
    @Param({"64MiB", "256MiB", "1GiB", "4GiB"})
    public String size;

    @Param({"0.1", "1", "10", "100"})
    public double dirtyPercent;

    /** The soft-dirty bit of a pagemap entry (Documentation/admin-guide/mm/soft-dirty.rst). */
    private static final long SOFT_DIRTY_BIT = 1L << 55;
    private static final Path PAGEMAP = Path.of("/proc/self/pagemap");
    private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");

    private TrackedArena memory;
    private long[] dirtyOffsets;
    private int pages;
    private FileChannel pagemap;
    private ByteBuffer entries;
    private BitSet softDirty;

    @Setup(Level.Trial)
    public void open() {
        memory = Arenas.openUntracked(Sizes.parse(size));
        pages = PageOrder.pageCount(memory.size(), memory.pageSize());
        dirtyOffsets = PageOrder.offsets(PageOrder.sample(pages, dirtyPercent), memory.pageSize());
        try {
            pagemap = FileChannel.open(PAGEMAP, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        entries = ByteBuffer.allocateDirect(pages * Long.BYTES).order(ByteOrder.nativeOrder());
        softDirty = new BitSet(pages);
    }

    @Setup(Level.Invocation)
    public void dirty() {
        for (long offset : dirtyOffsets) memory.segment().set(ValueLayout.JAVA_LONG, offset, offset);
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        if (pagemap != null) pagemap.close();
        memory.close();
    }

    @Benchmark
    public BitSet pagemapRead() throws IOException {
        long position = memory.segment().address() / memory.pageSize() * Long.BYTES;
        entries.clear();
        while (entries.hasRemaining()) {
            if (pagemap.read(entries, position + entries.position()) < 0) throw new IOException("short read of " + PAGEMAP);
        }
        softDirty.clear();
        for (int page = 0; page < pages; page++) {
            if ((entries.getLong(page * Long.BYTES) & SOFT_DIRTY_BIT) != 0) softDirty.set(page);
        }
        return softDirty;
    }

    @Benchmark
    public void clearRefs() throws IOException {
        Files.writeString(CLEAR_REFS, "4", StandardOpenOption.WRITE);
    }
}
