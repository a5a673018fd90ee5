package io.pagemark.backend;

/**
 * The native fault paths on a registered userfaultfd (uffd-sync, uffd-sigbus): arming and
 * re-protecting are UFFDIO_WRITEPROTECT on the registration; how a fault reaches the native code
 * (a handler thread reading the descriptor, or SIGBUS on the writer) is the subclass's.
 */
public abstract class UffdFaultTracker extends NativeFaultTracker {
    /** The registered userfaultfd; this tracker closes it. */
    protected final UffdRegistration uffd;

    protected UffdFaultTracker(MappedRegion region, TrackerOptions options, String nativeBackend, UffdRegistration uffd) {
        super(region, options, nativeBackend, uffd.fd());
        this.uffd = uffd;
    }

    @Override
    protected void beforeProtectingAll() {
        uffd.beforeProtectingAll();
    }

    @Override
    protected void protectAll() {
        uffd.protect(region.address(), region.size());
    }

    @Override
    protected void protect(long firstPage, long pageCount) {
        uffd.protect(region.address() + firstPage * region.pageSize(), pageCount * region.pageSize());
    }
}
