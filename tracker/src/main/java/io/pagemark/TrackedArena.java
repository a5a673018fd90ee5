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

import javax.management.ObjectName;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
 * the write API, and kernel-mode writes where the backend supports them. On {@link Backend#CARD_TABLE}
 * only the write API ({@link #putLong} and friends) is seen; it costs one extra branch on the others.
 */
public final class TrackedArena implements AutoCloseable {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;

    private final Backend backend;
    private final String backendReason;
    private final MappedRegion region;
    private final Arena scope;
    private final MemorySegment segment;
    private final PageTracker tracker;
    /** Non-null only on card-table: the write API marks it. */
    private final ArenaCardTable cards;
    /** The tracker as one that copies before write, or null where it cannot. */
    private final CopiesBeforeWrite copier;
    private final PageSet pending;
    /** Non-null only when the backend needs stopped writers to collect ({@link Backend#needsWriterPause()}). */
    private final WriterPause writerPause;
    private final ReentrantLock lock = new ReentrantLock();
    private volatile boolean armed;
    private volatile boolean closed;
    /** Set once close() has unmapped the memory (close() may have to be called again: see there). */
    private boolean unmapped;
    /** The copy-before-write running now, or null. */
    private CopyBeforeWrite copying;
    /** The running copy-before-write's JFR event, begun when it started, and the pages copied before write then. */
    private CutEvent cutEvent;
    private long cutCopiedAtStart;
    /** The MBean and the JFR events; set right after construction (it reads the arena). */
    private ArenaMonitoring monitoring;
    private long collects;
    private long pagesReported;

    private TrackedArena(Backend backend, String backendReason, MappedRegion region, Arena scope, PageTracker tracker,
                         WriterPause writerPause) {
        this.backend = backend;
        this.backendReason = backendReason;
        this.region = region;
        this.scope = scope;
        this.segment = region.memory();
        this.tracker = tracker;
        this.cards = tracker instanceof MarkedByWriteApi marked ? marked.cards() : null;
        this.copier = tracker instanceof CopiesBeforeWrite c ? c : null;
        this.pending = new PageSet(region.address(), region.pageSize(), region.pageCount());
        this.writerPause = backend.needsWriterPause() ? writerPause : null;
    }

    /** Maps {@code size} bytes and opens the tracker {@code opener} makes for them, named arena-N, as requested. */
    static TrackedArena map(Backend backend, String backendReason, long size, boolean hugePages,
                            Function<MappedRegion, PageTracker> opener, WriterPause writerPause) {
        return map(backend, backendReason, size, hugePages, opener, writerPause, null, backend, null);
    }

    /**
     * Maps {@code size} bytes and opens the tracker {@code opener} makes for them (the builder passes
     * the registry's); registers its MBean as {@code name} (null: arena-N). {@code autoFallback}: why
     * auto did not get its first choice, or null.
     */
    static TrackedArena map(Backend backend, String backendReason, long size, boolean hugePages,
                            Function<MappedRegion, PageTracker> opener, WriterPause writerPause,
                            String name, Backend requested, String autoFallback) {
        long address = Libc.mmapAnonymous(size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_NORESERVE);
        // The segment belongs to a shared arena whose close unmaps: accesses after close() throw instead of faulting.
        Arena scope = Arena.ofShared();
        MemorySegment memory = MemorySegment.ofAddress(address).reinterpret(size, scope, unused -> Libc.munmap(address, size));
        try {
            Libc.madvise(address, size, hugePages ? Libc.MADV_HUGEPAGE : Libc.MADV_NOHUGEPAGE,
                    hugePages ? "madvise(MADV_HUGEPAGE)" : "madvise(MADV_NOHUGEPAGE)", Libc.NO_HINT);
            MappedRegion region = new MappedRegion(address, size, Libc.pageSize(), memory);
            TrackedArena arena = new TrackedArena(backend, backendReason, region, scope, opener.apply(region), writerPause);
            try {
                arena.monitoring = ArenaMonitoring.open(arena, name, requested, autoFallback);
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

    /** How the backend was set up (features used, fallbacks taken), and how it sees discards ({@link Backend#discards()}). */
    public String describe() {
        return tracker.describe() + "; " + backend.discards();
    }

    /**
     * Whether a kernel-mode write into the armed arena ({@link #read}, read(2) into the memory)
     * succeeds and is reported. False on mprotect, uffd-sigbus and a user-mode-only userfaultfd: such a
     * write into a protected page fails with EFAULT (an IOException from {@link #read}), or stops short
     * at the first protected page.
     */
    public boolean handlesKernelModeWrites() {
        return tracker.handlesKernelModeWrites();
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

    /** The arena's MBean's name: {@code io.pagemark:type=Arena,name=...} ({@link ArenaMXBean}), unregistered on close. */
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
        lock.lock();
        try {
            ensureOpen();
            pending.clear();
            tracker.arm();
            armed = true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops tracking until the next {@link #arm()}: every page becomes writable without a fault, so
     * writes cost what untracked writes cost, and the writes not yet collected are forgotten; until
     * {@code arm()}, {@link #collect()} throws. For phases in which nobody needs the dirty set, such
     * as an incremental collector's time between cycles. A running {@link #copyBeforeWrite()} keeps
     * the pages it has not copied yet protected until it ends. Does nothing if not armed.
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
            if (!armed) return;
            armed = false;
            pending.clear();
            // While copying, the fault path must keep the uncopied pages protected: stopCopyBeforeWrite
            // unprotects everything when it ends, as the arena is no longer armed.
            if (copying == null) tracker.disarm();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Returns the pages written since the previous collect (or {@link #arm()}) and re-arms them
     * before returning, so their contents can be read right after. On a backend that
     * {@linkplain Backend#needsWriterPause() needs stopped writers} (soft-dirty), the arena's
     * {@link WriterPause} stops them for the duration of the collect.
     *
     * @throws IllegalStateException if the arena is not armed or is closed
     */
    public DirtyPages collect() {
        lock.lock();
        try {
            ensureOpen();
            if (!armed) throw new IllegalStateException("collect() while not armed (before arm(), or after disarm()): call arm() to start tracking");
            CollectEvent event = new CollectEvent();
            event.begin();
            if (writerPause == null) {
                tracker.collect(pending);
            } else {
                writerPause.stopWriters();
                try {
                    tracker.collect(pending);
                } finally {
                    writerPause.resumeWriters();
                }
            }
            DirtyPages dirty = new DirtyPages(region.pageSize(), region.pageCount(), pending.runs());
            pending.clear();
            collects++;
            pagesReported += dirty.pageCount();
            monitoring.collected(event, dirty);
            return dirty;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Starts copy-before-write (see {@link CopyBeforeWrite}): write-protects the whole arena, and from
     * then on the first write to each page waits in the backend's fault path until the page's bytes
     * are copied into the returned object's image. Writers keep running; those that fault while the
     * arena is being protected wait for that (the arming pause). Tracking, if armed, goes on: every
     * write is still reported by a collect. One at a time per arena.
     *
     * @throws UnsupportedOperationException if the backend cannot (naming it and the ones that can)
     * @throws IllegalStateException         if the arena is closed or a copy-before-write is running
     */
    public CopyBeforeWrite copyBeforeWrite() {
        if (copier == null) {
            throw new UnsupportedOperationException("copy-before-write (live snapshots) needs a backend whose fault path runs"
                    + " before the faulting store completes: " + Backend.copyBeforeWriteNames() + "; this arena's backend is "
                    + backend + (backend == Backend.UFFD_ASYNC ? " (the kernel resolves its faults itself: nothing runs before the write)"
                    : " (it notices a write only after it landed)"));
        }
        lock.lock();
        try {
            ensureOpen();
            if (copying != null) throw new IllegalStateException("a copy-before-write is already running on this arena: close it first");
            CopyBeforeWrite copy = new CopyBeforeWrite(this, copier.pagesCopiedBeforeWrite());
            try {
                // Armed: the records of writes not yet collected must stay for the next collect.
                copier.startCopyBeforeWrite(copy.states(), copy.image(), MemorySegment.NULL, armed);
            } catch (RuntimeException | Error e) {
                copy.free();
                throw e;
            }
            copying = copy;
            cutEvent = new CutEvent();
            cutEvent.begin();
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
            if (closed || armed) return false;
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
            if (!armed) copier.unprotect(0, region.pageCount());
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
     * plain madvise empty a page (docs/discards.md).
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
        lock.lock();
        try {
            ensureOpen();
            if (copying != null) {
                throw new IllegalStateException("discard() while a copy-before-write (live snapshot) is running: its image"
                        + " would take the discarded pages as zeros; discard after the copy ends");
            }
            Libc.madvise(region.address() + offset, length, Libc.MADV_DONTNEED, "madvise(MADV_DONTNEED)", Libc.NO_HINT);
            // Under the lock: the next collect reports these pages and reads them emptied.
            if (armed && !dropDiscardReports) pending.addRange(offset / page, length / page);
        } finally {
            lock.unlock();
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
     * Reads up to {@code length} bytes from {@code channel} straight into the arena at {@code offset}
     * (for a FileChannel, a kernel-mode write: read(2) into the mapping). Returns the bytes read, or -1
     * at end of stream. Under mprotect, uffd-sigbus and user-mode-only userfaultfd the kernel cannot
     * write a protected page and this fails with an IOException (EFAULT).
     */
    public int read(ReadableByteChannel channel, long offset, int length) throws IOException {
        Objects.requireNonNull(channel, "channel");
        ByteBuffer target = segment.asSlice(offset, length).asByteBuffer();
        int n = channel.read(target);
        if (cards != null && n > 0) cards.mark(offset, n);
        return n;
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
                    region -> choice.backend().open(region, options), writerPause, name, backend, autoFallback);
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
