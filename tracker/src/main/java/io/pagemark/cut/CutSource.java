package io.pagemark.cut;

import io.pagemark.Backend;
import io.pagemark.DirtyPages;
import io.pagemark.PageRange;
import io.pagemark.TrackedArena;
import io.pagemark.WriterPause;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Takes consistent incremental cuts of one {@link TrackedArena}: each {@link #cut()} is the pages
 * written since the previous cut (since this source opened, for the first), with their contents as
 * they were at the cut's instant, readable while writers keep writing.
 *
 * <pre>{@code
 * try (CutSource cuts = CutSource.open(arena)) {         // the baseline: later cuts hold what is written from here
 *     ... writers write ...
 *     try (Cut cut = cuts.cut()) {                       // the instant: a pause O(the cut's pages)
 *         cut.pages().forEachPage(p -> cut.copyTo(p, buffer, 0));   // each page as it was at the instant
 *     }
 * }
 * }</pre>
 *
 * <p><b>How, per backend.</b> uffd-sync, uffd-sigbus and mprotect copy before write
 * ({@link TrackedArena#copyBeforeWriteOfCut()}): at the instant the pages unprotected since the
 * previous cut (the native fault paths mark each one they unprotect) are re-protected with the fault
 * paths paused, and marked copy-before-write; every other page has been protected, hence unchanged,
 * since the previous cut. The pause is O(the cut's pages). A writer reaching a page of the cut first
 * waits for one page copy in its fault path; {@link Cut#copyTo} takes the others from the arena.
 * The other backends (uffd-async, whose faults the kernel resolves without running anything in user
 * space, soft-dirty, card-table) need a {@link WriterPause}: the writers are stopped while the cut's
 * pages are collected and copied, a pause O(the cut's pages) as well, but of copies, not of PTE writes.
 * With a writer pause on a copy-before-write backend, the writers are stopped only while the cut's
 * pages are re-protected: the instant is then also a point the application chose (no batch of writes
 * half done), the pause still O(the cut's pages), and the copying happens after it.
 *
 * <p><b>Tracking.</b> A source owns the arena's tracking: on copy-before-write backends the arena keeps
 * its pages protected between cuts (as when armed; {@link TrackedArena#disarm()} ends that, and the next
 * cut then holds every page); on the others the source arms the arena and its cuts collect it, so
 * nobody else may call {@link TrackedArena#collect()}. One cut at a time: close a cut before the next.
 * Not thread-safe: one thread takes the cuts.
 */
public final class CutSource implements AutoCloseable {
    private final TrackedArena arena;
    private final WriterPause pause;
    private final boolean copiesBeforeWrite;
    private Arena copyScope = Arena.ofShared();
    private MemorySegment copies = MemorySegment.NULL;
    private BaseCut open;
    private long cuts;
    private boolean closed;

    private CutSource(TrackedArena arena, WriterPause pause) {
        this.arena = arena;
        this.pause = pause;
        this.copiesBeforeWrite = arena.backend().canCopyBeforeWrite();
        if (!copiesBeforeWrite && pause == null) {
            throw new IllegalArgumentException("cuts of a " + arena.backend() + " arena need a WriterPause (its writers are stopped"
                    + " while a cut's pages are copied): CutSource.open(arena, pause); without one, only "
                    + Backend.copyBeforeWriteNames() + " can cut");
        }
        if (copiesBeforeWrite) {
            arena.copyBeforeWriteOfCut().close(); // the baseline: the pages written so far are no cut's
        } else if (!arena.isArmed()) {
            arena.arm();
        } else {
            arena.collect(); // the baseline
        }
    }

    /**
     * A source of cuts of {@code arena}, whose backend must copy before write (uffd-sync, uffd-sigbus,
     * mprotect); the writers are never stopped.
     *
     * @throws IllegalArgumentException if the backend cannot copy before write (then use {@link #open(TrackedArena, WriterPause)})
     */
    public static CutSource open(TrackedArena arena) {
        return new CutSource(Objects.requireNonNull(arena, "arena"), null);
    }

    /**
     * A source of cuts of {@code arena} on any backend, taken with the writers stopped by {@code pause}:
     * for as long as the cut's pages are re-protected (copy-before-write backends) or copied (the others).
     */
    public static CutSource open(TrackedArena arena, WriterPause pause) {
        return new CutSource(Objects.requireNonNull(arena, "arena"), Objects.requireNonNull(pause, "pause"));
    }

    /** True if the cuts copy before write (writers are not stopped while the pages are copied). */
    public boolean copiesBeforeWrite() {
        return copiesBeforeWrite;
    }

    /**
     * Takes a cut: the pages written since the previous cut, as they are at this instant.
     *
     * @throws IllegalStateException if this source is closed, or the previous cut is still open
     */
    public Cut cut() {
        return take(false);
    }

    /**
     * Takes a cut of every page of the arena, as it is at this instant: the start of a new chain of
     * cuts (a checkpoint's base, a replica's first copy); the next cut holds the pages written since.
     * Its pause is O(the arena): on copy-before-write backends every page is re-protected in it (as
     * {@link TrackedArena#arm()} does), on the others every page is copied in it (into memory of the
     * arena's size, which this source keeps for later cuts). On copy-before-write backends the arena
     * is {@linkplain TrackedArena#disarm() disarmed} first: writes collected by nobody are forgotten,
     * and {@link TrackedArena#collect()} needs an {@link TrackedArena#arm()} again.
     *
     * @throws IllegalStateException if this source is closed, or the previous cut is still open
     */
    public Cut fullCut() {
        return take(true);
    }

    private Cut take(boolean full) {
        if (closed) throw new IllegalStateException("this CutSource is closed");
        if (open != null) throw new IllegalStateException("cut " + open.sequence() + " is still open: close it before the next cut");
        long sequence = cuts + 1;
        // Every page writable (and marked so): the next cut holds them all (TrackedArena.disarm). Not in the pause.
        if (full && copiesBeforeWrite) arena.disarm();
        long start = System.nanoTime();
        if (pause != null) pause.stopWriters();
        BaseCut cut;
        try {
            cut = copiesBeforeWrite ? new CopyBeforeWriteCut(this, arena.segment(), arena.copyBeforeWriteOfCut(), sequence)
                    : pausedCut(sequence, full);
        } finally {
            if (pause != null) pause.resumeWriters();
        }
        cut.paused(System.nanoTime() - start);
        cuts = sequence;
        return open = cut;
    }

    void cutClosed(BaseCut cut) {
        if (open == cut) open = null;
    }

    /** With the writers stopped: collect, copy every page collected (every page, if {@code full}). */
    private BaseCut pausedCut(long sequence, boolean full) {
        DirtyPages dirty = arena.collect();
        if (full) dirty = DirtyPages.allPagesOf(arena);
        long pageSize = arena.pageSize();
        long[] order = new long[Math.toIntExact(dirty.pageCount())];
        ensureCapacity(order.length * pageSize);
        int i = 0;
        for (PageRange r : dirty) {
            MemorySegment.copy(arena.segment(), r.offset(), copies, i * pageSize, r.byteSize());
            for (long p = r.firstPage(); p < r.firstPage() + r.pageCount(); p++) order[i++] = p;
        }
        return new PausedCut(this, dirty, order, copies, sequence);
    }

    /** The copy buffer grows to the largest cut seen (it is reused: one cut is open at a time). */
    private void ensureCapacity(long bytes) {
        if (copies.byteSize() >= bytes) return;
        copyScope.close();
        copyScope = Arena.ofShared();
        copies = copyScope.allocate(Math.max(bytes, 64 * arena.pageSize()), arena.pageSize());
    }

    /**
     * Memory this source holds for the open cut: the copies of its pages (the pause's copies, or the
     * pages writers' faults copied before their writes), at most the arena's size.
     */
    public long heldBytes() {
        BaseCut cut = open;
        return cut == null ? 0 : cut.heldBytes();
    }

    /** Closes the open cut, if any; the arena stays as it is (see the class comment). Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            if (open != null) open.close();
        } finally {
            copyScope.close();
        }
    }
}
