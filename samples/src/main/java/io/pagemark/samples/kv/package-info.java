/**
 * The off-heap key-value store and its two demos: checkpointed and killed (KvCheckpointDemo), live
 * snapshots under load (KvSnapshotDemo). Uses the tracker's public API only.
 */
package io.pagemark.samples.kv;
