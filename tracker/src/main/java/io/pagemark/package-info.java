/**
 * The tracker API: {@link io.pagemark.TrackedArena} (a managed off-heap arena whose writes the MMU
 * reports), {@link io.pagemark.Backend} (the table of the backends and their traits),
 * {@link io.pagemark.Capabilities} (what this kernel offers), {@link io.pagemark.DirtyPages},
 * {@link io.pagemark.CopyBeforeWrite} and the writer pause a soft-dirty arena needs.
 *
 * <pre>{@code
 * try (TrackedArena arena = TrackedArena.builder().size(64 << 20).open()) {
 *     arena.arm();
 *     arena.segment().set(ValueLayout.JAVA_LONG, 4096, 1L);
 *     for (PageRange r : arena.collect().ranges()) { ... }
 * }
 * }</pre>
 */
package io.pagemark;
