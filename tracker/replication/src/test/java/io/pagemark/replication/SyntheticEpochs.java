package io.pagemark.replication;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * Epochs without an arena: each cut first overwrites a few random pages of an image (the "writers"),
 * then reports them. Between cuts the image does not change, so {@link #image()} is the primary's
 * state at the last cut, and a frozen source lets a test compare it with a replica's byte for byte.
 */
final class SyntheticEpochs implements EpochSource {
    private final Arena scope = Arena.ofShared();
    private final MemorySegment image;
    private final long pageSize;
    private final long pageCount;
    private final int maxPagesPerCut;
    private final SplittableRandom random;
    private volatile boolean frozen;

    SyntheticEpochs(long pageCount, int maxPagesPerCut, long seed) {
        this.pageSize = 4096;
        this.pageCount = pageCount;
        this.maxPagesPerCut = maxPagesPerCut;
        this.random = new SplittableRandom(seed);
        this.image = scope.allocate(pageCount * pageSize, pageSize);
        for (long p = 0; p < pageCount; p++) fill(p);
    }

    /** From now on cuts report nothing and change nothing. */
    void freeze() {
        frozen = true;
    }

    MemorySegment image() {
        return image;
    }

    private void fill(long page) {
        long seed = random.nextLong();
        for (long o = 0; o < pageSize; o += 8) image.set(ValueLayout.JAVA_LONG, page * pageSize + o, seed + o * 0x9E3779B97F4A7C15L);
    }

    @Override
    public long pageSize() {
        return pageSize;
    }

    @Override
    public long pageCount() {
        return pageCount;
    }

    @Override
    public MemorySegment live() {
        return image;
    }

    @Override
    public long heldBytes() {
        return 0;   // the cut's pages are the image's own
    }

    @Override
    public synchronized Cut cut() {
        TreeSet<Long> written = new TreeSet<>();
        if (!frozen) {
            int n = 1 + random.nextInt(maxPagesPerCut);
            for (int i = 0; i < n; i++) written.add(random.nextLong(pageCount));
            for (long p : written) fill(p);
        }
        long[] pages = written.stream().mapToLong(Long::longValue).toArray();
        long wallNanos = WallClock.nanos();
        return new Cut() {
            @Override public long wallNanos() { return wallNanos; }
            @Override public int pageCount() { return pages.length; }
            @Override public long page(int i) { return pages[i]; }
            @Override public void copyPage(long page, MemorySegment destination, long offset) {
                MemorySegment.copy(image, page * pageSize, destination, offset, pageSize);
            }
            @Override public void close() {}
        };
    }

    @Override
    public void close() {
        scope.close();
    }
}
