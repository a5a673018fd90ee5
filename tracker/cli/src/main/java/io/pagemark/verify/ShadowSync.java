package io.pagemark.verify;

import io.pagemark.DirtyPages;
import io.pagemark.PageRange;
import io.pagemark.TrackedArena;

import java.lang.foreign.MemorySegment;

/**
 * How the oracle's collector brings its shadow copy up to date: collect, then copy what was
 * reported. {@link #CORRECT} is docs/design.md's order (re-protect, then read the contents); tests supply
 * broken orders to prove the oracle catches them.
 */
@FunctionalInterface
public interface ShadowSync {

    /** Collects from {@code arena} and copies the reported pages into {@code shadow}; returns what was reported. */
    DirtyPages collectInto(TrackedArena arena, MemorySegment shadow);

    /** Collect (which re-arms the reported pages), then copy their contents. */
    ShadowSync CORRECT = (arena, shadow) -> {
        DirtyPages dirty = arena.collect();
        copyPages(dirty, arena.segment(), shadow);
        return dirty;
    };

    /** Copies the pages of {@code dirty} from {@code from} to {@code to} (same offsets). */
    static void copyPages(DirtyPages dirty, MemorySegment from, MemorySegment to) {
        for (PageRange r : dirty.ranges()) MemorySegment.copy(from, r.offset(), to, r.offset(), r.byteSize());
    }
}
