package io.pagemark.replication;

/**
 * A {@link Replica}'s counters over JMX, as {@code io.pagemark:type=Replica,stream=<stream id>}.
 *
 * <pre>{@code
 * ReplicaMXBean bean = JMX.newMXBeanProxy(ManagementFactory.getPlatformMBeanServer(),
 *         new ObjectName("io.pagemark:type=Replica,stream=1001"), ReplicaMXBean.class);
 * long applied = bean.getEpoch();
 * }</pre>
 */
public interface ReplicaMXBean {
    long getEpoch();

    long getEpochsApplied();

    long getPagesApplied();

    long getEpochsRejected();

    long getLagEpochs();

    long getLastLagMicros();

    String getLastRejection();
}
