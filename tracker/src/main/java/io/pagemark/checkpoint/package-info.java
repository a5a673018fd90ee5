/**
 * Incremental checkpoints of a tracked arena: a base image and a chain of deltas of the pages each
 * collect reported, written crash-safely ({@link io.pagemark.checkpoint.Checkpointer}), restored into
 * a new arena, compacted. A consumer of the tracker API only.
 */
package io.pagemark.checkpoint;
