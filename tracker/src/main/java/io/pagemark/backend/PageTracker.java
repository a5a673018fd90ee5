package io.pagemark.backend;

import java.lang.foreign.MemorySegment;

/**
 * One tracking mechanism watching one region: the backend SPI behind {@code TrackedArena}.
 * <p>
 * The contract every implementation keeps (docs/design.md, "the one invariant"): every write to the
 * region that happens before {@link #collect} returns is reported by that collect or a later one.
 * {@link #collect} reports, then re-arms what it reported <em>before</em> returning, so a caller
 * that reads page contents after collect returns sees every write that the next collect will not
 * report.
 */
public interface PageTracker extends AutoCloseable {

    /** Starts (or restarts) tracking: afterwards every page is clean and its next write will be caught. */
    void arm();

    /**
     * Stops tracking until the next {@link #arm}: every page becomes writable without a fault. A
     * record of a write made meanwhile (a fault already under way) is dropped by that arm. The
     * default is for mechanisms that protect nothing (soft-dirty, card-table): nothing to undo.
     */
    default void disarm() {}

    /** Adds to {@code out} every page written since the previous arm or collect, and re-arms those pages. */
    void collect(PageSet out);

    /**
     * Write faults taken since the tracker was opened, or -1 where the mechanism cannot count them
     * (uffd-async: the kernel resolves faults without telling us).
     */
    long faults();

    /**
     * Whether a kernel-mode write into a tracked page (read(2) into the region, FileChannel.read into
     * a buffer over it) succeeds and is reported. Where the fault cannot be resolved for the kernel
     * (a signal-handler backend, a user-mode-only userfaultfd) such a write fails with EFAULT instead.
     */
    default boolean handlesKernelModeWrites() {
        return true;
    }

    /**
     * Switches copy-before-write on (what a live snapshot needs): write-protects the whole region,
     * and from then on the fault path copies every page whose state in {@code states} is
     * {@code FaultPaths.PAGE_UNCOPIED} into {@code image} (same offset) before it unprotects it. Only
     * mechanisms whose fault path runs before the faulting store completes can (the native ones).
     *
     * @param states      one int per page, all uncopied, shared with the fault path (see pagemark.h)
     * @param image       as large as the region
     * @param keepRecords true while someone collects: faults recorded so far stay for the next
     *                    collect; false: they are dropped (as arm does), so the record ring cannot fill
     * @throws UnsupportedOperationException where the mechanism cannot
     */
    default void startCopyBeforeWrite(MemorySegment states, MemorySegment image,
                                      boolean keepRecords) {
        throw new UnsupportedOperationException(describe() + " cannot copy pages before their first write");
    }

    /** Switches copy-before-write off: when this returns, no fault path uses the states or the image. Idempotent. */
    default void stopCopyBeforeWrite() {}

    /** Pages the fault path has copied before their first write, since the tracker was opened. */
    default long pagesCopiedBeforeWrite() {
        return 0;
    }

    /**
     * Makes pages writable outside a fault, unrecorded (so only for pages nobody tracks). Returns
     * false if the kernel refused for lack of room (mprotect at vm.max_map_count): the pages then
     * stay protected, which costs a fault later, never a write.
     */
    default boolean unprotect(long firstPage, long pageCount) {
        throw new UnsupportedOperationException(describe() + " does not unprotect pages outside a fault");
    }

    /** One line on how this tracker was set up (features used, fallbacks taken), for probe, verify and logs. */
    String describe();

    /** Stops tracking: pages become writable, kernel objects and threads are released. Idempotent. */
    @Override
    void close();

    /**
     * Called after {@link #close()} once the region is unmapped and no Java thread can be inside an
     * access to it any more (the arena's close has completed its handshake with every thread). A
     * tracker whose signal handler may still see a fault that raced close() keeps claiming the range
     * until this call. Default: nothing.
     */
    default void regionUnmapped() {}
}
