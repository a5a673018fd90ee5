package io.pagemark.backend;

import io.pagemark.linux.Kernel;
import io.pagemark.linux.Uffd;
import io.pagemark.nativelib.NativeLibrary;

/**
 * uffd-sync: userfaultfd write-protect with faults queued on the descriptor and resolved by native
 * handler threads (C pthreads, never Java: a Java thread blocked in the fault holds up every
 * safepoint, so a Java resolver would stop at that safepoint and deadlock the JVM). A handler reads
 * many {@code uffd_msg} per read(2), unprotects each faulting block (waking its thread), then
 * appends one record of them all to the ring.
 * <p>
 * Kernel-mode writes (read(2) into the arena) fault the same way and are handled, unless the
 * userfaultfd could only be opened with UFFD_USER_MODE_ONLY: then they fail with EFAULT.
 * <p>
 * The writer resumes as soon as its block is unprotected, before the handler's record is committed.
 * So that a write that completed before collect() is reported by that collect, collect first waits
 * for every handler that was between unprotect and record when it started (see {@link #drain}).
 * The same handlers read the descriptor's UFFD_EVENT_REMOVE events (see {@link UffdFaultTracker}).
 */
public class UffdSyncTracker extends UffdFaultTracker {
    /** Opens the userfaultfd, registers the region and starts the handler threads. */
    public static UffdSyncTracker open(MappedRegion region, TrackerOptions options) {
        // The faulting thread's id in each message, where offered: the adaptive window's key for a miss (window.c).
        UffdRegistration uffd = new UffdRegistration(region, Uffd.FEATURE_EVENT_REMOVE | (Kernel.userfaultfdFeatures() & Uffd.FEATURE_THREAD_ID),
                options.forcePopulate());
        UffdSyncTracker tracker;
        try {
            tracker = new UffdSyncTracker(region, options, uffd);
        } catch (RuntimeException | Error e) {
            uffd.close();
            throw e;
        }
        try {
            tracker.startHandlers(options.handlerThreads(), options.handlerSpinMicros() * 1000L, options.pinHandlerThreads());
        } catch (RuntimeException e) {
            tracker.close();
            throw e;
        }
        return tracker;
    }

    /** A tracker whose handlers the caller starts (tests start a deliberately broken one to show the oracle notices). */
    protected UffdSyncTracker(MappedRegion region, TrackerOptions options, UffdRegistration uffd) {
        super(region, options, "uffd-sync", uffd); // uffd_sync.c
    }

    /** Why uffd-sync cannot run here, or null if it can. */
    public static String unusableReason() {
        if (!NativeLibrary.status().loaded()) return "the native library is not loaded: " + NativeLibrary.status().detail();
        if (!Kernel.userfaultfdAccess().available()) {
            return "no userfaultfd can be opened (" + String.join("; ", Kernel.userfaultfdAccess().attempts()) + ")";
        }
        if ((Kernel.userfaultfdFeatures() & Uffd.FEATURE_PAGEFAULT_FLAG_WP) == 0) {
            return "the kernel's userfaultfd lacks write-protect support (UFFD_FEATURE_PAGEFAULT_FLAG_WP, Linux 5.7+ for anonymous memory)";
        }
        if ((Kernel.userfaultfdFeatures() & Uffd.FEATURE_EVENT_REMOVE) == 0) {
            return "the kernel's userfaultfd lacks UFFD_FEATURE_EVENT_REMOVE (Linux 4.11+), which tells it about discarded memory";
        }
        return null;
    }

    /** The registered userfaultfd. */
    protected final int uffdDescriptor() {
        return uffd.fd();
    }

    /** True unless the userfaultfd is user-mode-only: then the kernel's own faults are not queued to us and fail with EFAULT. */
    @Override
    public boolean resolvesKernelFaults() {
        return uffd.openedWith() != Uffd.OpenMode.SYSCALL_USER_MODE_ONLY;
    }

    @Override
    public String describe() {
        int handlers = options.handlerThreads();
        return "uffd-sync (" + uffd.describe() + ", " + handlers + " native handler thread" + (handlers == 1 ? "" : "s")
                + (options.pinHandlerThreads() ? " pinned one per CPU" : "")
                + (options.handlerSpinMicros() > 0 ? " spinning " + options.handlerSpinMicros() + " µs before blocking" : "")
                + ", " + describeCommon() + ")";
    }
}
