package io.pagemark;

import io.pagemark.backend.PageSet;
import io.pagemark.linux.Libc;
import io.pagemark.nativelib.FaultPaths;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * What an arena's cuts share from one cut to the next ({@link TrackedArena#copyBeforeWriteOfCut()}),
 * set up once so that a cut costs O(its pages), not O(the arena): the page states (every page
 * {@link FaultPaths#PAGE_TAKEN_BY_CALLER}, "no copy needed", between cuts; the native start sets a
 * cut's pages uncopied), the image the fault paths copy into, and the bitmap the start writes the
 * cut's pages to.
 */
final class CutState {
    private final Arena memory = Arena.ofShared();
    private final long pageSize;
    private final long pageCount;
    private final MemorySegment states;
    private final MemorySegment image;
    private final MemorySegment delta;
    /** {@link #deltaPages()}'s scratch set, kept so that a cut allocates no bitset of the arena's size. */
    private final PageSet deltaScratch;

    CutState(long pageSize, long pageCount) {
        this.pageSize = pageSize;
        this.pageCount = pageCount;
        long size = pageSize * pageCount;
        try {
            long address = Libc.mmapAnonymous(size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_NORESERVE);
            this.image = MemorySegment.ofAddress(address).reinterpret(size, memory, unused -> Libc.munmap(address, size));
            // Small pages: a fault path's first store into the image must not zero a 2 MiB huge page.
            Libc.madvise(address, size, Libc.MADV_NOHUGEPAGE, "madvise(MADV_NOHUGEPAGE)", Libc.NO_HINT);
            this.states = memory.allocate(ValueLayout.JAVA_INT, pageCount);
            for (long p = 0; p < pageCount; p++) states.setAtIndex(ValueLayout.JAVA_INT, p, FaultPaths.PAGE_TAKEN_BY_CALLER);
            this.delta = memory.allocate(ValueLayout.JAVA_LONG, (pageCount + 63) / 64);
            this.deltaScratch = new PageSet(0, pageSize, pageCount);
        } catch (RuntimeException | Error e) {
            memory.close();
            throw e;
        }
    }

    MemorySegment states() {
        return states;
    }

    MemorySegment image() {
        return image;
    }

    /** The bitmap the native start writes the cut's pages into. */
    MemorySegment delta() {
        return delta;
    }

    /** The pages of the cut just started, from {@link #delta()}. */
    DirtyPages deltaPages() {
        deltaScratch.addBitmap(delta);
        DirtyPages pages = new DirtyPages(pageSize, pageCount, deltaScratch.runs());
        deltaScratch.clear();
        return pages;
    }

    /**
     * After a cut's copying stopped (no fault path uses the states or the image any more): its pages
     * back to "no copy needed", and the image's memory given back if a fault path wrote into it.
     */
    void reset(DirtyPages cut, boolean faultPathsCopied) {
        for (PageRange r : cut) {
            for (long p = r.firstPage(); p < r.firstPage() + r.pageCount(); p++) {
                states.setAtIndex(ValueLayout.JAVA_INT, p, FaultPaths.PAGE_TAKEN_BY_CALLER);
            }
        }
        if (faultPathsCopied) {
            Libc.madvise(image.address(), image.byteSize(), Libc.MADV_DONTNEED, "madvise(MADV_DONTNEED)", Libc.NO_HINT);
        }
    }

    void free() {
        memory.close();
    }
}
