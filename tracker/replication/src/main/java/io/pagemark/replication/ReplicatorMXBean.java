package io.pagemark.replication;

/**
 * A {@link Replicator}'s counters over JMX, as {@code io.pagemark:type=Replicator,stream=<stream id>}.
 *
 * <pre>{@code
 * ReplicatorMXBean bean = JMX.newMXBeanProxy(ManagementFactory.getPlatformMBeanServer(),
 *         new ObjectName("io.pagemark:type=Replicator,stream=1001"), ReplicatorMXBean.class);
 * long behind = bean.getLagEpochs();
 * }</pre>
 */
public interface ReplicatorMXBean {
    long getEpochsPublished();

    long getPagesPublished();

    long getBytesPublished();

    long getFullEpochs();

    long getCatchUpEpochs();

    long getBackPressuredOffers();

    long getReplicasDropped();

    long getAckedEpoch();

    long getLagEpochs();
}
