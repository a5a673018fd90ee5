package io.pagemark.backend;

import io.pagemark.linux.Errno;
import io.pagemark.linux.Libc;
import io.pagemark.linux.LinuxException;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Makes every page of a region present before it is write-protected. Without
 * UFFD_FEATURE_WP_UNPOPULATED (Linux 6.4+) write protection silently skips empty PTEs of anonymous
 * memory, so a never-touched page would be written without a fault: a lost write.
 */
public final class Populate {
    /** How the last populate was done (for describe()): "MADV_POPULATE_READ" or "touch". */
    public enum Method { MADV_POPULATE_READ, TOUCH }

    private Populate() {}

    /**
     * Maps every page of the region for reading: MADV_POPULATE_READ (5.14+, one syscall; maps the
     * shared zero page where nothing was written), else a read of one byte per page.
     */
    public static Method beforeArm(MappedRegion region) {
        return pages(region, 0, region.pageCount());
    }

    /** As {@link #beforeArm} for pages [first, first + count) of the region only (pages a discard emptied). */
    public static Method pages(MappedRegion region, long first, long count) {
        try {
            Libc.madvise(region.address() + first * region.pageSize(), count * region.pageSize(), Libc.MADV_POPULATE_READ,
                    "madvise(MADV_POPULATE_READ)", Libc.NO_HINT);
            return Method.MADV_POPULATE_READ;
        } catch (LinuxException e) {
            if (e.errno() != Errno.EINVAL) throw e;   // EINVAL: kernel older than 5.14
        }
        touch(region, first, count);
        return Method.TOUCH;
    }

    /** Reads one byte of every page: the fallback for kernels without MADV_POPULATE_READ. */
    private static void touch(MappedRegion region, long first, long count) {
        long sum = 0;
        for (long off = first * region.pageSize(); off < (first + count) * region.pageSize(); off += region.pageSize()) {
            sum += region.memory().get(JAVA_BYTE, off);
        }
        // Keep the loads: a consumed result stops the JIT from eliding them.
        if (sum == Long.MIN_VALUE) throw new AssertionError();
    }
}
