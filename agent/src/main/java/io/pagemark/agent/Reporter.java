package io.pagemark.agent;

import java.time.Duration;

/**
 * Every report interval: the fault rate over the interval, into the MBean (the JFR fault rate is the
 * tracker's own {@code io.pagemark.FaultRate}, per arena). A daemon thread; faults are counted at
 * collects, so an interval without a collect reports none.
 */
final class Reporter implements Runnable {
    private final AgentStatistics statistics;
    private final long intervalNanos;

    private Reporter(AgentStatistics statistics, Duration interval) {
        this.statistics = statistics;
        this.intervalNanos = interval.toNanos();
    }

    static void start(AgentStatistics statistics, Duration interval) {
        if (interval.isZero()) return;
        Thread.ofPlatform().name("pagemark-agent-reporter").daemon().start(new Reporter(statistics, interval));
    }

    @Override
    public void run() {
        long faults = statistics.getFaults(), last = System.nanoTime();
        while (true) {
            try {
                Thread.sleep(Duration.ofNanos(intervalNanos));
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime(), f = statistics.getFaults();
            statistics.faultsPerSecond((f - faults) * 1e9 / (now - last));
            faults = f;
            last = now;
        }
    }
}
