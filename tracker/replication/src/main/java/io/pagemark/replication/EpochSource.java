package io.pagemark.replication;

import java.lang.foreign.MemorySegment;

/**
 * Where a {@link Replicator}'s epochs come from: an arena's consistent cuts. {@link #live()} is the
 * arena's memory, read while writers run (the first part of a catch-up epoch); every page written
 * after such a read is in a later cut, which is what makes "live pages, then the next cut" consistent
 * as at that cut (docs/replication.md, "Catch-up").
 */
interface EpochSource extends AutoCloseable {

    long pageSize();

    long pageCount();

    /** The arena's memory as it is now (writers may be writing it). */
    MemorySegment live();

    /** Takes a cut: the pages written since the previous cut (or since the source opened), as they were at the cut. */
    Cut cut();

    /** Bytes this source holds for the cut in flight (its copies of pages): the primary's replication memory besides Aeron's terms. */
    long heldBytes();

    @Override
    void close();

    /**
     * One cut: its pages ascending, each readable as it was at the cut's instant until {@link #close()},
     * once, straight into where it goes ({@link #copyPage}: a record's claimed frame).
     */
    interface Cut extends AutoCloseable, RecordPublisher.PageSource {
        /** The cut's instant, nanoseconds since 1970 (for lag across processes on one host). */
        long wallNanos();

        int pageCount();

        /** The i-th page's index in the arena. */
        long page(int i);

        /** Copies page {@code page} (one of the cut's) as it was at the cut to {@code destination} at {@code offset}. */
        @Override
        void copyPage(long page, MemorySegment destination, long offset);

        @Override
        void close();
    }
}
