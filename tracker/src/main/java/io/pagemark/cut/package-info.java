/**
 * Consistent incremental cuts of a {@link io.pagemark.TrackedArena}: "the pages written since the
 * previous cut, with their contents exactly as they were at the cut's instant, while writers keep
 * running". What replication streams as epochs and what an incremental checkpoint of a running arena
 * needs to be consistent. {@link io.pagemark.cut.CutSource} takes them, {@link io.pagemark.cut.Cut}
 * is one (docs/cuts.md).
 */
package io.pagemark.cut;
