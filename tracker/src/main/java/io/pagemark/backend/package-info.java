/**
 * The backends: one {@link io.pagemark.backend.PageTracker} per tracking mechanism (uffd-async,
 * uffd-sync, uffd-sigbus, mprotect, soft-dirty, card-table), and what they share (the fault ring,
 * page sets, the userfaultfd registration). Internal: the public API is {@code io.pagemark}, whose
 * {@code Backend} enum is the table that names, probes and opens each tracker.
 * <p>
 * <b>Abilities are types.</b> {@link io.pagemark.backend.PageTracker} holds what every tracker does
 * (arm, collect, close, ...). What only some trackers can do is an interface of its own that extends
 * it, which a tracker implements when it can and a caller tests with {@code instanceof}:
 * {@link io.pagemark.backend.CopiesBeforeWrite} (copy a page before its first write lands),
 * {@link io.pagemark.backend.UnprotectsPages} (make pages writable outside a fault),
 * {@link io.pagemark.backend.MarkedByWriteApi} (sees only the writes of the arena's write API). To add
 * one: a new interface {@code extends PageTracker} here, named for what the tracker does, with an
 * example in its javadoc; the trackers that can implement it; the caller asks
 * {@code tracker instanceof TheAbility a}. Where the public API must know before an arena opens
 * (the test matrix, a sample choosing a backend), add a {@code Backend.Trait} read off the tracker's
 * type in {@code Backend}'s constructor, as COPY_BEFORE_WRITE is.
 * <p>
 * <b>Adding a backend</b>: its tracker here (with a static {@code open(MappedRegion, TrackerOptions)}
 * and {@code unusableReason()}), its entry in {@code io.pagemark.Backend}, and for a native fault
 * path its C file in {@code tracker/src/main/c} registering a {@code struct backend} with
 * {@code PM_BACKEND} under the name its tracker passes to {@link io.pagemark.backend.NativeFaultTracker}.
 * The test matrix ({@code @BackendsWith}) picks it up by its traits.
 */
package io.pagemark.backend;
