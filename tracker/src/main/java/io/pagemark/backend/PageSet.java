package io.pagemark.backend;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

/**
 * A mutable set of page indices of one region, into which a tracker's collect reports.
 * Adding a page twice is harmless: mechanisms may report a page more than once (PAGEMAP_SCAN
 * restarts, a page faulted by two threads). Not thread-safe: the collecting thread owns it.
 * <p>
 * While pages arrive in ascending order (PAGEMAP_SCAN's regions, a ring of sequential faults) the
 * set keeps them as runs, so that adding a run, {@link #runs()}, {@link #addAll} of another such set
 * and {@link #copyTo} a native bitmap cost O(1), O(runs), O(both sets' runs) and O(runs): a collect
 * then costs what the kernel reports, not a walk of a bitset. The first page added out of order,
 * the first removal, {@link #takeAll}, {@link #addBitmap} and an {@link #addAll} of a set already in
 * a bitset move them into a bitset, which takes any order from then until {@link #clear()}.
 */
public final class PageSet {
    private static final VarHandle SHARED_WORD = ValueLayout.JAVA_LONG.varHandle();
    private final long base;
    private final int pageShift;
    private final long pageCount;
    private final long[] words;
    /** Bounds of the words that may be non-zero, so clearing and walking cost what was added, not the region size. */
    private int lowWord = Integer.MAX_VALUE;
    private int highWord = -1;
    /** True while every page is in {@link #runs} (and every word is 0); false once they are in {@link #words}. */
    private boolean ordered = true;
    /** While ordered: sorted, disjoint, non-adjacent runs as (first page, page count) pairs in [0, runLongs). */
    private long[] runs = new long[16];
    private int runLongs;
    /** {@link #addAll}'s merge target, swapped with {@link #runs} (kept so that merging allocates only to grow). */
    private long[] mergedRuns = new long[0];

    public PageSet(long base, long pageSize, long pageCount) {
        if (Long.bitCount(pageSize) != 1) throw new IllegalArgumentException("page size must be a power of two: " + pageSize);
        if (pageCount > (long) Integer.MAX_VALUE * 64) throw new IllegalArgumentException("too many pages: " + pageCount);
        this.base = base;
        this.pageShift = Long.numberOfTrailingZeros(pageSize);
        this.pageCount = pageCount;
        this.words = new long[(int) ((pageCount + 63) >>> 6)];
    }

    public long pageCount() {
        return pageCount;
    }

    /** Adds page {@code page} (an index from 0). */
    public void add(long page) {
        checkIndex(page);
        if (ordered && appended(page, page + 1)) return;
        int w = (int) (page >>> 6);
        words[w] |= 1L << page;
        touched(w, w);
    }

    /** Adds pages [first, first + count). */
    public void addRange(long first, long count) {
        if (count <= 0) return;
        checkIndex(first);
        checkIndex(first + count - 1);
        long end = first + count;
        if (ordered && appended(first, end)) return;
        setBits(first, end);
        touched((int) (first >>> 6), (int) ((end - 1) >>> 6));
    }

    /** Sets the bits of pages [first, end) in {@link #words}. */
    private void setBits(long first, long end) {
        int firstWord = (int) (first >>> 6), lastWord = (int) ((end - 1) >>> 6);
        long firstMask = -1L << first, lastMask = -1L >>> (63 - ((end - 1) & 63));
        if (firstWord == lastWord) {
            words[firstWord] |= firstMask & lastMask;
        } else {
            words[firstWord] |= firstMask;
            Arrays.fill(words, firstWord + 1, lastWord, -1L);
            words[lastWord] |= lastMask;
        }
    }

    /** Adds every page of {@code other}, a set of the same region. */
    public void addAll(PageSet other) {
        if (other.words.length != words.length) throw new IllegalArgumentException("a set of another region (" + other.pageCount + " pages, not " + pageCount + ")");
        if (other.isEmpty()) return;
        if (ordered && other.ordered) {
            mergeRuns(other.runs, other.runLongs);
            return;
        }
        if (ordered) toBits();
        if (other.ordered) {
            for (int i = 0; i < other.runLongs; i += 2) addRange(other.runs[i], other.runs[i + 1]);
            return;
        }
        for (int w = other.lowWord; w <= other.highWord; w++) words[w] |= other.words[w];
        touched(other.lowWord, other.highWord);
    }

