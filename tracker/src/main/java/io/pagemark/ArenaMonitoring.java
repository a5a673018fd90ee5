package io.pagemark;

import io.pagemark.events.BackendEvent;
import io.pagemark.events.CollectEvent;
import io.pagemark.events.CutEvent;
import io.pagemark.events.DegradationEvent;
import io.pagemark.events.FaultRateEvent;
import jdk.jfr.FlightRecorder;
import jdk.jfr.FlightRecorderListener;

import javax.management.InstanceAlreadyExistsException;
import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One arena's observability: its MBean ({@link ArenaMXBean}) and its JFR events (package
 * {@code io.pagemark.events}). The periodic events (backend, fault rate) are written for every open
 * arena by one hook per event type, registered once; the backend event also when the arena opens.
 * An arena built with {@code monitored(false)} has neither ({@link #unmonitored}).
 */
final class ArenaMonitoring implements ArenaMXBean {
    private static final Set<ArenaMonitoring> OPEN = ConcurrentHashMap.newKeySet();
    private static final AtomicLong UNNAMED = new AtomicLong();

    static {
        // Registering a periodic event initializes JFR's machinery (most of a second on a busy host): only
        // once the recorder is initialized, which the listener hears of (at once if it is already).
        FlightRecorder.addListener(new FlightRecorderListener() {
            @Override
            public void recorderInitialized(FlightRecorder recorder) {
                FlightRecorder.addPeriodicEvent(BackendEvent.class, () -> OPEN.forEach(ArenaMonitoring::backendEvent));
                FlightRecorder.addPeriodicEvent(FaultRateEvent.class, () -> OPEN.forEach(ArenaMonitoring::faultRateEvent));
            }
        });
    }

    private final TrackedArena arena;
    private final String requested;
    /** Null when unmonitored. */
    private final ObjectName objectName;
    private final String name;
    /** The fault path's degradations at the previous collect. */
    private long degradationsSeen;
    /** The counters at the previous fault-rate event (the periodic hook runs on one JFR thread). */
    private long rateFaults, ratePages, rateNanos;

    private ArenaMonitoring(TrackedArena arena, String requested, String name, ObjectName objectName) {
        this.arena = arena;
        this.requested = requested;
        this.name = name;
        this.objectName = objectName;
        this.rateNanos = System.nanoTime();
    }

    /**
     * Registers {@code arena}'s MBean under {@code name} (null: {@code arena-N}), unique with a
     * suffix when taken, and adds it to the periodic events; {@code autoFallback} non-null: auto
     * did not get its first choice, said by a degradation event.
     */
    static ArenaMonitoring open(TrackedArena arena, String name, Backend requested, String autoFallback) {
        String base = name != null ? name : "arena-" + UNNAMED.incrementAndGet();
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        for (int n = 1; ; n++) {
            try {
                String unique = n == 1 ? base : base + "-" + n;
                ObjectName objectName = objectName(unique);
                ArenaMonitoring monitoring = new ArenaMonitoring(arena, requested.id(), unique, objectName);
                server.registerMBean(monitoring, objectName);
                OPEN.add(monitoring);
                if (recorderExists()) monitoring.backendEvent(); // now, for a recording running already; then at every chunk's start and end while open
                if (autoFallback != null) monitoring.degradation("auto-fallback", 1, autoFallback);
                return monitoring;
            } catch (InstanceAlreadyExistsException taken) {
                // another arena has the name: try the next suffix
            } catch (JMException e) {
                throw new PagemarkException("cannot register the arena's MBean " + base + ": " + e, e);
            }
        }
    }

    /** No MBean, no events: for an arena built with {@code monitored(false)}. */
    static ArenaMonitoring unmonitored(TrackedArena arena, Backend requested) {
        return new ArenaMonitoring(arena, requested.id(), null, null);
    }

    private boolean monitored() {
        return objectName != null;
    }

    private static ObjectName objectName(String name) throws JMException {
        boolean plain = name.chars().noneMatch(c -> ",=:*?\"\n".indexOf(c) >= 0);
        return new ObjectName("io.pagemark:type=Arena,name=" + (plain ? name : ObjectName.quote(name)));
    }

    /** Unregisters the MBean and leaves the periodic events. */
    void close() {
        if (!monitored()) return;
        OPEN.remove(this);
        try {
            ManagementFactory.getPlatformMBeanServer().unregisterMBean(objectName);
        } catch (InstanceNotFoundException gone) {
            // unregistered by someone else: nothing left to do
        } catch (JMException e) {
            throw new PagemarkException("cannot unregister the arena's MBean " + objectName + ": " + e, e);
        }
    }

    ObjectName objectName() {
        return objectName;
    }

    /**
     * Whether JFR is initialized. The first use of an event class costs JFR's set-up (about as much as
     * the platform MBean server) even when nothing records; before the recorder exists no recording
     * runs and no event could be committed, so none is made.
     */
    private static boolean recorderExists() {
        return FlightRecorder.isInitialized();
    }

    /** A collect's event, begun; null while no recorder exists, or unmonitored. */
    CollectEvent collectStarting() {
        if (!monitored() || !recorderExists()) return null;
        CollectEvent event = new CollectEvent();
        event.begin();
        return event;
    }

    /** The collect's event ({@link #collectStarting()}); and a degradation event if the fault path degraded since the previous one. */
    void collected(CollectEvent event, DirtyPages dirty) {
        if (event != null && event.shouldCommit()) {
            event.arena = name;
            event.backend = arena.backend().id();
            event.pages = dirty.pageCount();
            event.bytes = dirty.pageCount() * arena.pageSize();
            event.arenaBytes = arena.size();
            event.commit();
        }
        long degradations = arena.degradations();
        if (degradations > degradationsSeen) {
            degradation("fault-path", degradations - degradationsSeen, arena.describe());
            degradationsSeen = degradations;
        }
    }

    /** A cut's event, begun; null while no recorder exists, or unmonitored. */
    CutEvent cutStarting() {
        if (!monitored() || !recorderExists()) return null;
        CutEvent event = new CutEvent();
        event.begin();
        return event;
    }

    /** The cut's event ({@link #cutStarting()}), ended now. */
    void cutStopped(CutEvent event, long pagesCopiedBeforeWrite) {
        if (event == null || !event.shouldCommit()) return;
        event.arena = name;
        event.backend = arena.backend().id();
        event.pages = arena.pageCount();
        event.pagesCopiedBeforeWrite = pagesCopiedBeforeWrite;
        event.arenaBytes = arena.size();
        event.commit();
    }

    private void degradation(String what, long count, String detail) {
        if (!monitored() || !recorderExists()) return;
        DegradationEvent event = new DegradationEvent();
        if (!event.shouldCommit()) return;
        event.arena = name;
        event.backend = arena.backend().id();
        event.what = what;
        event.count = count;
        event.detail = detail;
        event.commit();
    }

    private void backendEvent() {
        BackendEvent event = new BackendEvent();
        event.arena = name;
        event.requested = requested;
        event.backend = arena.backend().id();
        event.reason = arena.backendReason();
        event.arenaBytes = arena.size();
        event.commit();
    }

    private void faultRateEvent() {
        TrackedArena.Stats stats = arena.stats();
        long now = System.nanoTime();
        // uffd-async cannot count its faults: each reported page took one write-protect fault.
        long faults = stats.faults() >= 0 ? stats.faults() : stats.pagesReported();
        FaultRateEvent event = new FaultRateEvent();
        event.arena = name;
        event.backend = arena.backend().id();
        event.interval = now - rateNanos;
        event.faults = faults - rateFaults;
        event.pagesReported = stats.pagesReported() - ratePages;
        double seconds = event.interval / 1e9;
        event.faultsPerSecond = seconds > 0 ? event.faults / seconds : 0;
        event.bytesReportedPerSecond = seconds > 0 ? event.pagesReported * arena.pageSize() / seconds : 0;
        event.commit();
        rateFaults = faults;
        ratePages = stats.pagesReported();
        rateNanos = now;
    }

    // ---- ArenaMXBean ----

    @Override
    public String getName() {
        return name;
    }

    @Override
    public String getBackend() {
        return arena.backend().id();
    }

    @Override
    public String getBackendReason() {
        return arena.backendReason();
    }

    @Override
    public String getDescription() {
        return arena.describe();
    }

    @Override
    public long getSize() {
        return arena.size();
    }

    @Override
    public long getPageSize() {
        return arena.pageSize();
    }

    @Override
    public boolean isArmed() {
        return arena.isArmed();
    }

    @Override
    public long getCollects() {
        return arena.stats().collects();
    }

    @Override
    public long getPagesReported() {
        return arena.stats().pagesReported();
    }

    @Override
    public long getFaults() {
        return arena.stats().faults();
    }

    @Override
    public long getDegradations() {
        return arena.degradations();
    }
}
