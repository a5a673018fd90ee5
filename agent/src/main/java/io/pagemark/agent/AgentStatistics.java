package io.pagemark.agent;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** The counters behind {@link PagemarkAgentMXBean}; updated by the hooks, the transformer and the reporter. */
final class AgentStatistics implements PagemarkAgentMXBean {
    private final String backend;
    private final String backendReason;
    final AtomicInteger trackedHeaps = new AtomicInteger();
    final AtomicLong bytesTracked = new AtomicLong();
    final AtomicLong collects = new AtomicLong();
    final AtomicLong dirtyPages = new AtomicLong();
    final AtomicLong cardsMarked = new AtomicLong();
    final AtomicLong faults = new AtomicLong();
    final AtomicLong untrackedCardScans = new AtomicLong();
    final AtomicLong untrackedHeaps = new AtomicLong();
    final AtomicLong rewrittenClasses = new AtomicLong();
    private volatile double faultsPerSecond;

    AgentStatistics(String backend, String backendReason) {
        this.backend = backend;
        this.backendReason = backendReason;
    }

    void faultsPerSecond(double rate) {
        faultsPerSecond = rate;
    }

    @Override
    public String getBackend() {
        return backend;
    }

    @Override
    public String getBackendReason() {
        return backendReason;
    }

    @Override
    public int getTrackedHeaps() {
        return trackedHeaps.get();
    }

    @Override
    public long getBytesTracked() {
        return bytesTracked.get();
    }

    @Override
    public long getCollects() {
        return collects.get();
    }

    @Override
    public long getDirtyPages() {
        return dirtyPages.get();
    }

    @Override
    public long getCardsMarked() {
        return cardsMarked.get();
    }

    @Override
    public long getFaults() {
        return faults.get();
    }

    @Override
    public double getFaultsPerSecond() {
        return faultsPerSecond;
    }

    @Override
    public long getUntrackedCardScans() {
        return untrackedCardScans.get();
    }

    @Override
    public long getUntrackedHeaps() {
        return untrackedHeaps.get();
    }

    @Override
    public long getRewrittenClasses() {
        return rewrittenClasses.get();
    }
}
