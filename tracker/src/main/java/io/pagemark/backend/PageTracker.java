package io.pagemark.backend;

/**
 * One tracking mechanism watching one region: the backend SPI behind {@code TrackedArena}. What
 * every tracker does is here; what only some can do is an interface of its own that extends this
 * one ({@link CopiesBeforeWrite}, {@link UnprotectsPages}, {@link MarkedByWriteApi}), so an ability
 * is a type the caller tests with {@code instanceof}, never an UnsupportedOperationException
 * (package-info says how to add one).
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
     * The last collect before tracking stops: adds to {@code out} every page written since the
     * previous arm or collect, as {@link #collect} does, but re-arms none of them. Until the next
     * {@link #arm} (after a {@link #disarm}, or not) nothing is tracked: writes to pages still
     * protected fault and are resolved as before, and that arm drops their records. The default
     * collects, re-arming (correct, not cheaper), for mechanisms whose collect costs no re-protect.
     */
    default void collectWithoutRearm(PageSet out) {
        collect(out);
    }

    /**
     * Write faults taken since the tracker was opened, or -1 where the mechanism cannot count them
     * (uffd-async: the kernel resolves faults without telling us).
     */
    long faults();

    /**
     * Whether the kernel's own access that faults on a tracked page is resolved and recorded like a
     * user-mode write: a copy through the page tables (read(2) into the region through the page
     * cache), or get_user_pages taking the write fault as it pins the page for a device (O_DIRECT,
     * io_uring, RDMA; the writes later made through the pin are seen by no tracker). Where the fault
     * cannot be resolved for the kernel (a signal-handler backend, a user-mode-only userfaultfd) the
     * access fails with EFAULT instead. True where nothing is protected (card-table).
     */
    default boolean resolvesKernelFaults() {
        return true;
    }

    /**
     * Times the fault path took a slower or coarser way since the tracker opened (the ring found
     * full, so writers waited or spilled; mprotect's faults joining runs near vm.max_map_count); 0 where
     * there is none to take.
     */
    default long degradations() {
        return 0;
    }

    /** One line on how this tracker was set up (features used, fallbacks taken), for probe, verify and logs. */
    String describe();

    /** Stops tracking: pages become writable, kernel objects and threads are released. Idempotent. */
    @Override
    void close();

    /**
     * Called after {@link #close()} once the region is unmapped and no Java thread can be inside an
     * access to it any more (the arena's close has completed its handshake with every thread). A
     * tracker whose signal handler may still see a fault that raced close() keeps its signal range
     * until this call. Default: nothing.
     */
    default void regionUnmapped() {}
}
