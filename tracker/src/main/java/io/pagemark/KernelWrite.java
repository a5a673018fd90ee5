package io.pagemark;

/**
 * A write into the arena that the hardware barrier does not see, in flight: a device or the kernel
 * writing through pinned pages (O_DIRECT, io_uring, RDMA, a GPU), opened with
 * {@link TrackedArena#kernelWrite} before the I/O is submitted and closed once it has completed
 * (successfully, short, or failed: close it in every case).
 *
 * <pre>{@code
 * try (KernelWrite write = arena.kernelWrite(offset, length)) {
 *     submitToIoUring(arena.segment().asSlice(offset, length));   // the kernel pins the pages now
 *     awaitCompletion();                                          // the device wrote through the pin
 * }                                                               // the range joins the dirty set
 * }</pre>
 *
 * <p><b>What it guarantees.</b> Once it is closed, the range is in the dirty set: the next collect
 * reports it (again), however the collects overlapped the I/O. While it is open: on backends whose
 * faults the kernel cannot resolve for itself (mprotect, uffd-sigbus, a user-mode-only userfaultfd),
 * the range has been made writable by user-mode writes before {@code kernelWrite} returned, and no
 * collect re-protects it until close, so the kernel can pin it (no EFAULT); with
 * {@link TrackedArena.InFlightWrites#COLLECT_WAITS} no collect runs at all until it closes. A
 * {@link TrackedArena#copyBeforeWrite()} (a live snapshot) never starts while one is open, so a
 * snapshot holds every such write in full or not at all.
 *
 * <p>Close it exactly once it completed, from any thread; closing again does nothing. An open scope
 * holds up {@link TrackedArena#arm()} and {@link TrackedArena#copyBeforeWrite()} (and, with
 * COLLECT_WAITS, every collect): never leave one open, and never call those from inside one.
 */
public final class KernelWrite implements AutoCloseable {
    private final KernelWrites writes;
    private final long offset;
    private final long length;
    private boolean closed;

    KernelWrite(KernelWrites writes, long offset, long length) {
        this.writes = writes;
        this.offset = offset;
        this.length = length;
    }

    /** The range's first byte in the arena. */
    public long offset() {
        return offset;
    }

    /** The range's length in bytes. */
    public long length() {
        return length;
    }

    /** The I/O has completed (or failed): the whole range joins the dirty set, and the write is no longer in flight. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        writes.end(offset, length);
    }

    @Override
    public String toString() {
        return "KernelWrite[" + offset + "+" + length + (closed ? ", closed" : ", in flight") + "]";
    }
}
