package io.pagemark;

import io.pagemark.backend.ArenaCardTable;
import io.pagemark.backend.CopiesBeforeWrite;
import io.pagemark.backend.FaultRing;
import io.pagemark.backend.MappedRegion;
import io.pagemark.backend.MarkedByWriteApi;
import io.pagemark.backend.PageSet;
import io.pagemark.backend.PageTracker;
import io.pagemark.backend.TrackerOptions;
import io.pagemark.events.CollectEvent;
import io.pagemark.events.CutEvent;
import io.pagemark.linux.Libc;
import io.pagemark.linux.Smaps;

import javax.management.ObjectName;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.util.Objects;
import java.util.function.Function;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Off-heap memory with a hardware write barrier: an anonymous private mapping whose written pages
 * are reported by {@link #collect()}.
 *
 * <pre>{@code
 * try (TrackedArena arena = TrackedArena.builder().size(256L << 20).open()) {   // backend: auto
 *     MemorySegment mem = arena.segment();
 *     arena.arm();                                        // every page clean and write-protected
 *     mem.set(ValueLayout.JAVA_LONG, 4096 * 7, 42L);      // the MMU notices the first write to page 7
 *     arena.putLong(4096 * 9, 43L);                       // the write API: the same, and card-marked on card-table
 *     DirtyPages dirty = arena.collect();                 // pages 7 and 9; both re-armed
 * }
 * }</pre>
 *
 * <p><b>Threads.</b> Writers may run on any threads; {@link #arm()} and {@link #collect()} may be
 * called from any thread, one at a time (they serialize on a lock). {@link #close()} may be called
 * while writers run: afterwards their accesses through {@link #segment()} and the write API throw
 * {@link IllegalStateException}.
 *
 * <p><b>The guarantee.</b> Every write to the arena that happens before {@code collect()} returns is
 * reported by that collect or a later one; a page may be reported when nothing changed in it, never
 * missed. Read a reported page's contents after {@code collect()} returns.
 *
 * <p><b>Which writes count.</b> On hardware backends every store counts: {@link #segment()},
 * the write API, and the kernel's copies through the page tables (read(2) through the page cache
 * into the memory) where {@link #handlesKernelCopies()} says so. On {@link Backend#CARD_TABLE} only
 * the write API ({@link #putLong} and friends) is seen; it costs one extra branch on the others.
 *
 * <p><b>Writes through pinned pages</b> (O_DIRECT, io_uring registered or fixed buffers, RDMA, a
 * device's DMA) are seen by no backend: the kernel pins the page once, and a collect that
 * re-protects it while the I/O is in flight never hears of the write that lands later through the
 * pin. Make them through {@link #read}, inside a {@link #kernelWrite} scope, or report them with
 * {@link #written} after completion: then they are exact on every backend (docs/pinned-writes.md).
 * <b>Raw O_DIRECT or io_uring into the arena outside these is unsupported</b>: its writes are lost,
 * or fail with EFAULT.
 */
public final class TrackedArena implements AutoCloseable {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    /** Page-aligned ints, for the atomic add of zero that makes a page writable ({@link #makeWritable}). */
    private static final VarHandle ATOMIC_INT = ValueLayout.JAVA_INT.varHandle();

    private final Backend backend;
    private final String backendReason;
    private final MappedRegion region;
    /** Whether the mapping was advised MADV_HUGEPAGE ({@link Builder#transparentHugePages}). */
    private boolean hugePages;
    private final Arena scope;
    private final MemorySegment segment;
    private final PageTracker tracker;
    /** Non-null only on card-table: the write API marks it. */
    private final ArenaCardTable cards;
    /** The tracker as one that copies before write, or null where it cannot. */
    private final CopiesBeforeWrite copier;
    private final PageSet pending;
    /** Kernel writes through the API: in flight, and reported after completion. */
    private final KernelWrites kernelWrites;
    private final InFlightWrites inFlightWrites;
    /** Whether a kernel write must be preceded by user-mode writes: the kernel's own faults fail (EFAULT) here. */
    private final boolean prefaultKernelWrites;
    /** Test-only, the teeth of the pinned-write tests: COLLECT_WAITS collects run without waiting for kernel writes. */
    volatile boolean collectIgnoresKernelWritesForTest;
    /** Pages {@link #discard} emptied since the last collect (guarded by itself: discard does not take the arena's lock). */
    private final PageSet discarded;
    /** Non-null only when the backend needs stopped writers to collect ({@link Backend#needsWriterPause()}). */
    private final WriterPause writerPause;
    private final ReentrantLock lock = new ReentrantLock();
    private volatile boolean armed;
    private volatile boolean closed;
    /** Set once close() has unmapped the memory (close() may have to be called again: see there). */
    private boolean unmapped;
    /** The copy-before-write running now, or null (written under the lock; volatile for {@link #discard}). */
    private volatile CopyBeforeWrite copying;
    /** The cuts' page states and image, from the first {@link #copyBeforeWriteOfCut()} until close; null before. */
    private CutState cutState;
    /** True from a {@link #copyBeforeWriteOfCut()} until {@link #disarm()}: pages stay protected between cuts, as when armed (volatile for {@link #discard}). */
    private volatile boolean cutting;
    /**
     * True from a {@link #collectAndStop()} until the next {@link #disarm()}, {@link #arm()} or close
     * (under the lock): tracking has stopped, but the pages nobody wrote are still protected.
     */
    private boolean protectionsLeft;
    /** The running copy-before-write's JFR event, begun when it started, and the pages copied before write then. */
    private CutEvent cutEvent;
    private long cutCopiedAtStart;
    /** The MBean and the JFR events; set right after construction (it reads the arena). */
    private ArenaMonitoring monitoring;
    private long collects;
    private long pagesReported;

    private TrackedArena(Backend backend, String backendReason, MappedRegion region, Arena scope, PageTracker tracker,
                         WriterPause writerPause, InFlightWrites inFlightWrites) {
        this.backend = backend;
        this.backendReason = backendReason;
        this.region = region;
        this.scope = scope;
        this.segment = region.memory();
        this.tracker = tracker;
        this.cards = tracker instanceof MarkedByWriteApi marked ? marked.cards() : null;
        this.copier = tracker instanceof CopiesBeforeWrite c ? c : null;
        this.pending = new PageSet(region.address(), region.pageSize(), region.pageCount());
        this.discarded = new PageSet(region.address(), region.pageSize(), region.pageCount());
        this.writerPause = backend.needsWriterPause() ? writerPause : null;
        this.kernelWrites = new KernelWrites(region.pageSize());
        this.prefaultKernelWrites = !tracker.resolvesKernelFaults();
        this.inFlightWrites = inFlightWrites;
    }

    /** Maps {@code size} bytes and opens the tracker {@code opener} makes for them, named arena-N, as requested. */
    static TrackedArena map(Backend backend, String backendReason, long size, boolean hugePages,
                            Function<MappedRegion, PageTracker> opener, WriterPause writerPause) {
        return map(backend, backendReason, size, hugePages, opener, writerPause, null, true, backend, null, null);
    }

    /**
     * Maps {@code size} bytes and opens the tracker {@code opener} makes for them (the builder passes
     * the registry's); registers its MBean as {@code name} (null: arena-N), unless not {@code monitored}. {@code autoFallback}: why
     * auto did not get its first choice, or null. {@code inFlightWrites} null takes the tracker's
     * default ({@link InFlightWrites#defaultFor}).
     */
    static TrackedArena map(Backend backend, String backendReason, long size, boolean hugePages,
                            Function<MappedRegion, PageTracker> opener, WriterPause writerPause,
                            String name, boolean monitored, Backend requested, String autoFallback, InFlightWrites inFlightWrites) {
        long address = Libc.mmapAnonymous(size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_NORESERVE);
        // The segment belongs to a shared arena whose close unmaps: accesses after close() throw instead of faulting.
        Arena scope = Arena.ofShared();
        MemorySegment memory = MemorySegment.ofAddress(address).reinterpret(size, scope, unused -> Libc.munmap(address, size));
        try {
            Libc.madvise(address, size, hugePages ? Libc.MADV_HUGEPAGE : Libc.MADV_NOHUGEPAGE,
                    hugePages ? "madvise(MADV_HUGEPAGE)" : "madvise(MADV_NOHUGEPAGE)", Libc.NO_HINT);
            MappedRegion region = new MappedRegion(address, size, Libc.pageSize(), memory);
            PageTracker tracker = opener.apply(region);
            TrackedArena arena;
            try {
                InFlightWrites mode = InFlightWrites.check(inFlightWrites, tracker, backend);
                arena = new TrackedArena(backend, backendReason, region, scope, tracker, writerPause, mode);
                arena.hugePages = hugePages;
            } catch (RuntimeException e) {
                tracker.close();
                throw e;
            }
            try {
                arena.monitoring = monitored ? ArenaMonitoring.open(arena, name, requested, autoFallback)
                        : ArenaMonitoring.unmonitored(arena, requested);
            } catch (RuntimeException e) {
                arena.close();
                throw e;
            }
            return arena;
        } catch (RuntimeException e) {
            scope.close();
            throw e;
        }
    }

    /** Starts a builder: {@code TrackedArena.builder().size(bytes).backend("uffd-async").open()}. */
    public static Builder builder() {
        return new Builder();
    }

    /** An arena of {@code size} bytes on the best backend here ({@link Backend#AUTO}). */
    public static TrackedArena open(long size) {
        return builder().size(size).open();
    }

    /** The arena's memory. On card-table, stores made directly to it are not tracked: use the write API. */
    public MemorySegment segment() {
        return segment;
    }

    /** The backend in use (never {@link Backend#AUTO}: auto is resolved when the arena opens). */
    public Backend backend() {
        return backend;
    }

    /** Why this backend: "requested" or what auto found. */
    public String backendReason() {
        return backendReason;
    }

    /**
     * How the backend was set up (features used, fallbacks taken), then which kernel writes it sees
     * ({@link #describeKernelWrites()}: writes through pinned pages, raw O_DIRECT, io_uring, RDMA, are
     * unsupported outside {@link #read}, {@link #kernelWrite} and {@link #written}), and last how it
     * sees discards ({@link Backend#discards()}).
     */
    public String describe() {
        return tracker.describe() + "; " + describeHugePages() + "; " + describeKernelWrites() + "; " + backend.discards();
    }

    /**
     * Whether the arena is backed by transparent huge pages now, from the kernel's AnonHugePages of its
     * mapping (/proc/self/smaps): "transparent huge pages: 1024 of 1024 MiB now" (a huge page with its
     * PMD intact is armed and cut as one entry; the first tracked write to one splits it into 4 KiB
     * pages, docs/cuts.md), or that it was not asked for them.
     */
    public String describeHugePages() {
        if (!hugePages) return "transparent huge pages: not asked for (MADV_NOHUGEPAGE)";
        long bytes = closed ? 0 : Smaps.anonHugePageBytes(region.address(), region.end());
        return "transparent huge pages: " + (bytes >> 20) + " of " + (region.size() >> 20) + " MiB now (AnonHugePages)";
    }

    /**
     * Which kernel writes this arena sees outside the API, and how those through it are treated in
     * flight: the tail of {@link #describe()}, and the probe's line for the backend.
     */
    public String describeKernelWrites() {
        return "kernel copies (read(2) through the page cache) outside the API: "
                + (handlesKernelCopies() ? "seen" : cards != null ? "not seen" : "fail with EFAULT on protected pages")
                + "; writes through pinned pages (O_DIRECT, io_uring, RDMA) outside read/kernelWrite/written: unsupported (lost"
                + (prefaultKernelWrites ? " or EFAULT" : "") + "); in flight through them: " + inFlightWrites.id;
    }

    /**
     * Whether the kernel's copies through the page tables into the armed arena made outside the write
     * API (read(2) through the page cache into {@link #segment()}, any copy_to_user) succeed and are
     * reported: true on uffd-async, uffd-sync and soft-dirty. False on mprotect, uffd-sigbus and a
     * user-mode-only userfaultfd, where such a write into a protected page fails with EFAULT, or stops
     * short at the first protected page; and on card-table, which sees the write API only.
     * <p>
     * It says nothing about writes through pinned pages (O_DIRECT, io_uring, RDMA): no backend sees
     * those, on any backend they need {@link #read}, {@link #kernelWrite} or {@link #written}. Through
     * {@link #read}, a kernel copy is exact on every backend too.
     */
    public boolean handlesKernelCopies() {
        return cards == null && tracker.resolvesKernelFaults();
    }

    /** How a collect treats kernel writes in flight through the API (the builder's {@link Builder#inFlightWrites}). */
    public InFlightWrites inFlightWrites() {
        return inFlightWrites;
    }

    /** Size in bytes (the requested size rounded up to whole pages). */
    public long size() {
        return region.size();
    }

    public long pageSize() {
        return region.pageSize();
    }

    public long pageCount() {
        return region.pageCount();
    }

    /**
     * The arena's MBean's name: {@code io.pagemark:type=Arena,name=...} ({@link ArenaMXBean}), unregistered on close;
     * null for an arena built {@linkplain Builder#monitored(boolean) unmonitored}.
     */
    public ObjectName objectName() {
        return monitoring.objectName();
    }

    /** Times the fault path took a slower or coarser way (the ring found full, mprotect's blocks raised). */
    long degradations() {
        return tracker.degradations();
    }

    /** True after {@link #arm()}, until {@link #disarm()} or {@link #close()}. */
    public boolean isArmed() {
        return armed;
    }

    /**
     * Starts tracking: every page becomes clean and write-protected, so the next write to each is
     * caught. Calling it again restarts: writes not yet collected are forgotten.
     */
    public void arm() {
        // No kernel write in flight while arming: one that began before would be half forgotten.
        kernelWrites.exclusive(() -> {
            lock.lock();
            try {
                ensureOpen();
                pending.clear();
                kernelWrites.forget();
                forgetDiscards();
                tracker.arm();
                armed = true;
                protectionsLeft = false;
            } finally {
                lock.unlock();
            }
            return null;
        });
    }

    /**
     * Stops tracking until the next {@link #arm()}: every page becomes writable without a fault, so
     * writes cost what untracked writes cost, and the writes not yet collected are forgotten; until
     * {@code arm()}, {@link #collect()} throws. For phases in which nobody needs the dirty set, such
     * as an incremental collector's time between cycles. A running {@link #copyBeforeWrite()} keeps
     * the pages it has not copied yet protected until it ends. After cuts ({@link #copyBeforeWriteOfCut()}),
     * it also stops keeping pages protected between them: the next cut holds every page. Does nothing
     * if neither armed nor cut, nor stopped by {@link #collectAndStop()} (whose protections it removes).
     *
     * <pre>{@code
     * DirtyPages dirty = arena.collect();   // end of a phase that needed the dirty set
     * arena.disarm();                       // writes run fault-free meanwhile
     * ...
     * arena.arm();                          // next phase: every page clean, the next write to each caught
     * }</pre>
     *
     * @throws IllegalStateException if the arena is closed
     */
    public void disarm() {
        lock.lock();
        try {
            ensureOpen();
            if (!armed && !cutting && !protectionsLeft) return;
            armed = false;
            protectionsLeft = false;
            cutting = false; // every page writable: the next cut holds them all
            pending.clear();
            kernelWrites.forget();
            forgetDiscards();
            // While copying, the fault path must keep the uncopied pages protected: stopCopyBeforeWrite
            // unprotects everything when it ends, as the arena is no longer armed.
            if (copying == null) tracker.disarm();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Returns the pages written since the previous collect (or {@link #arm()}) and re-arms them
     * before returning, so their contents can be read right after. Kernel writes through the API
     * ({@link #read}, {@link #kernelWrite}, {@link #written}) are reported once they have completed;
     * one still in flight is reported by a later collect, or this one waits for it
     * ({@link InFlightWrites}). On a backend that
     * {@linkplain Backend#needsWriterPause() needs stopped writers} (soft-dirty), the arena's
     * {@link WriterPause} stops them for the duration of the collect.
     *
     * @throws IllegalStateException if the arena is not armed or is closed
     */
    public DirtyPages collect() {
        if (inFlightWrites == InFlightWrites.COLLECT_WAITS && !collectIgnoresKernelWritesForTest) {
            return kernelWrites.exclusive(() -> collectLocked(true));
        }
        return collectLocked(true);
    }

    /**
     * The last collect before a phase in which nobody needs the dirty set: returns the pages written
     * since the previous collect (or {@link #arm()}), as {@link #collect()} does, their contents
     * readable right after, and stops tracking as {@link #disarm()} does, but re-arms nothing and
     * unprotects nothing: on the native backends it is the drain alone, on uffd-async a read-only
     * page-table walk, with no protect call and no TLB flush (soft-dirty and card-table collect as
     * usual). The pages nobody wrote stay protected until {@link #disarm()} makes them writable,
     * which may come later, off a pause; a write to one meanwhile faults and is resolved, and is not
     * reported. Until {@link #arm()}, {@link #collect()} throws. For the end of a phase inside a
     * pause, such as an incremental collector's remark:
     *
     * <pre>{@code
     * DirtyPages dirty = arena.collectAndStop();   // in the pause: no re-protect
     * ...                                          // the pause ends
     * arena.disarm();                              // later: every page writable
     * arena.arm();                                 // next phase
     * }</pre>
     *
     * @throws IllegalStateException if the arena is not armed, is being cut or copied before write
     *                               (use {@code collect()} then {@code disarm()}), or is closed
     */
    public DirtyPages collectAndStop() {
        if (inFlightWrites == InFlightWrites.COLLECT_WAITS && !collectIgnoresKernelWritesForTest) {
            return kernelWrites.exclusive(() -> collectLocked(false));
        }
        return collectLocked(false);
    }

    private DirtyPages collectLocked(boolean rearm) {
        lock.lock();
        try {
            ensureOpen();
            String call = rearm ? "collect()" : "collectAndStop()";
            if (!armed) throw new IllegalStateException(call + " while not armed (before arm(), or after disarm() or collectAndStop()): call arm() to start tracking");
            if (!rearm && (cutting || copying != null)) {
                throw new IllegalStateException("collectAndStop() while the arena is " + (copying != null ? "copied before write" : "cut")
                        + ": its pages must stay protected; call collect() then disarm()");
            }
            CollectEvent event = monitoring.collectStarting();
            // Kernel writes completed before this drain are reported now; the rest by a later collect.
            kernelWrites.drainInto(pending);
            if (writerPause == null) {
                collectFromTracker(rearm);
            } else {
                writerPause.stopWriters();
                try {
                    collectFromTracker(rearm);
                } finally {
                    writerPause.resumeWriters();
                }
            }
            synchronized (discarded) {
                pending.addAll(discarded);
                discarded.clear();
            }
            DirtyPages dirty = new DirtyPages(region.pageSize(), region.pageCount(), pending.runs());
            pending.clear();
            collects++;
            pagesReported += dirty.pageCount();
            if (!rearm) {
                // Stopped, as disarm() stops, the protections left for disarm() or arm().
                armed = false;
                protectionsLeft = true;
                kernelWrites.forget();
                forgetDiscards();
            }
            monitoring.collected(event, dirty);
            return dirty;
        } finally {
            lock.unlock();
        }
    }

    private void collectFromTracker(boolean rearm) {
        if (rearm) tracker.collect(pending);
        else tracker.collectWithoutRearm(pending);
    }

    /**
     * Starts copy-before-write (see {@link CopyBeforeWrite}): write-protects the whole arena, and from
     * then on the first write to each page waits in the backend's fault path until the page's bytes
     * are copied into the returned object's image. Writers keep running; those that fault while the
     * arena is being protected wait for that (the arming pause). Tracking, if armed, goes on: every
     * write is still reported by a collect. One at a time per arena.
     * <p>
     * Kernel writes through the API ({@link #read}, {@link #kernelWrite}) are finished at the start:
     * it waits for those in flight to complete, and those begun later wait until it has started; a
     * later one's first write to each page is copied first like any other (the kernel's own fault,
     * or the user-mode write that makes the page writable for it). So the image never holds half of
     * one. Writes reported only with {@link #written} cannot be ordered with the start.
     *
     * @throws UnsupportedOperationException if the backend cannot (naming it and the ones that can)
     * @throws IllegalStateException         if the arena is closed or a copy-before-write is running
     */
    public CopyBeforeWrite copyBeforeWrite() {
        return startCopy(false);
    }

    /**
     * Starts a cut's copy-before-write: as {@link #copyBeforeWrite()}, but of the cut's pages only,
     * the pages written (unprotected) since the previous cut, every page at the first cut
     * ({@link CopyBeforeWrite#cutPages()}). Every other page has been protected, hence unchanged,
     * since the previous cut, and needs no copy. The pause (in which writers that fault wait) is
     * O(the cut's pages). From the first cut on, pages stay protected between cuts until
     * {@link #disarm()}, as they do while armed. The building block of {@code io.pagemark.cut}.
     *
     * @throws UnsupportedOperationException if the backend cannot copy before write
     * @throws IllegalStateException         if the arena is closed or a copy-before-write is running
     */
    public CopyBeforeWrite copyBeforeWriteOfCut() {
        return startCopy(true);
    }

    private CopyBeforeWrite startCopy(boolean cut) {

        if (copier == null) {
            throw new UnsupportedOperationException("copy-before-write (live snapshots, cuts) needs a backend whose fault path runs"
                    + " before the faulting store completes: " + Backend.copyBeforeWriteNames() + "; this arena's backend is "
                    + backend + (backend == Backend.UFFD_ASYNC ? " (the kernel resolves its faults itself: nothing runs before the write)"
                    : " (it notices a write only after it landed)"));
        }
        // Its start is an instant with no kernel write in flight: each one is in the image in full or not at all.
        return kernelWrites.exclusive(() -> startCopyBeforeWrite(cut));
    }

    private CopyBeforeWrite startCopyBeforeWrite(boolean cut) {
        lock.lock();
        try {
            ensureOpen();
            if (copying != null) throw new IllegalStateException("a copy-before-write is already running on this arena: close it first");
            if (cut && cutState == null) cutState = new CutState(region.pageSize(), region.pageCount());
            CopyBeforeWrite copy = cut ? new CopyBeforeWrite(this, copier.pagesCopiedBeforeWrite(), cutState)
                    : new CopyBeforeWrite(this, copier.pagesCopiedBeforeWrite());
            try {
                // Armed: the records of writes not yet collected must stay for the next collect.
                copier.startCopyBeforeWrite(copy.states(), copy.image(), cut ? cutState.delta() : MemorySegment.NULL, armed);
            } catch (RuntimeException | Error e) {
                copy.free();
                throw e;
            }
            if (cut) {
                cutting = true;
                copy.tookCut(cutState.deltaPages());
            }
            copying = copy;
            cutEvent = monitoring.cutStarting();
            cutCopiedAtStart = copier.pagesCopiedBeforeWrite();
            return copy;
        } finally {
            lock.unlock();
        }
    }

    /** See {@link CopyBeforeWrite#release}. */
    boolean unprotectUntracked(long firstPage, long pageCount) {
        lock.lock();
        try {
            // Armed: a page made writable without a fault would take its next write unrecorded.
            if (closed || armed || cutting) return false;
            return copier.unprotect(firstPage, pageCount);
        } finally {
            lock.unlock();
        }
    }

    long pagesCopiedBeforeWrite() {
        return copier.pagesCopiedBeforeWrite();
    }

    /** See {@link CopyBeforeWrite#stop()}. */
    void stopCopyBeforeWrite(CopyBeforeWrite copy) {
        lock.lock();
        try {
            if (copying != copy) return; // the arena closed (its tracker stopped copying) or never started this one
            copying = null;
            copier.stopCopyBeforeWrite();
            monitoring.cutStopped(cutEvent, copier.pagesCopiedBeforeWrite() - cutCopiedAtStart);
            // Unless tracking needs them protected, what copying protected and nobody released is made writable.
            if (!armed && !cutting) copier.unprotect(0, region.pageCount());
        } finally {
            lock.unlock();
        }
    }

    /**
     * Discards {@code length} bytes at {@code offset}: MADV_DONTNEED, after which the pages read as
     * zeros and hold no memory until written again, and, if the arena is armed, reports them: the
     * next collect includes every discarded page, and later writes are tracked as any others. Works
     * on every backend; on those without {@link Backend.Trait#SEES_DISCARDS} (mprotect, soft-dirty,
     * card-table) it is the only discard that is reported, since their kernel mechanism cannot see a
     * plain madvise empty a page (docs/discards.md). Any thread may call it, while others write,
     * collect or hold the arena's writer pause.
     *
     * @throws IllegalArgumentException if offset or length is negative, not a multiple of the page
     *                                  size, zero (length), or reaches past the arena's end
     * @throws IllegalStateException    if the arena is closed, or a copy-before-write is running (the
     *                                  copy would take the discarded pages as zeros)
     */
    public void discard(long offset, long length) {
        long page = region.pageSize();
        if (offset < 0 || length <= 0 || offset % page != 0 || length % page != 0) {
            throw new IllegalArgumentException("discard(" + offset + ", " + length + "): offset and length must be whole pages"
                    + " (multiples of " + page + "), offset >= 0 and length > 0");
        }
        if (length > region.size() - offset) {
            throw new IllegalArgumentException("discard(" + offset + ", " + length + ") reaches past the arena's end ("
                    + region.size() + " bytes)");
        }
        ensureOpen();
        if (copying != null) {
            throw new IllegalStateException("discard() while a copy-before-write (live snapshot) is running: its image"
                    + " would take the discarded pages as zeros; discard after the copy ends");
        }
        if (cutting && !backend.has(Backend.Trait.SEES_DISCARDS)) {
            throw new IllegalStateException("discard() on a " + backend + " arena that is being cut: its kernel mechanism cannot see"
                    + " the pages emptied, so the next cut would miss them; disarm() first (the next cut then holds every page)");
        }
        // Not under the arena's lock: a writer may discard while holding the writer pause that a collect waits for.
        // The call holds the mapping, so close() cannot unmap it under the kernel.
        Libc.madvise(segment.asSlice(offset, length), Libc.MADV_DONTNEED, "madvise(MADV_DONTNEED)", Libc.NO_HINT);
        // Emptied first, recorded second: a collect that takes the record reads the pages emptied.
        if (armed && !dropDiscardReports) {
            synchronized (discarded) {
                discarded.addRange(offset / page, length / page);
            }
        }
    }

    private void forgetDiscards() {
        synchronized (discarded) {
            discarded.clear();
        }
    }

    /** Test hook: discard() forgets to report (the discard tests' teeth). */
    boolean dropDiscardReports;

    /** Counters since the arena opened. */
    public Stats stats() {
        lock.lock();
        try {
            return new Stats(backend, collects, pagesReported, tracker.faults(), region.size());
        } finally {
            lock.unlock();
        }
    }

    /**
     * Counters of one arena.
     *
     * @param faults write faults taken, or -1 where the backend cannot count them (uffd-async)
     */
    public record Stats(Backend backend, long collects, long pagesReported, long faults, long bytesTracked) {}

    /**
     * What a collect does about kernel writes still in flight through the API ({@link #read},
     * {@link #kernelWrite} scopes) when it starts: the two ways of never losing them
     * (docs/pinned-writes.md compares their costs).
     */
    public enum InFlightWrites {
        /**
         * The collect runs at once and may report pages with part of a write in them; the write's whole
         * range is reported again by the first collect after it completed, so at the latest that one's
         * copy holds it in full. Collects never wait for I/O. Needs a backend whose faults the kernel
         * resolves for itself (uffd-async, uffd-sync unless user-mode-only, soft-dirty, card-table); the
         * default there.
         */
        REPORT_AGAIN("report again"),
        /**
         * The collect waits until every kernel write in flight has completed, and new ones wait until it
         * returns: no collect ever sees half of one, at the price of a collect that lasts as long as the
         * longest I/O in flight. The only choice (and the default) on backends whose kernel faults fail
         * with EFAULT (mprotect, uffd-sigbus, a user-mode-only userfaultfd): there no collect may
         * re-protect a page between the user-mode write that made it writable and the kernel's pin.
         */
        COLLECT_WAITS("collect waits");

        private final String id;

        InFlightWrites(String id) {
            this.id = id;
        }

        /** The default on a tracker: REPORT_AGAIN where the kernel resolves its own faults, else COLLECT_WAITS. */
        static InFlightWrites defaultFor(PageTracker tracker) {
            return tracker.resolvesKernelFaults() ? REPORT_AGAIN : COLLECT_WAITS;
        }

        /** {@code requested} if the tracker allows it, the default if null. */
        static InFlightWrites check(InFlightWrites requested, PageTracker tracker, Backend backend) {
            if (requested == null) return defaultFor(tracker);
            if (requested == REPORT_AGAIN && !tracker.resolvesKernelFaults()) {
                throw new IllegalArgumentException("inFlightWrites(REPORT_AGAIN) needs a backend whose kernel faults the kernel"
                        + " resolves itself; on " + backend + (backend.has(Backend.Trait.SIGNAL_HANDLER) ? "" : " with a user-mode-only userfaultfd")
                        + " the kernel's write into a page a collect re-protected fails with EFAULT, so only COLLECT_WAITS is accepted");
            }
            return requested;
        }

        @Override
        public String toString() {
            return id;
        }
    }

    // ---- the write API: what card-table sees; on hardware backends the same stores, nothing more ----

    public void putByte(long offset, byte value) {
        segment.set(ValueLayout.JAVA_BYTE, offset, value);
        if (cards != null) cards.mark(offset, 1);
    }

    public void putInt(long offset, int value) {
        segment.set(INT, offset, value);
        if (cards != null) cards.mark(offset, Integer.BYTES);
    }

    public void putLong(long offset, long value) {
        segment.set(LONG, offset, value);
        if (cards != null) cards.mark(offset, Long.BYTES);
    }

    /** Copies {@code length} bytes of {@code src} from {@code srcOffset} into the arena at {@code offset}. */
    public void put(long offset, byte[] src, int srcOffset, int length) {
        MemorySegment.copy(src, srcOffset, segment, ValueLayout.JAVA_BYTE, offset, length);
        if (cards != null && length > 0) cards.mark(offset, length);
    }

    /** Copies all of {@code src} into the arena at {@code offset}. */
    public void put(long offset, MemorySegment src) {
        MemorySegment.copy(src, 0, segment, offset, src.byteSize());
        if (cards != null && src.byteSize() > 0) cards.mark(offset, src.byteSize());
    }

    /**
     * Reads up to {@code length} bytes from {@code channel} straight into the arena at {@code offset}:
     * for a FileChannel a kernel-mode write, read(2) into the mapping, through the page cache or, on
     * a channel opened with {@code ExtendedOpenOption.DIRECT}, by the device through pinned pages.
     * Returns the bytes read, or -1 at end of stream. Exact on every backend and every channel: the
     * read runs inside a {@link #kernelWrite} scope over the whole range, so once it returns or throws
     * the range is in the dirty set, even a short or failed read's (which may have written more than
     * it returned: an O_DIRECT read that fails part-way has written the pages before the failure).
     *
     * @throws IndexOutOfBoundsException if the range is not inside the arena
     */
    public int read(ReadableByteChannel channel, long offset, int length) throws IOException {
        Objects.requireNonNull(channel, "channel");
        ByteBuffer target = segment.asSlice(offset, length).asByteBuffer();
        try (KernelWrite write = kernelWrite(offset, length)) {
            return channel.read(target);
        }
    }

    /**
     * Opens a scope around a write into {@code [offset, offset + length)} that the barrier cannot see:
     * the kernel or a device writing through pinned pages (io_uring, RDMA, a GPU, an O_DIRECT path of
     * your own). Open it before the I/O is submitted, close it once the I/O has completed (or failed);
     * see {@link KernelWrite}. Where the kernel's own faults fail (mprotect, uffd-sigbus, a
     * user-mode-only userfaultfd) it first makes the range writable by user-mode writes (an atomic
     * add of zero to each page, which changes nothing), so the kernel can pin it. Waits while an
     * {@link #arm()}, a {@link #copyBeforeWrite()} start or (with {@link InFlightWrites#COLLECT_WAITS})
     * a collect runs or waits.
     *
     * @throws IndexOutOfBoundsException if the range is not inside the arena
     * @throws IllegalStateException     if the arena is closed
     */
    public KernelWrite kernelWrite(long offset, long length) {
        checkRange("kernelWrite", offset, length);
        ensureOpen();
        kernelWrites.begin();
        try {
            if (prefaultKernelWrites) makeWritable(offset, length);
        } catch (RuntimeException | Error e) {
            kernelWrites.end(offset, 0); // nothing was submitted
            throw e;
        }
        return new KernelWrite(kernelWrites, offset, length);
    }

    /**
     * Reports {@code [offset, offset + length)} as written, after a write the barrier cannot see has
     * completed (a device's DMA through memory it holds pinned, such as an RDMA registration): the
     * next collect reports it. A collect that overlapped the write may have reported the pages with
     * part of it; the next one reports them complete. Unlike a {@link #kernelWrite} scope it cannot
     * keep the write out of a {@link #copyBeforeWrite()} started meanwhile, nor make protected pages
     * writable for the kernel: on mprotect, uffd-sigbus and a user-mode-only userfaultfd, pin the
     * memory while it is writable (inside a scope, or after writing each page). A length of 0 reports nothing.
     *
     * @throws IndexOutOfBoundsException if the range is not inside the arena
     * @throws IllegalStateException     if the arena is closed
     */
    public void written(long offset, long length) {
        checkRange("written", offset, length);
        ensureOpen();
        kernelWrites.report(offset, length);
    }

    /** Test-only: the teeth hooks live there. */
    KernelWrites kernelWritesForTest() {
        return kernelWrites;
    }

    /** Kernel writes through {@link #kernelWrite} scopes (and {@link #read}) in flight now. */
    public int kernelWritesInFlight() {
        return kernelWrites.inFlight();
    }

    private void checkRange(String method, long offset, long length) {
        if (offset < 0 || length < 0 || offset > region.size() - length) {
            throw new IndexOutOfBoundsException(method + "(offset " + offset + ", length " + length
                    + "): the range must lie inside the arena's " + region.size() + " bytes (offset >= 0, length >= 0, offset + length <= "
                    + region.size() + ")");
        }
    }

    /**
     * One user-mode write to each page of the range: an atomic add of zero to its first int, which
     * changes no byte even while other threads write there, and takes the backend's write fault
     * (unprotect, record, copy-before-write) where the page is protected.
     */
    private void makeWritable(long offset, long length) {
        long pageSize = region.pageSize();
        for (long page = offset & -pageSize; page < offset + length; page += pageSize) {
            ATOMIC_INT.getAndAdd(segment, page, 0);
        }
    }

    public byte getByte(long offset) {
        return segment.get(ValueLayout.JAVA_BYTE, offset);
    }

    public int getInt(long offset) {
        return segment.get(INT, offset);
    }

    public long getLong(long offset) {
        return segment.get(LONG, offset);
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("this TrackedArena is closed");
    }

    /**
     * How long {@link #close()} waits, once tracking has stopped, for the I/O operations and native
     * calls that hold the arena's memory to return before it gives up with a {@link PagemarkException}.
     */
    public static final long CLOSE_WAIT_MILLIS = 1000;

    /**
     * Stops tracking and releases everything: protection, the userfaultfd, handler threads, the
     * mapping. Writers still running get {@link IllegalStateException} on their next access (plain
     * accesses through {@link #segment()} never hold close up).
     *
     * <p>The mapping can only go once no thread is inside an operation that holds the memory: an I/O
     * operation on a ByteBuffer view of it (a FileChannel or socket read into the arena, a write from
     * it) or an FFM downcall passed the segment. close() waits up to {@value #CLOSE_WAIT_MILLIS} ms
     * for those to return; if one is still running then (a read blocked on a pipe or a socket), it
     * throws a {@link PagemarkException} saying so. Tracking has stopped by then and the memory stays
     * mapped; calling close() again after that operation returned unmaps it. Otherwise idempotent.
     *
     * @throws PagemarkException if an operation still holds the memory after {@value #CLOSE_WAIT_MILLIS} ms
     */
    @Override
    public void close() {
        lock.lock();
        try {
            if (unmapped) return;
            boolean first = !closed;
            if (first) {
                closed = true;
                armed = false;
                cutting = false;
                if (monitoring != null) monitoring.close();
                copying = null; // the tracker's close stops copying first
            }
            // Tracking stops first: pages become writable and no thread stays blocked in a fault; then the mapping goes.
            try {
                if (first) tracker.close();
            } finally {
                closeScope();
            }
            unmapped = true;
            if (cutState != null) {
                cutState.free(); // no fault path uses it once the tracker is closed
                cutState = null;
            }
            // The mapping is gone and the close handshake has passed every Java thread: no fault can still be in flight.
            tracker.regionUnmapped();
        } finally {
            lock.unlock();
        }
    }

    /** Closes the mapping's arena (once); retried while an operation still holds the segment, {@link #CLOSE_WAIT_MILLIS} at most. */
    private void closeScope() {
        if (!segment.scope().isAlive()) return;
        long deadline = System.nanoTime() + CLOSE_WAIT_MILLIS * 1_000_000;
        while (true) {
            try {
                scope.close();
                return;
            } catch (IllegalStateException busy) {
                if (System.nanoTime() > deadline) {
                    throw new PagemarkException("close(): after " + CLOSE_WAIT_MILLIS + " ms a thread is still inside an I/O operation or"
                            + " a native call that holds the arena's memory (a read into it blocked on a pipe or a socket?); tracking"
                            + " has stopped, the memory stays mapped: call close() again once that operation has returned", busy);
                }
                LockSupport.parkNanos(50_000);
            }
        }
    }

    @Override
    public String toString() {
        return "TrackedArena[" + region.size() + " bytes, " + backend + (closed ? ", closed" : armed ? ", armed" : "") + "]";
    }

    /**
     * Configures and opens a {@link TrackedArena}.
     *
     * <pre>{@code
     * TrackedArena arena = TrackedArena.builder()
     *         .size(64L << 20)              // required: bytes, rounded up to whole pages
     *         .backend("uffd-async")        // default auto
     *         .transparentHugePages(false)  // default false
     *         .writerPause(gate)            // how to stop the writers: required by soft-dirty only
     *         .open();
     * }</pre>
     */
    public static final class Builder {
        /** The largest mapping x86-64 user space can hold (47-bit addresses). */
        private static final long MAX_SIZE = 1L << 47;

        private long size = -1;
        private Backend backend = Backend.AUTO;
        private boolean hugePages;
        private boolean forcePopulate;
        private Integer handlerThreads;
        private Boolean pinHandlerThreads;
        private Integer handlerSpinMicros;
        private Integer bulkPages;
        private Integer ringCapacity;
        private WriterPause writerPause;
        private String name;
        private boolean monitored = true;
        private InFlightWrites inFlightWrites;

        private Builder() {}

        /**
         * A new builder with every setting of this one, to change without changing this one (what a
         * library given a caller's builder does before it sets a size of its own).
         *
         * <pre>{@code
         * TrackedArena.Builder options = TrackedArena.builder().backend("uffd-async");
         * TrackedArena small = options.copy().size(1 << 20).open(), large = options.copy().size(1L << 30).open();
         * }</pre>
         */
        public Builder copy() {
            Builder copy = new Builder();
            copy.size = size;
            copy.backend = backend;
            copy.hugePages = hugePages;
            copy.forcePopulate = forcePopulate;
            copy.handlerThreads = handlerThreads;
            copy.pinHandlerThreads = pinHandlerThreads;
            copy.handlerSpinMicros = handlerSpinMicros;
            copy.bulkPages = bulkPages;
            copy.ringCapacity = ringCapacity;
            copy.writerPause = writerPause;
            copy.name = name;
            copy.monitored = monitored;
            copy.inFlightWrites = inFlightWrites;
            return copy;
        }

        /**
         * The arena's name in its MBean ({@code io.pagemark:type=Arena,name=...}) and its JFR events;
         * default {@code arena-N}. A name already registered gets a {@code -2}, {@code -3}, ... suffix.
         *
         * @throws IllegalArgumentException if blank
         */
        public Builder name(String name) {
            if (name == null || name.isBlank()) throw new IllegalArgumentException("name must not be blank, got '" + name + "'");
            this.name = name;
            return this;
        }

        /**
         * Whether the arena has an MBean and writes JFR events (default true). Off for an arena that is a
         * library's own business and lives briefly, which would only crowd what users watch: the
         * pagemark agent's warm-up arena is one. Tracking is the same either way.
         *
         * <pre>{@code
         * try (TrackedArena scratch = TrackedArena.builder().size(1 << 20).monitored(false).open()) { ... }
         * }</pre>
         */
        public Builder monitored(boolean monitored) {
            this.monitored = monitored;
            return this;
        }

        /**
         * What a collect does about kernel writes in flight through the API (see {@link InFlightWrites});
         * default REPORT_AGAIN where the backend allows it, else COLLECT_WAITS.
         * {@link #open()} throws IllegalArgumentException for REPORT_AGAIN on a backend that does not allow it.
         */
        public Builder inFlightWrites(InFlightWrites mode) {
            this.inFlightWrites = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /**
         * The arena's size in bytes, rounded up to whole pages.
         *
         * @throws IllegalArgumentException if not positive or larger than the address space allows
         */
        public Builder size(long bytes) {
            if (bytes <= 0) throw new IllegalArgumentException("size must be positive, got " + bytes);
            if (bytes > MAX_SIZE) {
                throw new IllegalArgumentException("size " + bytes + " is larger than the address space allows (at most "
                        + MAX_SIZE + " bytes = 128 TiB on x86-64)");
            }
            this.size = bytes;
            return this;
        }

        /** The backend; default {@link Backend#AUTO}. */
        public Builder backend(Backend backend) {
            this.backend = Objects.requireNonNull(backend, "backend");
            return this;
        }

        /** The backend by name (see {@link Backend#parse}); an unknown name throws IllegalArgumentException listing the accepted ones. */
        public Builder backend(String name) {
            return backend(Backend.parse(name));
        }

        /** Whether to ask for transparent huge pages (MADV_HUGEPAGE); default false (every tracked write splits them anyway). */
        public Builder transparentHugePages(boolean enabled) {
            this.hugePages = enabled;
            return this;
        }

        /**
         * Populate every page before each arm even where UFFD_FEATURE_WP_UNPOPULATED is offered: the
         * path kernels before 6.4 take (without it a never-touched page would be written unseen).
         */
        public Builder forcePopulate(boolean force) {
            this.forcePopulate = force;
            return this;
        }

        /**
         * uffd-sync only: how many native threads resolve faults (default 1, at most
         * {@value TrackerOptions#MAX_HANDLER_THREADS}).
         *
         * @throws IllegalArgumentException if out of range
         */
        public Builder handlerThreads(int threads) {
            TrackerOptions.checkHandlerThreads(threads);
            this.handlerThreads = threads;
            return this;
        }

        /**
         * uffd-sync only: pin handler thread i to the i-th CPU this process may run on; default false. With
         * {@code handlerThreads} equal to the CPU count, the CPU of a writer blocked in a fault always
         * has its own handler to run, so resolving the fault needs no cross-CPU wake-up (see docs/backends.md).
         */
        public Builder pinHandlerThreads(boolean pin) {
            this.pinHandlerThreads = pin;
            return this;
        }

        /**
         * uffd-sync only: how long an idle handler keeps polling before it blocks; default 0. A fault
         * arriving meanwhile costs no wake-up, at the price of a busy CPU. At most
         * {@value TrackerOptions#MAX_HANDLER_SPIN_MICROS}.
         *
         * @throws IllegalArgumentException if out of range
         */
        public Builder handlerSpinMicros(int micros) {
            TrackerOptions.checkHandlerSpinMicros(micros);
            this.handlerSpinMicros = micros;
            return this;
        }

        /**
         * mprotect, uffd-sync, uffd-sigbus: pages unprotected (and reported) per fault, a fixed aligned
         * block. Sequential writers take {@code pages} times fewer faults; a collect reports whole blocks.
         * A power of two up to {@value TrackerOptions#MAX_BULK_PAGES}. Default: an adaptive window
         * instead (one page, doubling up to {@value TrackerOptions#WINDOW_MAX_PAGES} pages while each
         * fault comes right after the previous window, as readahead does: see docs/backends.md).
         *
         * @throws IllegalArgumentException if not a power of two in range
         */
        public Builder bulkPages(int pages) {
            TrackerOptions.checkBulkPages(pages);
            this.bulkPages = pages;
            return this;
        }

        /**
         * mprotect, uffd-sync, uffd-sigbus: bytes of the fault-record ring. The default (sized to the
         * arena) cannot fill within one epoch; a smaller ring makes faulting threads wait while a
         * collect drains it, and spill into a bitmap rather than wait for a collect that is not running.
         * A power of two from {@value FaultRing#MIN_CAPACITY} to {@value FaultRing#MAX_CAPACITY}.
         *
         * @throws IllegalArgumentException if not a power of two in range
         */
        public Builder ringCapacity(int bytes) {
            TrackerOptions.checkRingCapacity(bytes);
            this.ringCapacity = bytes;
            return this;
        }

        /**
         * Declares how to stop this arena's writers: required by the backends whose collect is only
         * correct while no thread writes ({@link Backend#needsWriterPause()}: soft-dirty), which call
         * it around every {@link TrackedArena#collect()}. The other backends never call it.
         * A {@link WriterGate} is a ready-made one.
         */
        public Builder writerPause(WriterPause pause) {
            this.writerPause = Objects.requireNonNull(pause, "pause");
            return this;
        }

        /**
         * Maps the memory and opens the backend.
         *
         * @throws IllegalStateException if no size was set, or the backend needs a {@link #writerPause} and none was given
         * @throws PagemarkException if the backend is not usable here (with the probe's reason), or the JVM
         *                           was started without a run flag it needs ({@link RunFlags}: one line naming it)
         */
        public TrackedArena open() {
            if (size < 0) throw new IllegalStateException("size(bytes) is required");
            if (backend.needsWriterPause() && writerPause == null) {
                throw new IllegalStateException("backend " + backend + " needs writerPause(...): its collect reads the"
                        + " soft-dirty bits and then clears them for the whole process, and a write landing in between"
                        + " would be lost, so it only collects while the arena's writers are stopped. Pass a WriterPause"
                        + " built on your runtime's stop-the-world pause, or a WriterGate your writers enter and exit");
            }
            // The JVM's grants first: before the probe's FFM calls, and before anything is mapped.
            RunFlags.checkBeforeProbe(backend);
            long pageSize = Libc.pageSize();
            long rounded = (size + pageSize - 1) & -pageSize;
            Capabilities.Choice choice = backend == Backend.AUTO ? Capabilities.autoChoice() : requested(backend);
            RunFlags.check(choice.backend());
            checkApplies(handlerThreads, Backend.Option.HANDLER_THREADS, choice.backend());
            checkApplies(pinHandlerThreads, Backend.Option.PIN_HANDLER_THREADS, choice.backend());
            checkApplies(handlerSpinMicros, Backend.Option.HANDLER_SPIN_MICROS, choice.backend());
            checkApplies(bulkPages, Backend.Option.BULK_PAGES, choice.backend());
            checkApplies(ringCapacity, Backend.Option.RING_CAPACITY, choice.backend());
            TrackerOptions defaults = TrackerOptions.DEFAULTS;
            TrackerOptions options = new TrackerOptions(forcePopulate,
                    handlerThreads != null ? handlerThreads : defaults.handlerThreads(),
                    pinHandlerThreads != null ? pinHandlerThreads : defaults.pinHandlerThreads(),
                    handlerSpinMicros != null ? handlerSpinMicros : defaults.handlerSpinMicros(),
                    bulkPages != null ? bulkPages : defaults.bulkPages(),
                    ringCapacity != null ? ringCapacity : defaults.ringCapacity());
            String autoFallback = backend == Backend.AUTO && choice.backend() != Backend.autoPreference().getFirst()
                    ? "auto took " + choice.backend() + ", not " + Backend.autoPreference().getFirst() + ": " + choice.why() : null;
            return map(choice.backend(), backend == Backend.AUTO ? "auto: " + choice.why() : choice.why(), rounded, hugePages,
                    region -> choice.backend().open(region, options), writerPause, name, monitored, backend, autoFallback, inFlightWrites);
        }

        private static Capabilities.Choice requested(Backend backend) {
            String unusable = backend.unusableReason();
            if (unusable != null) throw new PagemarkException("backend " + backend + " is not usable here: " + unusable);
            return new Capabilities.Choice(backend, "requested");
        }

        /** A backend-specific option set for a backend it does not apply to is an error, not silently ignored. */
        private static void checkApplies(Object value, Backend.Option option, Backend chosen) {
            if (value == null || chosen.accepts(option)) return;
            throw new IllegalArgumentException(option.builderMethod + "(" + value + ") applies only to "
                    + Backend.acceptingNames(option) + "; this arena's backend is " + chosen);
        }
    }
}
