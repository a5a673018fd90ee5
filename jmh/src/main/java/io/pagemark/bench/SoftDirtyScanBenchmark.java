package io.pagemark.bench;

import io.pagemark.TrackedArena;
import io.pagemark.backend.PageSet;
import io.pagemark.linux.Libc;
import io.pagemark.linux.Pagemap;
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

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;

/**
 * The two halves of a soft-dirty collect, measured on any kernel: they walk the page tables whether
 * or not the soft-dirty bit works (where it is compiled out the bit just stays clear). Same sizes and
 * dirty fractions as {@link CollectBenchmark}, over untracked memory (every page present).
 * <ul>
 *   <li>{@link #pagemapRead}: pread of the range's /proc/self/pagemap entries and the test of bit 55
 *   of each into a {@link PageSet};</li>
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

    private TrackedArena memory;
    private long[] dirtyOffsets;
    private int pagemapFd = -1;
    private Arena entriesScope;
    private MemorySegment entries;
    private PageSet softDirty;

    @Setup(Level.Trial)
    public void open() {
        memory = Arenas.openUntracked(Sizes.parse(size));
        int pages = PageOrder.pageCount(memory.size(), memory.pageSize());
        dirtyOffsets = PageOrder.offsets(PageOrder.sample(pages, dirtyPercent), memory.pageSize());
        pagemapFd = Libc.open("/proc/self/pagemap", Libc.O_RDONLY | Libc.O_CLOEXEC, Libc.NO_HINT);
        entriesScope = Arena.ofConfined();
        entries = entriesScope.allocate((long) pages * Pagemap.ENTRY_BYTES, Long.BYTES);
        softDirty = new PageSet(memory.segment().address(), memory.pageSize(), pages);
    }

    @Setup(Level.Invocation)
    public void dirty() {
        for (long offset : dirtyOffsets) memory.segment().set(ValueLayout.JAVA_LONG, offset, offset);
    }

    @TearDown(Level.Trial)
    public void close() {
        if (pagemapFd >= 0) Libc.close(pagemapFd);
        if (entriesScope != null) entriesScope.close();
        memory.close();
    }

    @Benchmark
    public PageSet pagemapRead() {
        long pages = softDirty.pageCount();
        Pagemap.read(pagemapFd, memory.segment().address(), pages, entries);
        softDirty.clear();
        for (long page = 0; page < pages; page++) {
            if ((entries.getAtIndex(ValueLayout.JAVA_LONG, page) & Pagemap.SOFT_DIRTY_BIT) != 0) softDirty.add(page);
        }
        return softDirty;
    }

    @Benchmark
    public void clearRefs() {
        Pagemap.clearSoftDirty();
    }
}
