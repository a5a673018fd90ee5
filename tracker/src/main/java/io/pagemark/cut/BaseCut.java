package io.pagemark.cut;

import io.pagemark.DirtyPages;

import java.lang.foreign.MemorySegment;
import java.util.BitSet;

/** What both kinds of cut share: the bookkeeping of {@link Cut}'s contract (each page read once, nothing after close). */
abstract sealed class BaseCut implements Cut permits CopyBeforeWriteCut, PausedCut {
    private final CutSource source;
    private final DirtyPages pages;
    private final long sequence;
    private final long pageSize;
    private final BitSet read = new BitSet();
    private long pauseNanos;
    private boolean closed;

    BaseCut(CutSource source, DirtyPages pages, long sequence) {
        this.source = source;
        this.pages = pages;
        this.sequence = sequence;
        this.pageSize = pages.pageSize();
    }

    /** Copies page {@code page} (in the cut, not read before) as at the instant. */
    abstract void read(long page, MemorySegment destination, long offset);

    /** Bytes of page copies this cut holds. */
    abstract long heldBytes();

    /** Ends the cut's hold on the arena (once). */
    abstract void release();

    final long pageSize() {
        return pageSize;
    }

    final void paused(long nanos) {
        pauseNanos = nanos;
    }

    @Override
    public final long sequence() {
        return sequence;
    }

    @Override
    public final DirtyPages pages() {
        return pages;
    }

    @Override
    public final long pauseNanos() {
        return pauseNanos;
    }

    @Override
    public final synchronized void copyTo(long page, MemorySegment destination, long offset) {
        if (closed) throw new IllegalStateException("cut " + sequence + " is closed");
        if (page < 0 || !pages.contains(page)) throw new IllegalArgumentException("page " + page + " is not in cut " + sequence);
        int bit = Math.toIntExact(page);
        if (read.get(bit)) throw new IllegalArgumentException("page " + page + " of cut " + sequence + " was read already");
        read(page, destination, offset);
        read.set(bit);
    }

    @Override
    public final synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            release();
        } finally {
            source.cutClosed(this);
        }
    }

    @Override
    public String toString() {
        return "Cut[" + sequence + ", " + pages.pageCount() + " pages" + (closed ? ", closed" : "") + "]";
    }
}
