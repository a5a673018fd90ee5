package io.pagemark.backend;

import io.pagemark.PagemarkException;
import io.pagemark.linux.Kernel;
import io.pagemark.linux.Libc;
import io.pagemark.linux.Pagemap;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * soft-dirty: the kernel's soft-dirty PTE bit (CONFIG_MEM_SOFT_DIRTY). Writing "4" to
 * /proc/self/clear_refs clears the bit on every page of the process and write-protects the PTEs; the
 * next write to a page faults, and the kernel sets the bit and makes the page writable again, all
 * without user space. A write that creates a page (the first write to a never-touched page) also sets
 * it, so nothing needs to be populated before arming. Collect reads the arena's pagemap entries
 * (bit 55) with one pread per chunk of {@value #CHUNK_PAGES} pages, then clears.
 *
 * <p><b>Only correct while the arena's writers are stopped.</b> Reading the bits and clearing them are
 * two steps: a write to a page already read as clean, landing before the clear, is cleared unreported.
 * The arena therefore runs this collect inside its {@code WriterPause} (and refuses to open this
 * backend without one). PAGEMAP_SCAN with PAGE_IS_SOFT_DIRTY (6.7+) would not close that window either:
 * it has no "clear what you report" flag for soft-dirty, so this backend keeps the one path that works
 * on every kernel that has soft-dirty.
 *
 * <p><b>Process-wide.</b> The clear covers the whole process: the JVM's heap, stacks and code cache
 * take one extra minor fault per page they write after each collect, and a second soft-dirty tracker
 * in the same process would have its bits cleared by the first one's collect. So at most one is open
 * per process. The kernel-support self-test that clears the bits too is run once per process, before
 * the first tracker opens ({@link Kernel#softDirtyMissing()}).
 *
 * <p>A page may be reported without having been written when the kernel marks a whole mapping
 * soft-dirty (a new mapping merged into the arena's, for instance): a duplicate, never a loss.
 */
public final class SoftDirtyTracker implements PageTracker {
    /** Pagemap entries per pread: 65536 entries, 512 KiB, cover 256 MiB of arena per call. */
    public static final int CHUNK_PAGES = 1 << 16;
    /** clear_refs clears every soft-dirty bit of the process: one tracker per process, see the class comment. */
    private static final AtomicBoolean OPEN = new AtomicBoolean();

    private final MappedRegion region;
    private final int pagemapFd;
    private final Arena bufferArena = Arena.ofShared();
    private final MemorySegment entries;
    private boolean closed;

    /**
     * Starts watching {@code region} (call {@link #arm()} to start tracking).
     *
     * @throws PagemarkException if soft-dirty does not work here, or another soft-dirty tracker is open in this process
     */
    /** A soft-dirty tracker of the region (no option applies). */
    public static SoftDirtyTracker open(MappedRegion region, TrackerOptions options) {
        return new SoftDirtyTracker(region);
    }

    private SoftDirtyTracker(MappedRegion region) {
        String missing = unusableReason();   // runs the (clearing) self-test before this tracker owns the bits
        if (missing != null) throw new PagemarkException("backend soft-dirty is not usable here: " + missing);
        if (!OPEN.compareAndSet(false, true)) {
            throw new PagemarkException("another soft-dirty arena is open in this process: the soft-dirty bits are"
                    + " per process, and each one's collect would clear the other's (a lost write). Close it first,"
                    + " or use another backend for this arena");
        }
        this.region = region;
        try {
            this.pagemapFd = Libc.open("/proc/self/pagemap", Libc.O_RDONLY | Libc.O_CLOEXEC, Libc.NO_HINT);
        } catch (RuntimeException e) {
            OPEN.set(false);
            bufferArena.close();
            throw e;
        }
        this.entries = bufferArena.allocate(Math.min(region.pageCount(), CHUNK_PAGES) * Pagemap.ENTRY_BYTES, Long.BYTES);
    }

    /** Why soft-dirty cannot run here (its self-test failed), or null if it can. */
    public static String unusableReason() {
        return Kernel.softDirtyMissing();
    }

    /** Clears the soft-dirty bits (of the whole process). */
    @Override
    public void arm() {
        Pagemap.clearSoftDirty();
    }

    /**
     * Reports every page whose bit 55 is set, then clears the bits. The caller must have the region's
     * writers stopped from before the first read until the clear has returned.
     */
    @Override
    public void collect(PageSet out) {
        long pages = region.pageCount();
        for (long first = 0; first < pages; first += CHUNK_PAGES) {
            long count = Math.min(CHUNK_PAGES, pages - first);
            Pagemap.read(pagemapFd, region.address() + first * region.pageSize(), count, entries);
            for (long i = 0; i < count; i++) {
                if ((entries.getAtIndex(JAVA_LONG, i) & Pagemap.SOFT_DIRTY_BIT) != 0) out.add(first + i);
            }
        }
        Pagemap.clearSoftDirty();
    }

    @Override
    public long faults() {
        return -1;
    }

    @Override
    public String describe() {
        return "soft-dirty (pagemap bit 55 read in chunks of " + CHUNK_PAGES + " pages, then clear_refs \"4\" for the"
                + " whole process; collects with the writers stopped; no populate needed)";
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            Libc.close(pagemapFd);
        } finally {
            bufferArena.close();
            OPEN.set(false);
        }
    }
}
