package io.pagemark.snapshot;

import io.pagemark.CopyBeforeWrite;
import io.pagemark.PagemarkException;
import io.pagemark.TrackedArena;
import io.pagemark.checkpoint.BaseWriter;
import io.pagemark.checkpoint.Checkpoint;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;

/**
 * A consistent live snapshot of a {@link TrackedArena}: the arena exactly as it was at the moment
 * the snapshot started, taken while writers keep writing (copy-before-write, as QEMU's background
 * snapshot, or Redis' BGSAVE without fork()).
 *
 * <pre>{@code
 * try (LiveSnapshot snapshot = LiveSnapshot.inMemory(arena)) {   // returns once every page is protected: that moment is the snapshot
 *     ... writers go on writing arena.segment() ...
 *     snapshot.await();                                          // every page saved
 *     MemorySegment image = snapshot.image();                    // the arena as it was at the start
 * }
 * try (LiveSnapshot snapshot = LiveSnapshot.toCheckpoint(arena, dir)) {
 *     LiveSnapshot.Stats stats = snapshot.await();               // published as a base: Checkpointer.restore(dir, ...)
 * }
 * }</pre>
 *
 * <p><b>How.</b> Starting write-protects the whole arena ({@link TrackedArena#copyBeforeWrite()}). The
 * first write to a page not yet saved is held in the backend's native fault path, which copies the
 * page's old bytes before it unprotects the page. A background thread saves every other page:
 * it copies a run of still-protected pages, then takes each one; a page a writer reached first is
 * taken from the fault path's copy instead (see {@link CopyBeforeWrite} for the per-page state that
 * decides). Writers never wait for the background thread: a write waits for at most one page copy
 * (its own, or another writer's of the same page) plus its fault; only the writes that fault while
 * the arena is being protected wait for that (the arming pause, {@link Stats#armingNanos()}).
 *
 * <p><b>Dirty tracking.</b> If the arena is armed, tracking goes on and loses nothing: every page
 * stays protected until its next write, which is recorded as usual. If it is not, the background
 * thread makes saved pages writable as it goes, so writers run at full speed behind it.
 *
 * <p><b>Memory.</b> In memory: the image, one page per non-zero page of the arena (zero pages take
 * none). To a checkpoint: only the pages writers' faults copied ahead of the background thread,
 * given back as it writes them ({@link Stats#pagesCopiedByWriters()}).
 *
 * <p><b>Backends.</b> uffd-sync, uffd-sigbus, mprotect ({@link io.pagemark.Backend#canCopyBeforeWrite()});
 * the others throw {@link UnsupportedOperationException} naming the backend and those.
 *
 * <p><b>Closing.</b> {@link #close()} at any time stops the snapshot (nothing is published), waits
 * for the background thread, and leaves the arena writable (protected only where tracking needs it);
 * closing the arena mid-snapshot makes the snapshot fail ({@link #await()} throws). One snapshot at
 * a time per arena.
 */
public final class LiveSnapshot implements AutoCloseable {
    /** Pages the background thread copies before it takes them: 256 KiB, a few system calls per MiB. */
    private static final int RUN_PAGES = 64;

    private final TrackedArena arena;
    private final CopyBeforeWrite copy;
    private final BaseWriter base;
    private final long armingNanos;
    private final long startNanos;
    private final Thread saver;
    private final CountDownLatch done = new CountDownLatch(1);
    private volatile boolean aborted;
    private volatile Throwable failure;
    private volatile Stats stats;
    private Checkpoint checkpoint;
    private boolean closed;

    /**
     * The per-snapshot numbers.
     *
     * @param armingNanos           how long starting took (mapping the image, write-protecting the arena): an upper bound
     *                              on how long a writer can wait for it
     * @param savingNanos           from the start until every page was saved (and, to a checkpoint, published)
     * @param pages                 the arena's pages
     * @param pagesCopiedByWriters  pages a writer's fault path copied before its write: the extra memory of a checkpoint snapshot
     * @param pagesSavedInBackground pages the background thread saved because no write had reached them
     */
    public record Stats(long armingNanos, long savingNanos, long pages, long pagesCopiedByWriters, long pagesSavedInBackground) {}

    private LiveSnapshot(TrackedArena arena, BaseWriter base) {
        this.arena = arena;
        this.base = base;
        long before = System.nanoTime();
        this.copy = arena.copyBeforeWrite();
        this.startNanos = System.nanoTime();
        this.armingNanos = startNanos - before;
        this.saver = Thread.ofPlatform().daemon().name("pagemark-snapshot-saver").unstarted(this::save);
        saver.start();
    }

    /**
     * Starts a snapshot kept in memory ({@link #image()}). Returns once the arena is protected: its
     * contents at that moment are the snapshot.
     *
     * @throws UnsupportedOperationException if the arena's backend cannot copy before write
     * @throws IllegalStateException         if the arena is closed or another snapshot of it is running
     */
    public static LiveSnapshot inMemory(TrackedArena arena) {
        return new LiveSnapshot(Objects.requireNonNull(arena, "arena"), null);
    }

