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
 *     copying.startCopyBeforeWrite(states, image, MemorySegment.NULL, armed);
 *     ...
 *     copying.stopCopyBeforeWrite();
 * }
 * }</pre>
 */
public interface CopiesBeforeWrite extends UnprotectsPages {
    /**
     * Switches copy-before-write on: write-protects the whole region (re-protecting only what is
     * writable: O(pages unprotected since the last re-arm)), and from then on the fault path copies
     * every page whose state in {@code states} is {@code FaultPaths.PAGE_UNCOPIED} into
     * {@code image} (same offset) before it unprotects it.
     *
     * @param states      one int per page, shared with the fault path (see copy_before_write.h): a
     *                    snapshot's all uncopied; a cut's all {@code PAGE_TAKEN_BY_CALLER}, its pages set uncopied by the call
     * @param image       as large as the region
     * @param delta       {@code MemorySegment.NULL} for a snapshot; for a cut, a native bitmap of the region (a long per 64
     *                    pages) that receives the cut's pages: those unprotected since the previous cut
     * @param keepRecords true while someone collects: faults recorded so far stay for the next
     *                    collect; false: they are dropped (as arm does), so the record ring cannot fill
     */
    void startCopyBeforeWrite(MemorySegment states, MemorySegment image, MemorySegment delta, boolean keepRecords);

    /** Switches copy-before-write off: when this returns, no fault path uses the states or the image. Idempotent. */
    void stopCopyBeforeWrite();

    /** Pages the fault path has copied before their first write, since the tracker was opened. */
    long pagesCopiedBeforeWrite();
}
