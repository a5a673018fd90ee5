package io.pagemark.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The PAGEMAP_SCAN ioctl on /proc/self/pagemap (Linux 6.7+): finds the pages of a range in given
 * categories, optionally write-protecting them in the same walk ({@link #WP_MATCHING}).
 * <p>
 * The kernel fills a caller-provided vector of {@code page_region}s and reports in {@code walk_end}
 * how far it got. Seen on our machines: with a full vector, {@code walk_end} can stop short of the
 * range although the vector already reaches its end, and the next call then finds nothing. So the
 * loop resumes from {@code walk_end} until it reaches the end, and regions are handed to the sink as
 * they come: consumers must tolerate a page reported twice (they set bits).
 * <p>
 * One instance owns its output vector and argument struct: use it from one thread at a time.
 */
public class PagemapScan implements AutoCloseable {
    /** struct pm_scan_arg (96 bytes in 6.7+). */
    public static final StructLayout ARG = MemoryLayout.structLayout(
            JAVA_LONG.withName("size"), JAVA_LONG.withName("flags"), JAVA_LONG.withName("start"),
            JAVA_LONG.withName("end"), JAVA_LONG.withName("walk_end"), JAVA_LONG.withName("vec"),
            JAVA_LONG.withName("vec_len"), JAVA_LONG.withName("max_pages"), JAVA_LONG.withName("category_inverted"),
            JAVA_LONG.withName("category_mask"), JAVA_LONG.withName("category_anyof_mask"),
            JAVA_LONG.withName("return_mask"));
    /** struct page_region { __u64 start, end, categories; } */
    public static final StructLayout REGION = MemoryLayout.structLayout(
            JAVA_LONG.withName("start"), JAVA_LONG.withName("end"), JAVA_LONG.withName("categories"));

    /** PAGEMAP_SCAN = _IOWR('f', 16, struct pm_scan_arg) = 0xC0606610; absent from the 6.1 headers. */
    public static final long PAGEMAP_SCAN = Ioctl.iowr('f', 16, ARG.byteSize());

    /** Write-protect the pages that match, in the same walk (atomically with reporting them). */
    public static final long WP_MATCHING = 1L << 0;
    /** Fail unless the range is registered with userfaultfd in WP_ASYNC mode. */
    public static final long CHECK_WPASYNC = 1L << 1;

    public static final long PAGE_IS_WPALLOWED = 1L << 0;
    /** Written since it was last write-protected (async uffd-wp). */
    public static final long PAGE_IS_WRITTEN = 1L << 1;
    public static final long PAGE_IS_FILE = 1L << 2;
    public static final long PAGE_IS_PRESENT = 1L << 3;
    public static final long PAGE_IS_SWAPPED = 1L << 4;
    public static final long PAGE_IS_PFNZERO = 1L << 5;
    public static final long PAGE_IS_HUGE = 1L << 6;
    public static final long PAGE_IS_SOFT_DIRTY = 1L << 7;

    /** Output regions per ioctl: each holds a run of pages, so a few hundred cover most collects in one call. */
    public static final int DEFAULT_VECTOR_LENGTH = 512;

    /** Receives one matching run of pages, [start, end) in bytes. */
    @FunctionalInterface
    public interface RegionSink {
        void region(long start, long end);
    }

    private final int pagemapFd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment arg;
    private final MemorySegment vector;
    private final int vectorLength;
    /** One ioctl's output vector copied out in one block ({@link #pageOut}): start, end, categories per region. */
    private final long[] regionWords;
    private long ioctlCalls;

    /** Opens /proc/self/pagemap for scanning with an output vector of {@code vectorLength} regions. */
    public PagemapScan(int vectorLength) {
        if (vectorLength < 1) throw new IllegalArgumentException("vectorLength must be >= 1, got " + vectorLength);
        this.vectorLength = vectorLength;
        this.pagemapFd = Libc.open("/proc/self/pagemap", Libc.O_RDONLY | Libc.O_CLOEXEC, Libc.NO_HINT);
        this.arg = arena.allocate(ARG);
        this.vector = arena.allocate(REGION, vectorLength);
        this.regionWords = new long[(int) (vectorLength * (REGION.byteSize() / Long.BYTES))];
    }

    /**
     * Scans [start, end) for pages whose categories match {@code categoryMask} (all of its bits set),
     * applying {@code flags}; every matching run goes to {@code sink}.
     */
    public void scan(long start, long end, long flags, long categoryMask, RegionSink sink) {
        long from = start;
        while (from < end) {
            arg.set(JAVA_LONG, 0, ARG.byteSize());
            arg.set(JAVA_LONG, 8, flags);
            arg.set(JAVA_LONG, 16, from);
            arg.set(JAVA_LONG, 24, end);
            arg.set(JAVA_LONG, 32, 0);
            arg.set(JAVA_LONG, 40, vector.address());
            arg.set(JAVA_LONG, 48, vectorLength);
            arg.set(JAVA_LONG, 56, 0);
            arg.set(JAVA_LONG, 64, 0);
            arg.set(JAVA_LONG, 72, categoryMask);
            arg.set(JAVA_LONG, 80, 0);
            arg.set(JAVA_LONG, 88, categoryMask);
            int regions = Libc.ioctl(pagemapFd, PAGEMAP_SCAN, arg, "ioctl(PAGEMAP_SCAN)", e -> switch (e) {
                case Errno.ENOTTY -> "this kernel has no PAGEMAP_SCAN (Linux 6.7+)";
                case Errno.EPERM -> "the range is not registered with userfaultfd in WP_ASYNC mode";
                default -> null;
            });
            ioctlCalls++;
            pageOut(vector, regions, sink);
            long walkEnd = arg.get(JAVA_LONG, 32);
            if (walkEnd <= from) {
                throw new IllegalStateException("PAGEMAP_SCAN made no progress at 0x" + Long.toHexString(from));
            }
            from = walkEnd;
        }
    }

    /**
     * Write-protects every page of [start, end) that is not protected ({@link #WP_MATCHING} with no
     * output vector: the kernel's exclusive write-protect, which skips already protected PTEs, so it
     * costs the pages written since they were last protected plus a walk of the page tables, where a
     * UFFDIO_WRITEPROTECT of the range rewrites every PTE). Fails unless the range is registered in
     * WP_ASYNC mode.
     */
    public void protectWritten(long start, long end) {
        long from = start;
        while (from < end) {
            arg.fill((byte) 0);
            arg.set(JAVA_LONG, 0, ARG.byteSize());
            arg.set(JAVA_LONG, 8, WP_MATCHING | CHECK_WPASYNC);
            arg.set(JAVA_LONG, 16, from);
            arg.set(JAVA_LONG, 24, end);
            arg.set(JAVA_LONG, 72, PAGE_IS_WRITTEN);
            arg.set(JAVA_LONG, 88, PAGE_IS_WRITTEN);
            Libc.ioctl(pagemapFd, PAGEMAP_SCAN, arg, "ioctl(PAGEMAP_SCAN)", e -> switch (e) {
                case Errno.ENOTTY -> "this kernel has no PAGEMAP_SCAN (Linux 6.7+)";
                case Errno.EPERM -> "the range is not registered with userfaultfd in WP_ASYNC mode";
                default -> null;
            });
            ioctlCalls++;
            long walkEnd = arg.get(JAVA_LONG, 32);
            if (walkEnd <= from) throw new IllegalStateException("PAGEMAP_SCAN made no progress at 0x" + Long.toHexString(from));
            from = walkEnd;
        }
    }

    /** Hands one ioctl's output vector of {@code count} regions to the sink. */
    protected void pageOut(MemorySegment regions, int count, RegionSink sink) {
        int longsPerRegion = (int) (REGION.byteSize() / Long.BYTES);
        MemorySegment.copy(regions, JAVA_LONG, 0, regionWords, 0, count * longsPerRegion);
        for (int i = 0; i < count * longsPerRegion; i += longsPerRegion) sink.region(regionWords[i], regionWords[i + 1]);
    }

    /** How many PAGEMAP_SCAN ioctls this scanner has made (walk_end restarts included). */
    public long ioctlCalls() {
        return ioctlCalls;
    }

    @Override
    public void close() {
        Libc.close(pagemapFd);
        arena.close();
    }
}
