package io.pagemark;

/**
 * The JMX view of one open {@link TrackedArena}, registered in the platform MBean server as
 * {@code io.pagemark:type=Arena,name=<name>} when the arena opens and unregistered when it closes
 * (the name is the builder's {@link TrackedArena.Builder#name}, made unique with a {@code -2},
 * {@code -3}, ... suffix when taken).
 *
 * <pre>{@code
 * MBeanServer server = ManagementFactory.getPlatformMBeanServer();
 * ObjectName name = new ObjectName("io.pagemark:type=Arena,name=heap");
 * long collects = (Long) server.getAttribute(name, "Collects");
 * }</pre>
 */
public interface ArenaMXBean {
    /** The arena's name, as in its ObjectName. */
    String getName();

    /** The backend in use. */
    String getBackend();

    /** Why this backend: "requested" or what auto found. */
    String getBackendReason();

    /** How the backend was set up and what it went through (features used, fallbacks taken). */
    String getDescription();

    /** Size in bytes. */
    long getSize();

    long getPageSize();

    /** True while armed. */
    boolean isArmed();

    /** Collects since the arena opened. */
    long getCollects();

    /** Pages reported by those collects. */
    long getPagesReported();

    /** Write faults taken, or -1 where the backend cannot count them (uffd-async). */
    long getFaults();

    /** Times the fault path took a slower or coarser way (the ring found full, mprotect's blocks raised). */
    long getDegradations();
}
