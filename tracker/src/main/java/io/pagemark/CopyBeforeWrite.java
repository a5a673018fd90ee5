package io.pagemark;

import io.pagemark.linux.Libc;
import io.pagemark.nativelib.FaultPaths;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * Copy-before-write on a {@link TrackedArena}, the building block of live snapshots
 * ({@code io.pagemark.snapshot.LiveSnapshot}): from the moment {@link TrackedArena#copyBeforeWrite}
 * returns (the <em>start</em>), the first write to each page is held in the backend's native fault
 * path until that page's bytes have been copied into the {@link #image()}, at the page's offset.
 * The image is a private anonymous mapping of the arena's size: memory is used only by the pages
 * written into it (by fault paths, or by the caller), and {@link #discard} gives it back.
 *
 * <p><b>Who saves a page.</b> Each page has one atomic state, shared with the fault path:
 * <pre>
 *   UNCOPIED --(a fault path, CAS)--&gt; COPYING --&gt; COPIED_BY_FAULT   its bytes are in the image
 *   UNCOPIED --(the caller, CAS)----&gt; TAKEN_BY_CALLER                 the caller's own copy is valid
 * </pre>
 * A fault path unprotects a page only after its state has left UNCOPIED (and COPYING), so a page
 * still UNCOPIED has been write-protected and unchanged since the start. To save a page nobody
 * wrote, copy it yourself first, then call {@link #takeUntouched}: true means the page stayed
 * UNCOPIED throughout your copy, so your copy is the page at the start; false means a write got
 * there first: {@link #awaitFaultCopy} and take the page from the image. Nobody ever waits for the
 * caller: a writer stopped in a fault while a Java thread holds something it needs would deadlock
 * the JVM at the next safepoint (docs/design.md, native rules), so the caller takes a page only after its copy.
 *
 * <pre>{@code
 * try (CopyBeforeWrite copy = arena.copyBeforeWrite()) {    // the start: every page protected
 *     MemorySegment.copy(arena.segment(), offset, mine, 0, pageSize);   // page p, read while still protected
 *     if (copy.takeUntouched(p)) { ... mine holds page p as it was at the start ... }
 *     else { copy.awaitFaultCopy(p); ... copy.image() holds it at offset ... }
 *     ... once every page is saved: copy.stop(); read copy.image() ...
 * }
 * }</pre>
 *
 * <p><b>Dirty tracking keeps working.</b> Every fault still records its page. While the arena is
 * {@linkplain TrackedArena#isArmed() armed}, pages stay protected until written (so each write is
 * recorded) and {@link #release} does nothing; otherwise {@link #release} makes saved pages writable
 * again, and {@link #close()} makes the whole arena writable.
 *
 * <p><b>Cuts.</b> {@link TrackedArena#copyBeforeWriteOfCut()} starts one for the pages written since
 * the previous cut only ({@link #cutPages()}); every other page is unchanged since that cut and needs no
 * copy (its state is never UNCOPIED). The image and the states are then the arena's, kept from cut to
 * cut, so that a cut costs O(its pages).
 *
 * <p>Backends: {@link Backend#canCopyBeforeWrite()} (uffd-sync, uffd-sigbus, mprotect). On
 * mprotect with {@code bulkPages} &gt; 1 a fault copies its whole block.
 */
public final class CopyBeforeWrite implements AutoCloseable {
    /** The page states: int, because memory-segment var handles CAS ints, not bytes. */
    private static final VarHandle STATE = ValueLayout.JAVA_INT.varHandle();

    private final TrackedArena arena;
    /** A snapshot's own image and states; null for a cut, which uses the arena's {@link CutState}. */
    private final Arena memory;
    private final CutState cutState;
    private final MemorySegment image;
    private final MemorySegment states;
    /** A cut's pages, once it started; null for a snapshot. */
    private DirtyPages cutPages;
    private final long pageSize;
    private final long pageCount;
    private final long copiedBefore;
    private long copiedAtStop = -1;
    private boolean stopped;
    private boolean closed;

    /** A snapshot's: an image and states of its own, every page uncopied. */
    CopyBeforeWrite(TrackedArena arena, long copiedBefore) {
        this.arena = arena;
        this.pageSize = arena.pageSize();
        this.pageCount = arena.pageCount();
        this.copiedBefore = copiedBefore;
        this.memory = Arena.ofShared();
        this.cutState = null;
        long size = arena.size();
        long address = Libc.mmapAnonymous(size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_NORESERVE);
        this.image = MemorySegment.ofAddress(address).reinterpret(size, memory, unused -> Libc.munmap(address, size));
        try {
            // Small pages: a fault path's first store into the image must not zero a 2 MiB huge page.
            Libc.madvise(address, size, Libc.MADV_NOHUGEPAGE, "madvise(MADV_NOHUGEPAGE)", Libc.NO_HINT);
            // Zeroed by allocate: every page UNCOPIED (FaultPaths.PAGE_UNCOPIED == 0).
            this.states = memory.allocate(ValueLayout.JAVA_INT, pageCount);
        } catch (RuntimeException | Error e) {
            memory.close();
            throw e;
        }
    }

    /** A cut's: the arena's cut state, every page but the cut's (which the start marks uncopied) needing no copy. */
    CopyBeforeWrite(TrackedArena arena, long copiedBefore, CutState cutState) {
        this.arena = arena;
        this.pageSize = arena.pageSize();
        this.pageCount = arena.pageCount();
        this.copiedBefore = copiedBefore;
        this.memory = null;
        this.cutState = cutState;
        this.image = cutState.image();
        this.states = cutState.states();
    }

    MemorySegment states() {
        return states;
    }

    /** The cut has started: its pages. */
    void tookCut(DirtyPages pages) {
        cutPages = pages;
    }

    /**
     * Unmaps the image and frees the states (a cut: resets the arena's cut state for the next cut);
     * only once no fault path uses them (copying stopped, or never started).
     */
    void free() {
        if (memory != null) {
            memory.close();
        } else if (cutPages != null) {
            cutState.reset(cutPages, pagesCopiedByFaults() > 0);
        }
    }

    /**
     * A cut's pages ({@link TrackedArena#copyBeforeWriteOfCut()}): those written since the previous
     * cut, the only ones copied before their first write; every other page's state says no copy is
     * needed, and {@link #takeUntouched} fails for it.
     *
     * @throws IllegalStateException if this is a snapshot's copy-before-write (every page is in it)
     */
    public DirtyPages cutPages() {
        if (cutState == null) throw new IllegalStateException("this copy-before-write is a snapshot's: every page is in it");
        return cutPages;
    }

    /**
     * The image: the arena's size; page p at offset {@code p * pageSize}. A page a fault path copied
     * holds the page as it was at the start once {@link #awaitFaultCopy} returned for it; the rest is
     * the caller's to fill (or zero). Valid until {@link #close()}.
     */
    public MemorySegment image() {
        return image;
    }

    /** Gives back the memory of image pages [firstPage, firstPage + pageCount), which read as zero afterwards (all must be saved). */
    public void discard(long firstPage, long pageCount) {
        checkPage(firstPage);
        if (pageCount < 0 || firstPage + pageCount > this.pageCount) {
            throw new IndexOutOfBoundsException("pages " + firstPage + "+" + pageCount + " of " + this.pageCount);
        }
        Libc.madvise(image.address() + firstPage * pageSize, pageCount * pageSize, Libc.MADV_DONTNEED,
                "madvise(MADV_DONTNEED)", Libc.NO_HINT);
    }

    /**
     * Takes page {@code page} for the caller, whose copy of it must be complete before this call.
     * Returns true if no write reached the page before this call: the caller's copy is the page as it
     * was at the start, and from now on writes to it proceed without a copy. False if a fault path
     * copies (or copied) it into the image first: {@link #awaitFaultCopy} before reading it there.
     */
    public boolean takeUntouched(long page) {
        checkPage(page);
        /*
         * A volatile CAS: its release half orders the caller's reads of the page (made before this
         * call) before it; a fault path whose own CAS then fails acquires that, so those reads
         * happened before its unprotect and before any write it lets through (copy_before_write.c, copy_block).
         */
        return STATE.compareAndSet(states, page * Integer.BYTES, FaultPaths.PAGE_UNCOPIED, FaultPaths.PAGE_TAKEN_BY_CALLER);
    }

    /**
     * After {@link #takeUntouched} returned false: waits until the fault path's copy of the page is in
     * the image. The wait is one page copy by native code that itself waits for nothing.
     */
    public void awaitFaultCopy(long page) {
        checkPage(page);
        int state;
        // Acquire: pairs with the fault path's release store of COPIED_BY_FAULT, after its memcpy into the image.
        while ((state = (int) STATE.getAcquire(states, page * Integer.BYTES)) == FaultPaths.PAGE_COPYING) {
            Thread.onSpinWait();
            Thread.yield(); // the copier may be preempted: on few CPUs, let it run
        }
        if (state != FaultPaths.PAGE_COPIED_BY_FAULT) {
            throw new IllegalStateException("page " + page + " was not copied by a fault path (state " + state + ")");
        }
    }

    /**
     * Pages saved, no longer needing the copy: makes them writable without a fault, unless the arena
     * is armed for tracking (then they stay protected so that their next write is recorded).
     * Returns whether they were made writable. Every page in the range must have left UNCOPIED.
     */
    public boolean release(long firstPage, long pageCount) {
        return arena.unprotectUntracked(firstPage, pageCount);
    }

    /** Pages copied by writers' fault paths since the start (until {@link #stop()}). */
    public synchronized long pagesCopiedByFaults() {
        return (copiedAtStop >= 0 ? copiedAtStop : arena.pagesCopiedBeforeWrite()) - copiedBefore;
    }

    /**
     * Stops copying: when this returns no fault path touches the image or the states any more, and
     * the arena is writable everywhere unless it is armed for tracking. The image stays readable
     * until {@link #close()}. Idempotent; closing the arena stops copying too.
     */
    public synchronized void stop() {
        if (stopped) return;
        stopped = true;
        arena.stopCopyBeforeWrite(this);
        copiedAtStop = arena.pagesCopiedBeforeWrite();
    }

    /** Stops copying, then unmaps the image. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            stop();
        } finally {
            free();
        }
    }

    private void checkPage(long page) {
        if (page < 0 || page >= pageCount) throw new IndexOutOfBoundsException("page " + page + " of " + pageCount);
    }
}
