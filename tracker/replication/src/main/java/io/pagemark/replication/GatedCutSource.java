package io.pagemark.replication;

import io.pagemark.DirtyPages;
import io.pagemark.PageRange;
import io.pagemark.TrackedArena;
import io.pagemark.WriterPause;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Cuts taken with the writers stopped at a point the application defines ({@link WriterPause}):
 * stop, collect, copy the collected pages, resume. The writers' pause is the copy of the pages
 * written since the previous cut: O(delta), never O(arena). Works on every backend, and makes every
 * cut consistent for the application too (no write of a batch half done), which the replication
 * sample uses to check every key.
 */
final class GatedCutSource implements EpochSource {
    private final TrackedArena arena;
    private final WriterPause pause;
    private final long pageSize;
    private Arena copyScope = Arena.ofShared();
    private MemorySegment copies = MemorySegment.NULL;

    GatedCutSource(TrackedArena arena, WriterPause pause) {
        this.arena = arena;
        this.pause = pause;
        this.pageSize = arena.pageSize();
        // Armed from here on: a page read by live() and written later is in a later cut.
        if (!arena.isArmed()) arena.arm();
    }

    @Override
    public long pageSize() {
        return pageSize;
    }

    @Override
    public long pageCount() {
        return arena.pageCount();
    }

    @Override
    public MemorySegment live() {
        return arena.segment();
    }

    @Override
    public long heldBytes() {
        return copies.byteSize();
    }

    @Override
    public Cut cut() {
        long[] pages;
        long wallNanos;
        pause.stopWriters();
        try {
            wallNanos = WallClock.nanos();
            DirtyPages dirty = arena.collect();
            pages = new long[Math.toIntExact(dirty.pageCount())];
            ensureCapacity(pages.length * pageSize);
            int i = 0;
            for (PageRange r : dirty.ranges()) {
                MemorySegment.copy(arena.segment(), r.offset(), copies, i * pageSize, r.byteSize());
                for (long p = r.firstPage(); p < r.firstPage() + r.pageCount(); p++) pages[i++] = p;
            }
        } finally {
            pause.resumeWriters();
        }
        return new Cut() {
            @Override
            public long wallNanos() {
                return wallNanos;
            }

            @Override
            public int pageCount() {
                return pages.length;
            }

            @Override
            public long page(int i) {
                return pages[i];
            }

            @Override
            public MemorySegment contents(int i) {
                return copies.asSlice(i * pageSize, pageSize);
            }

            @Override
            public void close() {}
        };
    }

    /** The copy buffer grows to the largest cut seen (it is reused: one cut is open at a time). */
    private void ensureCapacity(long bytes) {
        if (copies.byteSize() >= bytes) return;
        copyScope.close();
        copyScope = Arena.ofShared();
        copies = copyScope.allocate(Math.max(bytes, 64 * pageSize), pageSize);
    }

    @Override
    public void close() {
        copyScope.close();
    }
}
