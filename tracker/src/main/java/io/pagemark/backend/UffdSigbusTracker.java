package io.pagemark.backend;

import io.pagemark.linux.Kernel;
import io.pagemark.linux.Uffd;

/**
 * uffd-sigbus: userfaultfd write-protect with UFFD_FEATURE_SIGBUS. A write to a protected page
 * raises SIGBUS on the writing thread itself; the chained native handler (C) unprotects the block
 * (UFFDIO_WRITEPROTECT, no wake needed: nobody waits), records it and returns, and the store is
 * retried. No handler thread on the fault path, so no cross-CPU wake-up per fault. The record is committed before
 * the store completes, so a collect after the write always sees it. One native handler thread reads
 * the descriptor's UFFD_EVENT_REMOVE events (see {@link UffdFaultTracker}); no fault arrives there.
 * <p>
 * Kernel-mode writes (read(2) into the arena) cannot raise a signal: they fail with EFAULT.
 */
public final class UffdSigbusTracker extends UffdFaultTracker {

    private UffdSigbusTracker(MappedRegion region, TrackerOptions options, UffdRegistration uffd) {
        super(region, options, "uffd-sigbus", uffd); // uffd_sigbus.c
    }

    /** Opens the userfaultfd in SIGBUS mode, registers the region and adds it to the SIGBUS handler's signal ranges. */
    public static UffdSigbusTracker open(MappedRegion region, TrackerOptions options) {
        UffdRegistration uffd = new UffdRegistration(region, Uffd.FEATURE_SIGBUS | Uffd.FEATURE_EVENT_REMOVE, options.forcePopulate());
        UffdSigbusTracker tracker;
        try {
            tracker = new UffdSigbusTracker(region, options, uffd);
        } catch (RuntimeException | Error e) {
            uffd.close();
            throw e;
        }
        try {
            tracker.startHandlers(1, 0, false); // the reader of the descriptor's events: its faults arrive as SIGBUS
        } catch (RuntimeException e) {
            tracker.close();
            throw e;
        }
        return handlingFaultsInSignalHandlers(tracker);
    }

    /** Why uffd-sigbus cannot run here, or null if it can. */
    public static String unusableReason() {
        String sync = UffdSyncTracker.unusableReason();
        if (sync != null) return sync;
        if ((Kernel.userfaultfdFeatures() & Uffd.FEATURE_SIGBUS) == 0) {
            return "the kernel's userfaultfd lacks UFFD_FEATURE_SIGBUS (Linux 4.14+)";
        }
        return null;
    }

    @Override
    public boolean resolvesKernelFaults() {
        return false; // the kernel cannot take a signal for its own access: EFAULT
    }

    @Override
    public String describe() {
        return "uffd-sigbus (" + uffd.describe() + ", SIGBUS handled on the faulting thread, " + describeCommon() + ")";
    }
}
