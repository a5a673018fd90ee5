package io.pagemark.agent;

import io.pagemark.agent.events.AgentEvents;

import java.time.Duration;
import java.util.function.IntSupplier;

/**
 * Every report interval: the fault rate over the interval, into the MBean and (with jfr=on) an
 * {@code io.pagemark.FaultRate} event. A daemon thread; faults are counted at collects, so an
 * interval without a collect reports none.
 */
final class Reporter implements Runnable {
    private final AgentStatistics statistics;
    private final long intervalNanos;
    private final boolean jfr;
    private final IntSupplier trackedHeaps;

    private Reporter(AgentStatistics statistics, Duration interval, boolean jfr, IntSupplier trackedHeaps) {
        this.statistics = statistics;
        this.intervalNanos = interval.toNanos();
        this.jfr = jfr;
        this.trackedHeaps = trackedHeaps;
    }

    static void start(AgentStatistics statistics, Duration interval, boolean jfr, IntSupplier trackedHeaps) {
        if (interval.isZero()) return;
        Thread.ofPlatform().name("pagemark-agent-reporter").daemon().start(new Reporter(statistics, interval, jfr, trackedHeaps));
    }

    @Override
    public void run() {
        long faults = statistics.getFaults(), pages = statistics.getDirtyPages(), last = System.nanoTime();
        while (true) {
            try {
                Thread.sleep(Duration.ofNanos(intervalNanos));
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime(), f = statistics.getFaults(), p = statistics.getDirtyPages();
            long elapsed = now - last;
            statistics.faultsPerSecond((f - faults) * 1e9 / elapsed);
            if (jfr) AgentEvents.faultRate(elapsed, f - faults, p - pages, trackedHeaps.getAsInt());
            faults = f;
            pages = p;
            last = now;
        }
    }
}
