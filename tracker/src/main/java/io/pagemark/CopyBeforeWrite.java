package io.pagemark;

import io.pagemark.nativelib.FaultPaths;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * Copy-before-write on a {@link TrackedArena}, the building block of live snapshots
 * ({@code io.pagemark.snapshot.LiveSnapshot}): from the moment {@link TrackedArena#copyBeforeWrite}
 * returns (the <em>start</em>), the first write to each page is held in the backend's native fault
 * path until that page's bytes have been copied into the caller's image, at the page's offset.
 *
 * <p><b>Who saves a page.</b> Each page has one atomic state, shared with the fault path:
 * <pre>
 *   UNCOPIED --(a fault path, CAS)--&gt; COPYING --&gt; COPIED_BY_FAULT   its bytes are in the image
 *   UNCOPIED --(the caller, CAS)----&gt; TAKEN_BY_CALLER                 the caller's own copy is valid
 * </pre>
 * A fault path unprotects a page only after its state has left UNCOPIED (and COPYING), so a page
 * still UNCOPIED has been write-protected and unchanged since the start. To save a page nobody
 * wrote, copy it yourself first, then call {@link #claimUntouched}: true means the page stayed
 * UNCOPIED throughout your copy, so your copy is the page at the start; false means a write got
 * there first: {@link #awaitFaultCopy} and take the page from the image. Nobody ever waits for the
 * caller: a writer stopped in a fault while a Java thread holds something it needs would deadlock
 * the JVM at the next safepoint (DESIGN.md, native rules), so the caller claims only after its copy.
 *
 * <p><b>Dirty tracking keeps working.</b> Every fault still records its page. While the arena is
 * {@linkplain TrackedArena#isArmed() armed}, pages stay protected until written (so each write is
 * recorded) and {@link #release} does nothing; otherwise {@link #release} makes saved pages writable
 * again, and {@link #close()} makes the whole arena writable.
 *
 * <p>Backends: {@link Backend#canCopyBeforeWrite()} (uffd-sync, uffd-sigbus, mprotect). On
 * mprotect with {@code bulkPages} &gt; 1 a fault copies its whole block.
 */
public final class CopyBeforeWrite implements AutoCloseable {
    /** The page states: int, because memory-segment var handles CAS ints, not bytes. */
    private static final VarHandle STATE = ValueLayout.JAVA_INT.varHandle();

    private final TrackedArena arena;
    private final MemorySegment image;
    private final Arena statesScope = Arena.ofShared();
    private final MemorySegment states;
    private final long pageCount;
    private final long copiedBefore;
    private long copiedAtClose = -1;
    private boolean closed;

    CopyBeforeWrite(TrackedArena arena, MemorySegment image, long copiedBefore) {
        this.arena = arena;
        this.image = image;
        this.pageCount = arena.pageCount();
        // Zeroed by allocate: every page UNCOPIED (FaultPaths.PAGE_UNCOPIED == 0).
        this.states = statesScope.allocate(ValueLayout.JAVA_INT, pageCount);
        this.copiedBefore = copiedBefore;
    }

    MemorySegment states() {
        return states;
    }

    /** Frees the states; only once no fault path uses them (copying stopped, or never started). */
    void free() {
        statesScope.close();
    }

    /** The image the fault paths copy into. */
    public MemorySegment image() {
        return image;
    }

    /**
     * Takes page {@code page} for the caller, whose copy of it must be complete before this call.
     * Returns true if no write reached the page before this call: the caller's copy is the page as it
     * was at the start, and from now on writes to it proceed without a copy. False if a fault path
     * copies (or copied) it into the image first: {@link #awaitFaultCopy} before reading it there.
     */
    public boolean claimUntouched(long page) {
        checkPage(page);
        /*
         * A volatile CAS: its release half orders the caller's reads of the page (made before this
         * call) before it; a fault path whose own CAS then fails acquires that, so those reads
         * happened before its unprotect and before any write it lets through (pagemark.h, copy_block).
         */
        return STATE.compareAndSet(states, page * Integer.BYTES, FaultPaths.PAGE_UNCOPIED, FaultPaths.PAGE_TAKEN_BY_CALLER);
    }

    /**
     * After {@link #claimUntouched} returned false: waits until the fault path's copy of the page is in
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

    /** Pages copied by writers' fault paths since the start (the extra memory a snapshot needs beyond its target). */
    public long pagesCopiedByFaults() {
        return (copiedAtClose >= 0 ? copiedAtClose : arena.pagesCopiedBeforeWrite()) - copiedBefore;
    }

    /**
     * Stops copying: when this returns no fault path touches the image. The arena becomes writable
     * everywhere unless it is armed for tracking. Idempotent; a closed arena has stopped copying already.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        try {
            copiedAtClose = arena.pagesCopiedBeforeWrite();
            arena.stopCopyBeforeWrite(this);
        } finally {
            free();
        }
    }

    private void checkPage(long page) {
        if (page < 0 || page >= pageCount) throw new IndexOutOfBoundsException("page " + page + " of " + pageCount);
    }
}
