package io.pagemark.cut;

import io.pagemark.DirtyPages;

import java.lang.foreign.MemorySegment;

/**
 * One cut ({@link CutSource#cut()}): the pages written since the previous cut ({@link #pages()}),
 * each readable as it was at the cut's instant with {@link #copyTo}, once per page, in any order,
 * while writers keep writing. Close it when done: until then writers still copy a page of the cut
 * before their first write to it (the synchronous backends), and the next cut cannot start.
 */
public sealed interface Cut extends AutoCloseable permits BaseCut {

    /** 1 for the first cut of its source, then 2, 3, ... */
    long sequence();

    /** The pages written since the previous cut (since the source opened, for the first). */
    DirtyPages pages();

    /**
     * How long the cut held the writers: the native pause in which the cut's pages were re-protected
     * (copy-before-write), or the writer pause in which they were copied (uffd-async and the others),
     * including the {@link io.pagemark.WriterPause} when the source has one.
     */
    long pauseNanos();

    /**
     * Copies page {@code page} of the arena, as it was at the cut's instant, to {@code destination}
     * at {@code offset} (one page). Each page of the cut may be read once.
     *
     * @throws IllegalArgumentException if the page is not in the cut, or has been read already
     * @throws IllegalStateException    if the cut is closed
     */
    void copyTo(long page, MemorySegment destination, long offset);

    /** Ends the cut: writers copy nothing for it any more; its pages not read are not readable. Idempotent. */
    @Override
    void close();
}
