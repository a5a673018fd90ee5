package io.pagemark.backend;

import io.pagemark.linux.Kernel;
import io.pagemark.linux.Uffd;
import io.pagemark.nativelib.FaultPaths;
import io.pagemark.nativelib.NativeLibrary;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

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
 */
public class UffdSyncTracker extends UffdFaultTracker {
    private final Arena arena = Arena.ofShared();
    /** Each handler's progress counter as the collect in progress first saw it. */
    private final MemorySegment handlerSnapshot = arena.allocate(ValueLayout.JAVA_LONG, FaultPaths.MAX_HANDLER_THREADS);

    /** Opens the userfaultfd, registers the region and starts the handler threads. */
    public static UffdSyncTracker open(MappedRegion region, TrackerOptions options) {
        UffdRegistration uffd = new UffdRegistration(region, 0, options.forcePopulate());
        UffdSyncTracker tracker;
        try {
            tracker = new UffdSyncTracker(region, options, uffd);
        } catch (RuntimeException | Error e) {
            uffd.close();
            throw e;
        }
        try {
            FaultPaths.startHandlers(tracker.tracker, options.handlerThreads(), options.handlerSpinMicros() * 1000L,
                    options.pinHandlerThreads());
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
        return null;
    }

    /** The registered userfaultfd. */
    protected final int uffdDescriptor() {
        return uffd.fd();
    }

    /**
     * Waits until every handler that was between unprotecting and recording when this call began
     * has committed its record, draining meanwhile (a handler may be waiting for ring space), then
     * drains what is left. A writer resumes only after its handler's "mid-fault" mark is visible (the
     * mark is stored before the unprotect that wakes it), so a write that completed before this call
     * is either recorded already or has its handler waited for here.
     */
    @Override
    protected void drain(PageSet into) {
        FaultPaths.snapshotHandlers(tracker, handlerSnapshot);
        while (!FaultPaths.handlersPassed(tracker, handlerSnapshot)) {
            super.drain(into);
            Thread.yield(); // the handler may be preempted mid-batch: on few CPUs, spinning would only delay it
        }
        super.drain(into);
    }

    /** True unless the userfaultfd is user-mode-only: then the kernel's own faults are not queued to us and fail with EFAULT. */
    @Override
    public boolean handlesKernelModeWrites() {
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

    @Override
    protected void stopTracking() {
        try {
            uffd.unregister(); // first: releases every writer blocked in a fault, even if no handler is left to serve it
        } finally {
            try {
                FaultPaths.stopHandlers(tracker); // joined: no handler reads the descriptor or writes the ring any more
            } finally {
                uffd.close();
                arena.close();
            }
        }
    }
}