    /** While ordered: adds the sorted, disjoint runs {@code added}[0, {@code addedLongs}), merging the two sorted lists. */
    private void mergeRuns(long[] added, int addedLongs) {
        if (runLongs == 0) {
            if (runs.length < addedLongs) runs = new long[addedLongs];
            System.arraycopy(added, 0, runs, 0, addedLongs);
            runLongs = addedLongs;
            return;
        }
        if (mergedRuns.length < runLongs + addedLongs) mergedRuns = new long[runLongs + addedLongs];
        long[] out = mergedRuns;
        int n = 0, i = 0, j = 0;
        while (i < runLongs || j < addedLongs) {
            long first, count;
            if (j == addedLongs || (i < runLongs && runs[i] <= added[j])) {
                first = runs[i];
                count = runs[i + 1];
                i += 2;
            } else {
                first = added[j];
                count = added[j + 1];
                j += 2;
            }
            long lastEnd = n == 0 ? -1 : out[n - 2] + out[n - 1];
            if (n > 0 && first <= lastEnd) {
                if (first + count > lastEnd) out[n - 1] = first + count - out[n - 2];
            } else {
                out[n++] = first;
                out[n++] = count;
            }
        }
        mergedRuns = runs;
        runs = out;
        runLongs = n;
    }

    /** Adds every page overlapping the byte addresses [start, end) (absolute addresses inside the region). */
    public void addAddresses(long start, long end) {
        if (end <= start) return;
        long first = (start - base) >>> pageShift;
        long last = (end - 1 - base) >>> pageShift;
        addRange(first, last - first + 1);
    }

    /** Adds the page holding absolute address {@code address}. */
    public void addAddress(long address) {
        add((address - base) >>> pageShift);
    }

    /**
     * Adds [first, end) to the runs if it starts no earlier than the last run (it may overlap or touch
     * it: merged); false, with every run moved into the bitset, if it starts earlier.
     */
    private boolean appended(long first, long end) {
        if (runLongs > 0) {
            long lastFirst = runs[runLongs - 2], lastEnd = lastFirst + runs[runLongs - 1];
            if (first >= lastFirst && first <= lastEnd) {
                if (end > lastEnd) runs[runLongs - 1] = end - lastFirst;
                return true;
            }
            if (first < lastFirst) {
                toBits();
                return false;
            }
        }
        if (runLongs == runs.length) runs = Arrays.copyOf(runs, runs.length * 2);
        runs[runLongs++] = first;
        runs[runLongs++] = end - first;
        return true;
    }

    private void toBits() {
        ordered = false;
        int n = runLongs;
        runLongs = 0;
        for (int i = 0; i < n; i += 2) addRange(runs[i], runs[i + 1]);
    }

    /** Removes page {@code page}. */
    public void remove(long page) {
        checkIndex(page);
        if (ordered) toBits();
        words[(int) (page >>> 6)] &= ~(1L << page);
    }

    /**
     * Moves every page set in {@code bitmap} (one bit per page of the region, shared with native
     * producers that set bits with atomic ORs) into this set: an atomic exchange per non-zero word, so
     * a bit is taken once; a bit set after its word was read is taken next time.
     */
    public void takeAll(MemorySegment bitmap) {
        for (long offset = 0; offset < bitmap.byteSize(); offset += Long.BYTES) {
            if (bitmap.get(ValueLayout.JAVA_LONG, offset) == 0) continue;
            long bits = (long) SHARED_WORD.getAndSet(bitmap, offset, 0L);
            long base = (offset / Long.BYTES) << 6;
            while (bits != 0) {
                add(base + Long.numberOfTrailingZeros(bits));
                bits &= bits - 1;
            }
        }
    }

    public boolean contains(long page) {
        checkIndex(page);
        if (ordered) {
            int lo = 0, hi = runLongs / 2 - 1;
            while (lo <= hi) {
                int mid = (lo + hi) >>> 1;
                long first = runs[2 * mid];
                if (page < first) hi = mid - 1;
                else if (page >= first + runs[2 * mid + 1]) lo = mid + 1;
                else return true;
            }
            return false;
        }
        return (words[(int) (page >>> 6)] & (1L << page)) != 0;
    }

    public boolean isEmpty() {
        if (ordered) return runLongs == 0;
        for (int w = lowWord; w <= highWord; w++) if (words[w] != 0) return false;
        return true;
    }

