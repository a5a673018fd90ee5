package io.pagemark.backend;

import java.lang.foreign.MemorySegment;

/**
 * A tracker that can copy a page before its first write lands: its fault path runs in user space
 * before the faulting store completes (the native backends). What a live snapshot and
 * {@code TrackedArena.copyBeforeWrite()} need; the background copy also makes pages writable again
 * outside a fault, hence {@link UnprotectsPages}.
 *
 * <pre>{@code
 * if (tracker instanceof CopiesBeforeWrite copying) {
 *     copying.startCopyBeforeWrite(states, image, armed);
 *     ...
 *     copying.stopCopyBeforeWrite();
 * }
 * }</pre>
 */
public interface CopiesBeforeWrite extends UnprotectsPages {
    /**
     * Switches copy-before-write on: write-protects the whole region, and from then on the fault path
     * copies every page whose state in {@code states} is {@code FaultPaths.PAGE_UNCOPIED} into
     * {@code image} (same offset) before it unprotects it.
     *
     * @param states      one int per page, all uncopied, shared with the fault path (see copy_before_write.h)
     * @param image       as large as the region
     * @param keepRecords true while someone collects: faults recorded so far stay for the next
     *                    collect; false: they are dropped (as arm does), so the record ring cannot fill
     */
    void startCopyBeforeWrite(MemorySegment states, MemorySegment image, boolean keepRecords);

    /** Switches copy-before-write off: when this returns, no fault path uses the states or the image. Idempotent. */
    void stopCopyBeforeWrite();

    /** Pages the fault path has copied before their first write, since the tracker was opened. */
    long pagesCopiedBeforeWrite();
}
