package io.pagemark.backend;

import io.pagemark.linux.Kernel;
import io.pagemark.linux.Libc;
import io.pagemark.linux.Uffd;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A userfaultfd with one region registered for write-protect: what the uffd backends share. Opens
 * the descriptor the first way that works here, handshakes the requested features plus
 * WP_UNPOPULATED when the kernel offers it (unless populating is forced), and registers the region.
 * Without WP_UNPOPULATED, {@link #beforeProtectingAll()} populates the region, since write
 * protection skips empty PTEs of anonymous memory.
 */
final class UffdRegistration implements AutoCloseable {
    private final MappedRegion region;
    private final int fd;
    private final Uffd.OpenMode openedWith;
    private final boolean unpopulatedMarkers;
    /** Whether discards are posted to the descriptor (UFFD_FEATURE_EVENT_REMOVE): then it must have a reader. */
    private final boolean removeEvents;
    /** The argument struct of the UFFDIO_WRITEPROTECT calls made from Java (unprotect), reused (one caller at a time). */
    private final Arena arena = Arena.ofShared();
    private final MemorySegment writeProtectArg = arena.allocate(Uffd.WRITEPROTECT);
    private Populate.Method populated;
    private boolean unregistered;
    private boolean closed;

    /**
     * Opens and registers.
     *
     * @param features      the features the backend needs (WP_ASYNC, SIGBUS, EVENT_REMOVE: the last only with a
     *                      reader of the descriptor, or a madvise that empties the region waits forever)
     * @param forcePopulate populate before each arm even where WP_UNPOPULATED is offered
     */
    UffdRegistration(MappedRegion region, long features, boolean forcePopulate) {
        this.region = region;
        this.unpopulatedMarkers = !forcePopulate && (Kernel.userfaultfdFeatures() & Uffd.FEATURE_WP_UNPOPULATED) != 0;
        this.removeEvents = (features & Uffd.FEATURE_EVENT_REMOVE) != 0;
        Uffd.Opened opened = Uffd.open();
        this.fd = opened.fd();
        this.openedWith = opened.mode();
        try {
            Uffd.api(fd, features | (unpopulatedMarkers ? Uffd.FEATURE_WP_UNPOPULATED : 0));
            Uffd.register(fd, region.address(), region.size(), Uffd.REGISTER_MODE_WP);
        } catch (RuntimeException e) {
            Libc.close(fd);
            arena.close();
            throw e;
        }
    }

    int fd() {
        return fd;
    }

    /** How the descriptor was opened: user-mode-only means kernel-mode writes into a protected page fail with EFAULT. */
    Uffd.OpenMode openedWith() {
        return openedWith;
    }

    /** True when write-protecting an empty PTE leaves a marker (WP_UNPOPULATED), false when only a populated page can be protected. */
    boolean unpopulatedMarkers() {
        return unpopulatedMarkers;
    }

    /** Call before write-protecting the whole region: populates it when the kernel lacks (or may not use) WP_UNPOPULATED. */
    void beforeProtectingAll() {
        if (!unpopulatedMarkers) populated = Populate.beforeArm(region);
    }

    /** Clears the write protection of [start, start + length) of the region, without recording anything. */
    void unprotect(long start, long length) {
        Uffd.writeProtect(fd, writeProtectArg, start, length, false, false);
    }

    /** "userfaultfd via syscall, WP_UNPOPULATED, EVENT_REMOVE" or "..., populate before arm by MADV_POPULATE_READ". */
    String describe() {
        return "userfaultfd via " + openedWith.label()
                + (openedWith.limitation() == null ? "" : " (kernel-mode writes fail with EFAULT)") + ", "
                + (unpopulatedMarkers ? "WP_UNPOPULATED" : "populate before arm" + (populated == null ? "" : " by " + populated))
                + (removeEvents ? ", EVENT_REMOVE" : "");
    }

    /**
     * Unregisters the region: the kernel wakes every thread blocked in a fault on it and clears its
     * write protection, so writes proceed untracked. The descriptor stays open (a handler thread may
     * still be polling it). Idempotent.
     */
    void unregister() {
        if (unregistered) return;
        unregistered = true;
        Uffd.unregister(fd, region.address(), region.size());
    }

    /** Unregisters if not done yet, then closes the descriptor. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            unregister();
        } finally {
            Libc.close(fd);
            arena.close();
        }
    }
}
