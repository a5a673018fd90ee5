package io.pagemark.agent.events;

import jdk.jfr.FlightRecorder;

/**
 * The agent's JFR events ({@code jfr print --categories Pagemark recording.jfr}):
 * {@code io.pagemark.Collect}, {@code io.pagemark.FaultRate} and {@code io.pagemark.Backend}.
 * With {@code jfr=off} the agent never calls this class: no event is registered or emitted.
 */
public final class AgentEvents {
    private AgentEvents() {}

    /** Writes the backend choice at the start of every chunk of every recording, present or future. */
    public static void registerBackend(String requested, String backend, String reason) {
        FlightRecorder.addPeriodicEvent(BackendEvent.class, () -> {
            BackendEvent e = new BackendEvent();
            e.requested = requested;
            e.backend = backend;
            e.reason = reason;
            e.commit();
        });
    }

    /** A collect in progress: {@link #end} commits it with its duration. */
    public static final class Collect {
        private final CollectEvent event = new CollectEvent();

        private Collect() {}

        public void end(String backend, String hook, long pages, long cardsMarked, long heapBytes) {
            if (!event.shouldCommit()) return;
            event.backend = backend;
            event.hook = hook;
            event.pages = pages;
            event.cardsMarked = cardsMarked;
            event.heapBytes = heapBytes;
            event.commit();
        }
    }

    /** Starts timing a collect. */
    public static Collect beginCollect() {
        Collect c = new Collect();
        c.event.begin();
        return c;
    }

    public static void faultRate(long intervalNanos, long faults, long dirtyPages, int trackedHeaps) {
        FaultRateEvent e = new FaultRateEvent();
        if (!e.isEnabled()) return;
        e.interval = intervalNanos;
        e.faults = faults;
        e.faultsPerSecond = intervalNanos == 0 ? 0 : faults * 1e9 / intervalNanos;
        e.dirtyPages = dirtyPages;
        e.trackedHeaps = trackedHeaps;
        e.commit();
    }
}
