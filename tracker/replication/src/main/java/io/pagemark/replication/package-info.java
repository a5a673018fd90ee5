/**
 * Replication of a {@link io.pagemark.TrackedArena} to a hot standby over Aeron:
 * {@link io.pagemark.replication.Replicator} (the primary: an epoch per consistent cut),
 * {@link io.pagemark.replication.Replica} (applies complete epochs only; failover by promotion),
 * {@link io.pagemark.replication.AeronTransport} (an embedded or external media driver),
 * {@link io.pagemark.replication.ArenaDigest} (the digest every epoch carries). docs/replication.md
 * describes the records, the orderings and the tests. Live migration on the same records:
 * {@link io.pagemark.replication.Migration} (iterative pre-copy, then the switch) and
 * {@link io.pagemark.replication.MigrationDestination} (docs/migration.md).
 *
 * <pre>{@code
 * try (AeronTransport transport = AeronTransport.embedded();
 *      Replicator primary = Replicator.builder().arena(arena).writerPause(gate).transport(transport).start();
 *      Replica standby = Replica.builder().transport(transport).start()) {
 *     standby.awaitEpoch(1, Duration.ofSeconds(10));
 * }
 * }</pre>
 */
package io.pagemark.replication;
