/**
 * Live snapshots ({@link io.pagemark.snapshot.LiveSnapshot}): the arena as it was at one instant,
 * copied while writers keep running, on the backends that copy before write. A consumer of the
 * tracker API only.
 */
package io.pagemark.snapshot;
