package io.pagemark.checkpoint;

import io.pagemark.DirtyPages;
import io.pagemark.PageRange;
import io.pagemark.TrackedArena;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Incremental checkpoints of a {@link TrackedArena} into a directory: the first checkpoint holds the
 * whole arena (a <em>base</em>), each later one only the pages written since the previous one (a
 * <em>delta</em>); {@link #restore(Path, MemorySegment)} rebuilds the arena byte for byte from the chain.
 *
 * <pre>{@code
 * try (TrackedArena arena = TrackedArena.open(256L << 20);
 *      Checkpointer checkpointer = Checkpointer.open(arena, Path.of("/var/lib/app/ckpt"))) {
 *     ... writers change arena.segment() ...
 *     checkpointer.checkpoint();            // first: a base of every non-zero page
 *     ... more writes ...
 *     checkpointer.checkpoint();            // a delta: only the pages written since
 *     checkpointer.compact();               // folds the chain into one base (optional)
 * }
 * // later, in another process:
 * try (TrackedArena restored = Checkpointer.restore(Path.of("/var/lib/app/ckpt"), TrackedArena.builder())) { ... }
 * }</pre>
 *
 * <p><b>Writers keep running.</b> A checkpoint collects the arena's dirty pages (which re-protects
 * them) and only then copies their contents, so a write that lands during the copy is caught and
 * goes into the next checkpoint. A checkpoint taken while writers run is therefore <em>fuzzy</em>:
 * each page is as it was at some moment during the checkpoint. A checkpoint taken while writers are
 * paused (a quiet point) restores to exactly the arena at that point; so does the chain after any
 * fuzzy checkpoints once one quiet checkpoint follows them. For a consistent image without pausing
 * writers, use a live snapshot.
 *
 * <p><b>Crashes and failures.</b> A checkpoint is published atomically: the file is written to a
 * temporary name, fsynced, renamed, and the directory fsynced; then the manifest that lists the
 * chain is replaced the same way, and that rename is the moment the checkpoint exists. A crash at
 * any point leaves the previous chain or the new one, both restorable. If {@link #checkpoint()}
 * fails (an {@link IOException}, a full disk), the pages it collected are kept and go into the next
 * checkpoint: a failed checkpoint never loses a write. Restore checks every byte (checksums on the
 * header, each page record, the trailer, the manifest) and refuses a damaged chain with a
 * {@link CheckpointCorruptException} naming the file and the offset.
 *
 * <p><b>Ownership.</b> The checkpointer is the arena's only collector: it calls {@link TrackedArena#arm()}
 * for each base and {@link TrackedArena#collect()} once per delta; pages collected by anyone else
 * would be missing from the chain. On soft-dirty, whose collect is only correct while writers are
 * stopped, the arena's {@link io.pagemark.WriterPause} stops them for that collect alone: the copy
 * and the file writing that follow run with the writers going again. The directory belongs to the checkpointer
 * (an fcntl lock keeps other processes out); files are created mode 0600. Opening on a directory
 * that already holds a chain continues it: the first checkpoint is a new base that replaces it.
 *
 * <p><b>Threads.</b> {@link #checkpoint()} and {@link #compact()} may be called from any thread,
 * one at a time (they serialize). Restores take no lock: they read the files the manifest lists, and
 * a compaction or a new base deletes the files it replaces, so restore from a directory no one is
 * writing (a restore that loses that race fails with a missing file; it never restores wrong).
 */
public final class Checkpointer implements AutoCloseable {
    private final TrackedArena arena;
    private final Path directory;
    private final FileLock lock;
    private final Staging staging;
    private final long pageSize;
    private final long pageCount;
    private final ReentrantLock mutex = new ReentrantLock();
    /** Pages collected from the arena that no published checkpoint holds yet: kept across a failed checkpoint. */
    private final BitSet unpublished;
    /** True until a base of this arena is published (a failed base stays owed). */
    private boolean baseOwed = true;
    /** The published chain: the one found in the directory until this checkpointer publishes a base. */
    private Manifest published;
    private long nextSequence;
    private boolean closed;

    private Checkpointer(TrackedArena arena, Path directory, FileLock lock, Manifest found, long nextSequence) {
        this.arena = arena;
        this.directory = directory;
        this.lock = lock;
        this.pageSize = arena.pageSize();
        this.pageCount = arena.pageCount();
        this.staging = new Staging((int) pageSize);
        this.unpublished = new BitSet((int) pageCount);
        this.published = found;
        this.nextSequence = nextSequence;
    }

    /**
     * A checkpointer of {@code arena} into {@code directory} (created, mode 0700, if absent). Nothing
     * is written until {@link #checkpoint()}. The arena stays the caller's: {@link #close()} does not close it.
     *
     * @throws IOException if the directory cannot be created or locked, or holds a damaged manifest
     * @throws IllegalArgumentException if the directory holds the chain of an arena of another size
     */
    public static Checkpointer open(TrackedArena arena, Path directory) throws IOException {
        Objects.requireNonNull(arena, "arena");
        Objects.requireNonNull(directory, "directory");
        if (arena.pageCount() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("the checkpointer handles arenas of up to " + Integer.MAX_VALUE
                    + " pages; this one has " + arena.pageCount());
        }
        Path dir = directory.toAbsolutePath();
        ChainDirectory.create(dir);
        FileLock lock = ChainDirectory.lock(dir);
        try {
            ChainDirectory.deleteTemporaryFiles(dir);
            Manifest found = ChainDirectory.readManifest(dir);
            if (found != null && (found.arenaSize() != arena.size() || found.pageSize() != arena.pageSize())) {
                throw new IllegalArgumentException(dir + " holds the checkpoints of a " + found.arenaSize() + "-byte arena ("
                        + found.pageSize() + "-byte pages), not of this " + arena.size() + "-byte one ("
                        + arena.pageSize() + "-byte pages): use another directory, or delete that one");
            }
            long highest = Math.max(ChainDirectory.highestSequence(dir), found == null ? 0 : found.head().sequence());
            return new Checkpointer(arena, dir, lock, found, highest + 1);
        } catch (IOException | RuntimeException e) {
            ChainDirectory.unlock(lock);
            throw e;
        }
    }

    /**
     * Writes and publishes the next checkpoint: a base (every non-zero page) the first time and after
     * a failed base, otherwise a delta of the pages written since the previous checkpoint. Writers may
     * keep running (see the class comment on fuzzy checkpoints).
     *
     * @return the checkpoint just published
     * @throws IOException if it could not be written; nothing is published then, and the next
     *                     checkpoint holds every page this one would have
     */
    public Checkpoint checkpoint() throws IOException {
        mutex.lock();
        try {
            ensureOpen();
            long sequence = nextSequence++;
            boolean base = baseOwed;
            Format.Header header;
            if (base) {
                // arm() makes every page clean and protected first, so reading every page after it is a
                // full checkpoint: a write during the read is caught and goes into the next delta.
                arena.arm();
                header = new Format.Header(Checkpoint.Kind.BASE, arena.size(), (int) pageSize, sequence, newStateId(), -1, 0);
            } else {
                DirtyPages dirty = arena.collect();
                // Recorded before anything can fail: from here these pages are this checkpointer's to publish.
                for (PageRange r : dirty) unpublished.set((int) r.firstPage(), (int) r.endPage());
                Manifest.Entry parent = published.head();
                header = new Format.Header(Checkpoint.Kind.DELTA, arena.size(), (int) pageSize, sequence, newStateId(),
                        parent.sequence(), parent.stateId());
            }
            Manifest.Entry entry;
            long pages;
            try (CheckpointFileWriter writer = new CheckpointFileWriter(directory, header, staging)) {
                MemorySegment memory = arena.segment();
                if (base) {
                    for (long p = 0; p < pageCount; p++) writer.add(p, memory, p * pageSize);
                } else {
                    for (int p = unpublished.nextSetBit(0); p >= 0; p = unpublished.nextSetBit(p + 1)) {
                        writer.add(p, memory, p * pageSize);
                    }
                }
                entry = writer.publish();
                pages = writer.records();
            }
            Manifest next = published == null ? new Manifest(arena.size(), (int) pageSize, List.of(entry)) : published.then(entry);
            ChainDirectory.writeManifest(directory, next);
            // Published: the pages are in the chain now.
            published = next;
            baseOwed = false;
            unpublished.clear();
            ChainDirectory.deleteUnlisted(directory, next);
            return new Checkpoint(sequence, header.kind(), pages, entry.bytes(), ChainDirectory.fileOf(directory, sequence, header.kind()));
        } finally {
            mutex.unlock();
        }
    }

    /**
     * Folds the published chain into one base holding the same state (atomically and crash-safe, like
     * a checkpoint), then deletes the folded files. Later checkpoints are deltas on that base.
     *
     * @return the chain now published
     * @throws IOException if nothing has been published yet, or the chain is damaged or cannot be rewritten
     */
    public Chain compact() throws IOException {
        mutex.lock();
        try {
            ensureOpen();
            if (published == null) throw new IOException("nothing to compact: no checkpoint has been published in " + directory);
            published = Compaction.compact(directory, published);
            return describe(directory, published);
        } finally {
            mutex.unlock();
        }
    }

    /** The chain published in the directory now, or null before the first checkpoint of an empty directory. */
    public Chain chain() {
        mutex.lock();
        try {
            return published == null ? null : describe(directory, published);
        } finally {
            mutex.unlock();
        }
    }

    /** The checkpoint directory (absolute). */
    public Path directory() {
        return directory;
    }

    /** Releases the directory (its lock and the staging buffers); the arena stays open. Idempotent. */
    @Override
    public void close() throws IOException {
        mutex.lock();
        try {
            if (closed) return;
            closed = true;
            staging.close();
            ChainDirectory.unlock(lock);
        } finally {
            mutex.unlock();
        }
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("this Checkpointer is closed");
    }

    private static long newStateId() {
        long id;
        do {
            id = ThreadLocalRandom.current().nextLong();
        } while (id == 0);
        return id;
    }

    // ---- reading a chain: no Checkpointer needed ----

    /**
     * Rebuilds into {@code target} the arena state of the chain published in {@code directory}: zero
     * fill, then the base and every delta in order, each checked byte for byte.
     *
     * @return the chain restored (its {@link Chain#head()} is the state {@code target} now holds)
     * @throws CheckpointCorruptException if any file is missing, truncated, out of place or damaged;
     *                                    {@code target}'s contents are then unspecified
     * @throws java.nio.file.NoSuchFileException if nothing was ever published there
     * @throws IllegalArgumentException if {@code target} is not the size of the checkpointed arena
     */
    public static Chain restore(Path directory, MemorySegment target) throws IOException {
        Path dir = directory.toAbsolutePath();
        Manifest manifest = ChainDirectory.requireManifest(dir);
        if (target.byteSize() != manifest.arenaSize()) {
            throw new IllegalArgumentException("the target is " + target.byteSize() + " bytes; the chain in " + dir
                    + " holds an arena of " + manifest.arenaSize() + " bytes");
        }
        target.fill((byte) 0);
        return apply(dir, manifest, target);
    }

    /**
     * Opens a new {@link TrackedArena} from {@code arena} (a builder carrying the backend and the
     * other options; its size is set here to the checkpointed size) and rebuilds the chain's state in
     * it. The arena is not armed: open a {@link Checkpointer} on it to continue.
     *
     * <pre>{@code
     * TrackedArena restored = Checkpointer.restore(dir, TrackedArena.builder().backend("uffd-async"));
     * }</pre>
     *
     * @throws CheckpointCorruptException if the chain is damaged (the new arena is closed then)
     * @throws java.nio.file.NoSuchFileException if nothing was ever published there
     */
    public static TrackedArena restore(Path directory, TrackedArena.Builder arena) throws IOException {
        Path dir = directory.toAbsolutePath();
        Manifest manifest = ChainDirectory.requireManifest(dir);
        TrackedArena restored = arena.size(manifest.arenaSize()).open();
        try {
            if (restored.pageSize() != manifest.pageSize()) {
                throw new IOException("the chain in " + dir + " has " + manifest.pageSize() + "-byte pages, this machine "
                        + restored.pageSize() + "-byte pages");
            }
            // A new mapping reads as zeros already: only the pages the chain holds are touched.
            apply(dir, manifest, restored.segment());
            return restored;
        } catch (IOException | RuntimeException e) {
            restored.close();
            throw e;
        }
    }

    /**
     * Compacts the chain published in {@code directory} (see {@link #compact()}) without an arena.
     * Takes the directory's lock: fails if a Checkpointer has it open.
     */
    public static Chain compact(Path directory) throws IOException {
        Path dir = directory.toAbsolutePath();
        FileLock lock = ChainDirectory.lock(dir);
        try {
            ChainDirectory.deleteTemporaryFiles(dir);
            return describe(dir, Compaction.compact(dir, ChainDirectory.requireManifest(dir)));
        } finally {
            ChainDirectory.unlock(lock);
        }
    }

    /**
     * The chain published in {@code directory}, from its manifest alone (the files are not read;
     * {@link #restore} checks them).
     */
    public static Chain chain(Path directory) throws IOException {
        Path dir = directory.toAbsolutePath();
        return describe(dir, ChainDirectory.requireManifest(dir));
    }

    private static Chain apply(Path dir, Manifest manifest, MemorySegment target) throws IOException {
        long pageSize = manifest.pageSize();
        ChainReader.read(dir, manifest, (page, data, file, offset) -> MemorySegment.copy(data, 0, target, page * pageSize, pageSize));
        return describe(dir, manifest);
    }

    private static Chain describe(Path dir, Manifest manifest) {
        List<Checkpoint> files = new ArrayList<>(manifest.entries().size());
        long recordBytes = Format.recordBytes(manifest.pageSize());
        for (Manifest.Entry e : manifest.entries()) {
            long pages = (e.bytes() - Format.HEADER_BYTES - Format.TRAILER_BYTES) / recordBytes;
            files.add(new Checkpoint(e.sequence(), e.kind(), pages, e.bytes(), ChainDirectory.fileOf(dir, e.sequence(), e.kind())));
        }
        return new Chain(dir, manifest.arenaSize(), manifest.pageSize(), files);
    }
}