    /** The pages as sorted, maximal runs: pairs (first page, page count) packed in one array. */
    public long[] runs() {
        if (ordered) return Arrays.copyOf(runs, runLongs);
        // Two passes over the words, so that the array is allocated once at its size: count the runs' starts, then fill.
        int count = 0;
        long carry = 0;   // the previous word's last bit: a run going on into this word does not start in it
        for (int w = lowWord; w <= highWord; w++) {
            long bits = words[w];
            count += Long.bitCount(bits & ~((bits << 1) | carry));
            carry = bits >>> 63;
        }
        long[] out = new long[2 * count];
        int n = 0;
        long runEnd = -1;
        for (int w = lowWord; w <= highWord; w++) {
            long bits = words[w];
            while (bits != 0) {
                int bit = Long.numberOfTrailingZeros(bits);
                long start = ((long) w << 6) + bit;
                long ones = Long.numberOfTrailingZeros(~(bits >>> bit));   // length of this run of ones inside the word
                if (bit + ones >= 64) bits = 0; else bits &= -1L << (bit + ones);
                if (start == runEnd) {
                    out[n - 1] += ones;
                } else {
                    out[n++] = start;
                    out[n++] = ones;
                }
                runEnd = start + ones;
            }
        }
        return out;
    }

    /**
     * Writes the set into {@code bitmap}, a native bitmap of the region (a long per 64 pages, page p
     * at bit p % 64 of long p / 64) that is zero where this set may hold pages; {@link #clearIn} undoes it.
     */
    public void copyTo(MemorySegment bitmap) {
        if (ordered) {
            if (runLongs == 0) return;
            // The runs set in the words (all zero while ordered), copied in one block, zeroed again: the set stays ordered.
            for (int i = 0; i < runLongs; i += 2) setBits(runs[i], runs[i] + runs[i + 1]);
            int low = firstRunWord(), high = lastRunWord();
            MemorySegment.copy(words, low, bitmap, ValueLayout.JAVA_LONG, (long) low * Long.BYTES, high - low + 1);
            Arrays.fill(words, low, high + 1, 0L);
        } else if (highWord >= lowWord) {
            MemorySegment.copy(words, lowWord, bitmap, ValueLayout.JAVA_LONG, (long) lowWord * Long.BYTES, highWord - lowWord + 1);
        }
    }

    /** Zeroes in {@code bitmap} the words {@link #copyTo} wrote (call before this set changes). */
    public void clearIn(MemorySegment bitmap) {
        if (ordered) {
            if (runLongs > 0) zeroWords(bitmap, firstRunWord(), lastRunWord());
        } else if (highWord >= lowWord) {
            zeroWords(bitmap, lowWord, highWord);
        }
    }

    /** While ordered and not empty: the words of the first and of the last page. */
    private int firstRunWord() {
        return (int) (runs[0] >>> 6);
    }

    private int lastRunWord() {
        return (int) ((runs[runLongs - 2] + runs[runLongs - 1] - 1) >>> 6);
    }

    private static void zeroWords(MemorySegment bitmap, int from, int to) {
        bitmap.asSlice((long) from * Long.BYTES, (long) (to - from + 1) * Long.BYTES).fill((byte) 0);
    }

    /** Adds every page set in {@code bitmap}, a native bitmap of the region as {@link #copyTo} writes it. */
    public void addBitmap(MemorySegment bitmap) {
        if (ordered) toBits();
        for (int w = 0; w < words.length; w++) {
            long bits = bitmap.getAtIndex(ValueLayout.JAVA_LONG, w);
            if (bits == 0) continue;
            words[w] |= bits;
            touched(w, w);
        }
    }

    /** Removes every page. */
    public void clear() {
        if (highWord >= lowWord) Arrays.fill(words, lowWord, highWord + 1, 0L);
        lowWord = Integer.MAX_VALUE;
        highWord = -1;
        ordered = true;
        runLongs = 0;
    }

    private void touched(int from, int to) {
        if (from < lowWord) lowWord = from;
        if (to > highWord) highWord = to;
    }

    private void checkIndex(long page) {
        if (page < 0 || page >= pageCount) {
            throw new IndexOutOfBoundsException("page " + page + " is outside the region's " + pageCount + " pages");
        }
    }
}
