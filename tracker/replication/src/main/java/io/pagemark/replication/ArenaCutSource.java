package io.pagemark.replication;

import io.pagemark.PageRange;
import io.pagemark.TrackedArena;
import io.pagemark.WriterPause;
import io.pagemark.cut.CutSource;

import java.lang.foreign.MemorySegment;

/**
 * Epochs from the arena's consistent cuts ({@link CutSource}), taken with the writers stopped at a
 * point the application defines ({@link WriterPause}), so that every cut is consistent for the
 * application too (no write of a batch half done), which the replication sample uses to check every
 * key. On uffd-sync, uffd-sigbus and mprotect the writers are stopped only while the pages written
 * since the previous cut are re-protected, and the pages are copied afterwards, while they run
 * (copy-before-write); on the other backends they are stopped while those pages are copied. Either
 * way the pause is O(delta), never O(arena).
 */
final class ArenaCutSource implements EpochSource {
    private final TrackedArena arena;
    private final CutSource cuts;
    private final long pageSize;

    ArenaCutSource(TrackedArena arena, WriterPause pause) {
        this.arena = arena;
        this.pageSize = arena.pageSize();
        // From here on every page written is in a later cut: a page read by live() and written later is too.
        this.cuts = CutSource.open(arena, pause);
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
        return cuts.heldBytes();
    }

    @Override
    public Cut cut() {
        long wallNanos = WallClock.nanos();
        io.pagemark.cut.Cut cut = cuts.cut();
        long[] pages = new long[Math.toIntExact(cut.pages().pageCount())];
        int n = 0;
        for (PageRange r : cut.pages()) for (long p = r.firstPage(); p < r.firstPage() + r.pageCount(); p++) pages[n++] = p;
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
            public void copyPage(long page, MemorySegment destination, long offset) {
                cut.copyTo(page, destination, offset);
            }

            @Override
            public void close() {
                cut.close();
            }
        };
    }

    @Override
    public void close() {
        cuts.close();
    }
}
