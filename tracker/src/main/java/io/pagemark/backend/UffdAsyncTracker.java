package io.pagemark.backend;

import io.pagemark.linux.Kernel;
import io.pagemark.linux.PagemapScan;
import io.pagemark.linux.Uffd;

/**
 * uffd-async: userfaultfd write-protect with UFFD_FEATURE_WP_ASYNC (Linux 6.7+). A write to a
 * protected page faults into the kernel, which unprotects it itself and leaves the PTE marked
 * written; nothing runs in user space. Collect is one PAGEMAP_SCAN walk that reports the written
 * pages and write-protects them in the same walk (PM_SCAN_WP_MATCHING), so report and re-arm are
 * atomic per page: a write either lands before the walk reaches its PTE (reported now) or after it
 * (faults again, reported next time).
 */
public class UffdAsyncTracker implements PageTracker {
    private final MappedRegion region;
    private final UffdRegistration uffd;
    private final PagemapScan scan;
    private boolean closed;

    /**
     * Opens the userfaultfd and registers the region. Uses WP_UNPOPULATED when offered unless
     * {@code options.forcePopulate()}, in which case every page is populated before each arm instead.
     */
    public static UffdAsyncTracker open(MappedRegion region, TrackerOptions options) {
        return new UffdAsyncTracker(region, options.forcePopulate(), new PagemapScan(PagemapScan.DEFAULT_VECTOR_LENGTH));
    }

    /** As above with a given scanner (tests inject one that drops output to show the oracle notices). */
    protected UffdAsyncTracker(MappedRegion region, boolean forcePopulate, PagemapScan scan) {
        this.region = region;
        this.scan = scan;
        try {
            this.uffd = new UffdRegistration(region, Uffd.FEATURE_WP_ASYNC, forcePopulate);
        } catch (RuntimeException e) {
            scan.close();
            throw e;
        }
    }

    /** Why uffd-async cannot run here, or null if it can. */
    public static String unusableReason() {
        if (!Kernel.userfaultfdAccess().available()) {
            return "no userfaultfd can be opened (" + String.join("; ", Kernel.userfaultfdAccess().attempts()) + ")";
        }
        if ((Kernel.userfaultfdFeatures() & Uffd.FEATURE_WP_ASYNC) == 0) {
            return "the kernel's userfaultfd lacks UFFD_FEATURE_WP_ASYNC (Linux 6.7+)";
        }
        return Kernel.pagemapScanMissing();
    }

    /**
     * A protect-only PAGEMAP_SCAN: protects exactly the pages written (or never protected) and skips
     * the rest, so arming costs what was written since, not the arena's size; a huge page with its PMD
     * intact is protected whole. Protecting clears a page's written state: the arena is clean after this.
     */
    @Override
    public void arm() {
        uffd.beforeProtectingAll();
        scan.protectWritten(region.address(), region.end());
    }

    /** Every page then reads as written; the next arm's protect-all makes them clean again. */
    @Override
    public void disarm() {
        uffd.unprotect(region.address(), region.size());
    }

    @Override
    public void collect(PageSet out) {
        scan.scan(region.address(), region.end(), PagemapScan.WP_MATCHING | PagemapScan.CHECK_WPASYNC,
                PagemapScan.PAGE_IS_WRITTEN, out::addAddresses);
    }

    /**
     * A read-only PAGEMAP_SCAN (no PM_SCAN_WP_MATCHING): nothing is write-protected, so no PTE changes
     * and no TLB flush. The pages reported stay written, and the next arm's protect-only scan protects them.
     */
    @Override
    public void collectWithoutRearm(PageSet out) {
        scan.scan(region.address(), region.end(), PagemapScan.CHECK_WPASYNC, PagemapScan.PAGE_IS_WRITTEN, out::addAddresses);
    }

    @Override
    public long faults() {
        return -1;
    }

    @Override
    public String describe() {
        return "uffd-async (WP_ASYNC, " + uffd.describe() + ", PAGEMAP_SCAN)";
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            uffd.close();
        } finally {
            scan.close();
        }
    }
}
