package io.pagemark.agent;

/**
 * The agent's counters over JMX, as {@code io.pagemark:type=Agent} (jconsole, VisualVM, any JMX
 * client). Counts are since the agent started and cover every heap it tracked, closed ones included.
 */
public interface PagemarkAgentMXBean {
    /** The backend the agent tracks with (never "auto"). */
    String getBackend();

    /** Why that backend: "requested" or what auto found. */
    String getBackendReason();

    /** Heaps being tracked now. */
    int getTrackedHeaps();

    /** Bytes of heap being tracked now. */
    long getBytesTracked();

    /** Collects of dirty pages (before card scans and at card clears). */
    long getCollects();

    /** Dirty pages reported by those collects. */
    long getDirtyPages();

    /** Cards the agent marked in the runtime's card tables. */
    long getCardsMarked();

    /**
     * Write faults taken by tracked heaps, as of their last collect. On uffd-async, where the kernel
     * resolves faults without telling anyone, each reported page is one write-protect fault.
     */
    long getFaults();

    /** Faults per second over the last report interval (0 when reports are off). */
    double getFaultsPerSecond();

    /** Card scans of a heap the agent does not track (allocated before a late attach): every card was marked dirty. */
    long getUntrackedCardScans();

    /** Heap allocations the agent could not track (the tracked arena failed to open); those heaps keep working untracked. */
    long getUntrackedHeaps();

    /** Classes whose barrier calls were removed. */
    long getRewrittenClasses();
}