    /**
     * Starts a snapshot written to {@code directory} as a base checkpoint (the format of
     * {@link io.pagemark.checkpoint.Checkpointer}; it replaces the chain there once published).
     * Returns once the arena is protected: its contents at that moment are the snapshot.
     *
     * @throws IOException if the directory cannot be created or locked
     * @throws UnsupportedOperationException if the arena's backend cannot copy before write
     */
    public static LiveSnapshot toCheckpoint(TrackedArena arena, Path directory) throws IOException {
        Objects.requireNonNull(arena, "arena");
        BaseWriter base = BaseWriter.open(directory, arena.size(), arena.pageSize());
        try {
            return new LiveSnapshot(arena, base);
        } catch (RuntimeException | Error e) {
            base.close();
            throw e;
        }
    }

    /** The background thread: saves every page in order, then stops copying (and publishes, to a checkpoint). */
    private void save() {
        long pageSize = arena.pageSize();
        long pages = arena.pageCount();
        long savedInBackground = 0;
        try (Arena scratchScope = Arena.ofConfined()) {
            MemorySegment run = scratchScope.allocate(RUN_PAGES * pageSize, pageSize);
            MemorySegment zeroPage = scratchScope.allocate(pageSize, pageSize);
            MemorySegment memory = arena.segment();
            MemorySegment image = copy.image();
            for (long first = 0; first < pages; first += RUN_PAGES) {
                if (aborted) return;
                int count = (int) Math.min(RUN_PAGES, pages - first);
                // Read while still protected; each page's copy counts only if taking it below succeeds.
                MemorySegment.copy(memory, first * pageSize, run, 0, count * pageSize);
                for (int i = 0; i < count; i++) {
                    long page = first + i;
                    MemorySegment source;
                    long offset;
                    if (copy.takeUntouched(page)) {
                        savedInBackground++;
                        source = run;
                        offset = i * pageSize;
                        if (base == null && run.asSlice(offset, pageSize).mismatch(zeroPage) != -1) {
                            MemorySegment.copy(run, offset, image, page * pageSize, pageSize); // zero pages stay unmapped
                        }
                    } else {
                        copy.awaitFaultCopy(page);
                        source = image;
                        offset = page * pageSize;
                    }
                    if (base != null) base.add(page, source, offset);
                }
                if (base != null) copy.discard(first, count); // written: the fault paths' copies are not needed any more
                copy.release(first, count);
            }
            long copiedByWriters = copy.pagesCopiedByFaults();
            copy.stop(); // every page saved: writes need no copy any more
            if (base != null) checkpoint = base.publish();
            stats = new Stats(armingNanos, System.nanoTime() - startNanos, pages, copiedByWriters, savedInBackground);
        } catch (Throwable t) {
            failure = t;
        } finally {
            done.countDown();
        }
    }

    /**
     * Waits until every page is saved (and, to a checkpoint, published).
     *
     * @throws IOException           if writing the checkpoint failed (nothing was published)
     * @throws PagemarkException     if the snapshot failed otherwise (the arena was closed under it)
     * @throws IllegalStateException if the snapshot was closed before it completed
     */
    public Stats await() throws IOException, InterruptedException {
        done.await();
        return result();
    }

    /** True once the snapshot completed, failed or was closed. */
    public boolean isDone() {
        return done.getCount() == 0;
    }

    private Stats result() throws IOException {
        Throwable f = failure;
        if (f instanceof IOException io) throw io;
        if (f != null) {
            boolean arenaClosed = !arena.segment().scope().isAlive();
            throw new PagemarkException("the live snapshot failed" + (arenaClosed ? ": the arena was closed during it" : ""), f);
        }
        if (stats == null) throw new IllegalStateException("the live snapshot was closed before it completed");
        return stats;
    }

    /**
     * The arena as it was at the start, read-only; valid until {@link #close()}.
     *
     * @throws IllegalStateException if the snapshot goes to a checkpoint, or has not completed
     */
    public MemorySegment image() {
        if (base != null) throw new IllegalStateException("this snapshot was written to a checkpoint: restore it with Checkpointer.restore");
        if (stats == null) throw new IllegalStateException("the snapshot has not completed: await() first");
        return copy.image().asReadOnly();
    }

    /** The base checkpoint published, once a checkpoint snapshot completed; null otherwise. */
    public Checkpoint checkpoint() {
        return stats == null ? null : checkpoint;
    }

    /**
     * Stops the snapshot if it is still running (nothing is published), waits for the background
     * thread, stops copying and frees the image. The arena stays open and writable. Idempotent.
     */
    @Override
    public synchronized void close() throws IOException {
        if (closed) return;
        closed = true;
        aborted = true;
        boolean interrupted = false;
        while (true) {
            try {
                saver.join(); // it checks `aborted` every run of pages; a run's wait for a fault path is one page copy
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        try {
            copy.close();
        } finally {
            if (base != null) base.close();
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "LiveSnapshot[" + arena + (base != null ? ", to a checkpoint" : ", in memory")
                + (stats != null ? ", complete" : failure != null ? ", failed" : closed ? ", closed" : ", saving") + "]";
    }
}
