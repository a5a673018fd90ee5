package io.pagemark.checkpoint;

import io.pagemark.DirtyPages;
import io.pagemark.PageRange;
import io.pagemark.TrackedArena;
import io.pagemark.cut.Cut;
import io.pagemark.cut.CutSource;

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
 * <p><b>Writers keep running.</b> On a backend that copies before write (uffd-sync, uffd-sigbus,
 * mprotect: {@link #consistent()}) every checkpoint is a <em>consistent</em> cut
 * ({@link io.pagemark.cut.CutSource}): it restores to the arena exactly as it was at one instant
 * (the cut's, near the start of {@link #checkpoint()}), while the writers keep writing. A base is a
 * cut of every page, a delta a cut of the pages written since the previous checkpoint's instant;
 * a writer's first write to a page of the cut that is not yet in the file waits for one page copy.
 * On the other backends (uffd-async, soft-dirty, card-table) a checkpoint collects the arena's dirty
 * pages (which re-protects them) and only then copies their contents, so a write that lands during
 * the copy is caught and goes into the next checkpoint: a checkpoint taken while writers run is
 * <em>fuzzy</em> there, each page as it was at some moment during the checkpoint. One taken while
 * writers are paused (a quiet point) restores to exactly the arena at that point; so does the chain
 * after fuzzy checkpoints once one quiet checkpoint follows them.
 *
 * <p><b>Crashes and failures.</b> A checkpoint is published atomically: the file is written to a
 * temporary name, fsynced, renamed, and the directory fsynced; then the manifest that lists the
 * chain is replaced the same way, and that rename is the moment the checkpoint exists. A crash at
 * any point leaves the previous chain or the new one, both restorable. If {@link #checkpoint()}
 * fails (an {@link IOException}, a full disk), the pages it collected are kept and go into the next
 * checkpoint (a consistent checkpointer's next checkpoint is a base: a cut cannot be read again as at
 * a later instant): a failed checkpoint never loses a write. Restore checks every byte (checksums on the
 * header, each page record, the trailer, the manifest) and refuses a damaged chain with a
 * {@link CheckpointCorruptException} naming the file and the offset, before it changes its target
 * (see {@link #restore(Path, MemorySegment)} for the cost). With a {@link SequencePin}, a chain
 * older than one already seen (an older manifest put back) is refused too.
 *
 * <p><b>The directory.</b> Every entry point checks it as ssh checks its key directories: owned by
 * this process's user (or root), writable by no one else; otherwise it fails with what is wrong
 * and the fix ({@link #tightenPermissions(Path)} is one). Every file in it is opened relative to the
 * directory and never through a symbolic link; the directory's own path may be a link, resolved
 * once. Writers ({@link #open(TrackedArena, Path)}, {@link #compact(Path)}, {@link BaseWriter}) check up front that they can create, write,
 * fsync and rename files there, and fail at once, in one line, if not.
 *
 * <p><b>Ownership.</b> A consistent checkpointer is the arena's only cutter: it opens a
 * {@link CutSource} at its first checkpoint (a base's full cut disarms the arena first; from then on
 * the arena's pages stay protected between checkpoints, also after {@link #close()}, until
 * {@link TrackedArena#disarm()}), and it does not collect: others may arm and collect the arena,
 * though a collect then needs an {@code arm()} after each base. On mprotect,
 * {@link TrackedArena#discard} is refused while the arena is cut. A fuzzy checkpointer is the
 * arena's only collector: it calls {@link TrackedArena#arm()}
 * for each base and {@link TrackedArena#collect()} once per delta; pages collected by anyone else
 * would be missing from the chain. On soft-dirty, whose collect is only correct while writers are
 * stopped, the arena's {@link io.pagemark.WriterPause} stops them for that collect alone: the copy
 * and the file writing that follow run with the writers going again. The directory belongs to the checkpointer
 * (an fcntl lock keeps other processes out); files are created mode 0600, directories 0700. Opening on a directory
 * that already holds a chain continues it: the first checkpoint is a new base that replaces it.
 *
 * <p><b>Threads.</b> {@link #checkpoint()} and {@link #compact()} may be called from any thread,
 * one at a time (they serialize). Restores take no lock: they read the files the manifest lists, and
 * a compaction or a new base deletes the files it replaces, so restore from a directory no one is
 * writing (a restore that loses that race fails with a missing file; it never restores wrong).
 */
public final class Checkpointer implements AutoCloseable {
    private final TrackedArena arena;
    private final ChainDirectory directory;
    private final FileLock lock;
    /** Advanced after every publish; null without one. */
    private final SequencePin pin;
    private final Staging staging;
    private final long pageSize;
    private final long pageCount;
    private final ReentrantLock mutex = new ReentrantLock();
    /** Checkpoints are cuts (the backend copies before write); else fuzzy: collected, then read. */
    private final boolean consistent;
    /** The cuts of a consistent checkpointer, from its first checkpoint on. */
    private CutSource cuts;
    /** Pages collected from the arena that no published checkpoint holds yet: kept across a failed checkpoint. */
    private final BitSet unpublished;
    /** True until a base of this arena is published (a failed base stays owed). */
    private boolean baseOwed = true;
    /** The published chain: the one found in the directory until this checkpointer publishes a base. */
    private Manifest published;
    private long nextSequence;
    private boolean closed;

    private Checkpointer(TrackedArena arena, ChainDirectory directory, FileLock lock, SequencePin pin, Manifest found, long nextSequence) {
        this.arena = arena;
        this.directory = directory;
        this.lock = lock;
        this.pin = pin;
        this.pageSize = arena.pageSize();
        this.pageCount = arena.pageCount();
        this.staging = new Staging((int) pageSize);
        this.unpublished = new BitSet((int) pageCount);
        this.consistent = arena.backend().canCopyBeforeWrite();
        this.published = found;
        this.nextSequence = nextSequence;
    }

    /**
     * A checkpointer of {@code arena} into {@code directory} (created, mode 0700, if absent). Nothing
     * is written until {@link #checkpoint()}. The arena stays the caller's: {@link #close()} does not close it.
     *
     * @throws IOException if the directory fails its checks (another user's, writable by others, a
     *                     dangling link: the message says what and how to fix it), cannot be written
     *                     (checked here: create, write, fsync, rename), is in use, or holds a damaged manifest
     * @throws IllegalArgumentException if the directory holds the chain of an arena of another size
     */
    public static Checkpointer open(TrackedArena arena, Path directory) throws IOException {
        return openWith(arena, directory, null);
    }

    /**
     * A checkpointer as {@link #open(TrackedArena, Path)} makes, that refuses a directory whose chain
     * is older than {@code pin} has seen (a rollback), and advances {@code pin} after every checkpoint
     * it publishes.
     *
     * <pre>{@code
     * SequencePin pin = SequencePin.sidecar(Path.of("/var/lib/app/ckpt.pin"));
     * try (Checkpointer checkpointer = Checkpointer.open(arena, Path.of("/var/lib/app/ckpt"), pin)) { ... }
     * }</pre>
     *
     * @throws CheckpointCorruptException if the directory's chain is older than the pin, or it holds none the pin has seen one
     */
    public static Checkpointer open(TrackedArena arena, Path directory, SequencePin pin) throws IOException {
        return openWith(arena, directory, Objects.requireNonNull(pin, "pin"));
    }

    private static Checkpointer openWith(TrackedArena arena, Path directory, SequencePin pin) throws IOException {
        Objects.requireNonNull(arena, "arena");
        Objects.requireNonNull(directory, "directory");
        if (arena.pageCount() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("the checkpointer handles arenas of up to " + Integer.MAX_VALUE
                    + " pages; this one has " + arena.pageCount());
        }
        ChainDirectory dir = ChainDirectory.open(directory, true);
        FileLock lock = null;
        try {
            lock = dir.lock();
            Manifest found = dir.readManifest();
            if (found != null && (found.arenaSize() != arena.size() || found.pageSize() != arena.pageSize())) {
                throw new IllegalArgumentException(dir.path() + " holds the checkpoints of a " + found.arenaSize() + "-byte arena ("
                        + found.pageSize() + "-byte pages), not of this " + arena.size() + "-byte one ("
                        + arena.pageSize() + "-byte pages): use another directory, or delete that one");
            }
            if (pin != null) pin.check(dir, found);
            // The pin is at most the head here (else check refused), so new sequence numbers are above it too.
            long highest = Math.max(dir.highestSequence(), found == null ? 0 : found.head().sequence());
            return new Checkpointer(arena, dir, lock, pin, found, highest + 1);
        } catch (IOException | RuntimeException e) {
            try {
                if (lock != null) ChainDirectory.unlock(lock);
            } finally {
                dir.close();
            }
            throw e;
        }
    }

    /**
     * Writes and publishes the next checkpoint: a base (every non-zero page) the first time and after
     * a failed base (or, if {@link #consistent()}, after any failed checkpoint), otherwise a delta of the
     * pages written since the previous checkpoint. Writers may keep running (see the class comment:
     * consistent or fuzzy, by backend).
     *
     * @return the checkpoint just published
     * @throws IOException if it could not be written; nothing is published then, and the next
     *                     checkpoint holds every page this one would have. (One exception, said in
     *                     its message: the checkpoint was published but the {@link SequencePin}
     *                     could not record it; the pin is then behind, which weakens it, never
     *                     makes it refuse a good chain.)
     */
    public Checkpoint checkpoint() throws IOException {
        mutex.lock();
        try {
            ensureOpen();
            long sequence = nextSequence++;
            boolean base = baseOwed;
            Manifest.Entry parent = base ? null : published.head();
            Format.Header header = base ? new Format.Header(Checkpoint.Kind.BASE, arena.size(), (int) pageSize, sequence, newStateId(), -1, 0)
                    : new Format.Header(Checkpoint.Kind.DELTA, arena.size(), (int) pageSize, sequence, newStateId(),
                            parent.sequence(), parent.stateId());
            if (consistent) {
                // A failed checkpoint's cut cannot be read again as at a later instant: what it held is owed as a new base.
                baseOwed = true;
            } else if (base) {
                // arm() makes every page clean and protected first, so reading every page after it is a
                // full checkpoint: a write during the read is caught and goes into the next delta.
                arena.arm();
            } else {
                DirtyPages dirty = arena.collect();
                // Recorded before anything can fail: from here these pages are this checkpointer's to publish.
                for (PageRange r : dirty) unpublished.set((int) r.firstPage(), (int) r.endPage());
            }
            Manifest.Entry entry;
            long pages;
            try (CheckpointFileWriter writer = new CheckpointFileWriter(directory, header, staging)) {
                if (consistent) {
                    writeCut(writer, base);
                } else if (base) {
                    afterInstantForTest.run();
                    for (long p = 0; p < pageCount; p++) writer.add(p, this::copyFromArena);
                } else {
                    afterInstantForTest.run();
                    for (int p = unpublished.nextSetBit(0); p >= 0; p = unpublished.nextSetBit(p + 1)) writer.add(p, this::copyFromArena);
                }
                entry = writer.publish();
                pages = writer.records();
            }
            Manifest next = published == null ? new Manifest(arena.size(), (int) pageSize, List.of(entry)) : published.then(entry);
            directory.writeManifest(next);
            // Published: the pages are in the chain now.
            published = next;
            baseOwed = false;
            unpublished.clear();
            directory.deleteUnlisted(next);
            // Only after the manifest's rename: a pin ahead of the published chain would refuse it after a crash.
            if (pin != null) {
                try {
                    pin.advance(sequence);
                } catch (IOException e) {
                    throw new IOException("checkpoint " + sequence + " is published, but " + pin + " could not record it: "
                            + e.getMessage(), e);
                }
            }
            return new Checkpoint(sequence, header.kind(), pages, entry.bytes(), directory.fileOf(sequence, header.kind()));
        } finally {
            mutex.unlock();
        }
    }

    /**
     * Writes a cut's pages: every page (a full cut) for a base, else the pages written since the
     * previous cut, each as at the cut's instant while the writers keep writing. The cut is closed
     * as soon as its pages are in the file's buffers, before the file is synced.
     */
    private void writeCut(CheckpointFileWriter writer, boolean base) throws IOException {
        if (cuts == null) cuts = CutSource.open(arena);
        try (Cut cut = base ? cuts.fullCut() : cuts.cut()) {
            afterInstantForTest.run();
            CheckpointFileWriter.PageSource from = bypassCutForTest ? this::copyFromArena : cut::copyTo;
            for (PageRange r : cut.pages()) {
                for (long p = r.firstPage(); p < r.endPage(); p++) writer.add(p, from);
            }
        }
    }

    private void copyFromArena(long page, MemorySegment destination, long offset) {
        MemorySegment.copy(arena.segment(), page * pageSize, destination, offset, pageSize);
    }

    /**
     * Test hook: runs right after a checkpoint's instant (its cut; a fuzzy checkpoint's arm or collect),
     * before its pages are read (the tests let writers go there).
     */
    Runnable afterInstantForTest = () -> { };

    /** Test hook (the teeth of the consistency test): a cut's pages are read from the arena as they are now, not as at the cut. */
    boolean bypassCutForTest;

    /**
     * True if every checkpoint is the arena as it was at one instant, with the writers running: the
     * arena's backend copies before write (uffd-sync, uffd-sigbus, mprotect), so checkpoints are
     * taken from cuts ({@link CutSource}). False on the other backends: a checkpoint taken while
     * writers run is fuzzy there (see the class comment).
     */
    public boolean consistent() {
        return consistent;
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
            if (published == null) throw new IOException("nothing to compact: no checkpoint has been published in " + directory.path());
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
        return directory.path();
    }

    /** Releases the directory (its lock and the staging buffers); the arena stays open. Idempotent. */
    @Override
    public void close() throws IOException {
        mutex.lock();
        try {
            if (closed) return;
            closed = true;
            if (cuts != null) cuts.close();
            staging.close();
            try (directory) {
                ChainDirectory.unlock(lock);
            }
        } finally {
            mutex.unlock();
        }
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("this Checkpointer is closed");
    }

    static long newStateId() {
        long id;
        do {
            id = ThreadLocalRandom.current().nextLong();
        } while (id == 0);
        return id;
    }

    // ---- reading a chain: no Checkpointer needed ----

    /**
     * Rebuilds into {@code target} the arena state of the chain published in {@code directory}. The
     * whole chain is checked first, byte for byte; only then is {@code target} zero-filled and the
     * base and every delta applied in order. So a damaged chain leaves {@code target} as it was.
     *
     * <pre>{@code
     * MemorySegment memory = ...;                          // of the checkpointed arena's size
     * Chain chain = Checkpointer.restore(dir, memory);     // chain.sequence(): the checkpoint now in memory
     * }</pre>
     *
     * <p>The cost of that guarantee: the chain is read twice (the second time from the same open
     * files, usually from the page cache), the checksums computed twice. {@link #restore(Path,
     * TrackedArena.Builder)} reads it once: its target is a new arena, closed if the chain is damaged.
     * Only a read error of the disk, or a file rewritten in place between the two passes (by its
     * owner or root: the library never rewrites a published file), can fail the second pass: still
     * reported, but {@code target} is partly rebuilt then.
     *
     * @return the chain restored (its {@link Chain#head()} is the state {@code target} now holds)
     * @throws CheckpointCorruptException if any file is missing, truncated, out of place or damaged
     * @throws java.nio.file.NoSuchFileException if nothing was ever published there
     * @throws IOException if the directory fails its checks (see the class comment)
     * @throws IllegalArgumentException if {@code target} is not the size of the checkpointed arena
     */
    public static Chain restore(Path directory, MemorySegment target) throws IOException {
        return restoreInto(directory, target, null);
    }

    /**
     * {@link #restore(Path, MemorySegment)}, refusing a chain older than {@code pin} has seen before
     * {@code target} is touched; then {@code pin} is advanced to the chain restored.
     *
     * @throws CheckpointCorruptException also if the chain is older than the pin (a rollback)
     */
    public static Chain restore(Path directory, MemorySegment target, SequencePin pin) throws IOException {
        return restoreInto(directory, target, Objects.requireNonNull(pin, "pin"));
    }

    private static Chain restoreInto(Path directory, MemorySegment target, SequencePin pin) throws IOException {
        Objects.requireNonNull(target, "target");
        try (ChainDirectory dir = ChainDirectory.open(directory, false)) {
            Manifest manifest = dir.requireManifest();
            if (target.byteSize() != manifest.arenaSize()) {
                throw new IllegalArgumentException("the target is " + target.byteSize() + " bytes; the chain in " + dir.path()
                        + " holds an arena of " + manifest.arenaSize() + " bytes");
            }
            if (pin != null) pin.check(dir, manifest);
            long pageSize = manifest.pageSize();
            try (ChainReader chain = ChainReader.open(dir, manifest)) {
                chain.read((page, data, file, offset) -> { });     // verify: nothing is written before every byte checked out
                if (pin != null) pin.advance(manifest.head().sequence());
                target.fill((byte) 0);
                chain.read((page, data, file, offset) -> MemorySegment.copy(data, 0, target, page * pageSize, pageSize));
            }
            return describe(dir, manifest);
        }
    }

    /**
     * Opens a new {@link TrackedArena} from {@code arena} (a builder carrying the backend and the
     * other options; the arena gets the checkpointed size, the builder itself is left as it is) and
     * rebuilds the chain's state in it, reading the chain once. The arena is not armed: open a
     * {@link Checkpointer} on it to continue.
     *
     * <pre>{@code
     * TrackedArena restored = Checkpointer.restore(dir, TrackedArena.builder().backend("uffd-async"));
     * }</pre>
     *
     * @throws CheckpointCorruptException if the chain is damaged (the new arena is closed then)
     * @throws java.nio.file.NoSuchFileException if nothing was ever published there
     * @throws IOException if the directory fails its checks (see the class comment)
     */
    public static TrackedArena restore(Path directory, TrackedArena.Builder arena) throws IOException {
        return restoreArena(directory, arena, null);
    }

    /**
     * {@link #restore(Path, TrackedArena.Builder)}, refusing a chain older than {@code pin} has seen
     * before an arena is opened; then {@code pin} is advanced to the chain restored.
     *
     * <pre>{@code
     * SequencePin pin = SequencePin.sidecar(Path.of("/var/lib/app/ckpt.pin"));
     * try (TrackedArena restored = Checkpointer.restore(dir, TrackedArena.builder(), pin)) { ... }
     * }</pre>
     *
     * @throws CheckpointCorruptException also if the chain is older than the pin (a rollback)
     */
    public static TrackedArena restore(Path directory, TrackedArena.Builder arena, SequencePin pin) throws IOException {
        return restoreArena(directory, arena, Objects.requireNonNull(pin, "pin"));
    }

    private static TrackedArena restoreArena(Path directory, TrackedArena.Builder arena, SequencePin pin) throws IOException {
        Objects.requireNonNull(arena, "arena");
        try (ChainDirectory dir = ChainDirectory.open(directory, false)) {
            Manifest manifest = dir.requireManifest();
            if (pin != null) pin.check(dir, manifest);
            TrackedArena restored = arena.copy().size(manifest.arenaSize()).open();
            try {
                if (restored.pageSize() != manifest.pageSize()) {
                    throw new IOException("the chain in " + dir.path() + " has " + manifest.pageSize() + "-byte pages, this machine "
                            + restored.pageSize() + "-byte pages");
                }
                // A new mapping reads as zeros already: only the pages the chain holds are touched.
                long pageSize = manifest.pageSize();
                MemorySegment target = restored.segment();
                ChainReader.read(dir, manifest, (page, data, file, offset) -> MemorySegment.copy(data, 0, target, page * pageSize, pageSize));
                if (pin != null) pin.advance(manifest.head().sequence());
                return restored;
            } catch (IOException | RuntimeException e) {
                restored.close();
                throw e;
            }
        }
    }

    /**
     * Compacts the chain published in {@code directory} (see {@link #compact()}) without an arena.
     * Takes the directory's lock (fails if a Checkpointer has it open) and checks that it can write
     * there before it reads the chain.
     */
    public static Chain compact(Path directory) throws IOException {
        try (ChainDirectory dir = ChainDirectory.open(directory, false)) {
            FileLock lock = dir.lock();
            try {
                return describe(dir, Compaction.compact(dir, dir.requireManifest()));
            } finally {
                ChainDirectory.unlock(lock);
            }
        }
    }

    /**
     * The chain published in {@code directory}, from its manifest alone (the files are not read;
     * {@link #restore} checks them).
     */
    public static Chain chain(Path directory) throws IOException {
        try (ChainDirectory dir = ChainDirectory.open(directory, false)) {
            return describe(dir, dir.requireManifest());
        }
    }

    /**
     * Makes {@code directory} pass the checks every entry point applies, if this process's user owns
     * it: creates it (mode 0700) if absent, otherwise takes every permission away from group and
     * others (the owner's stay), as {@code chmod go-rwx} would.
     *
     * <pre>{@code
     * Checkpointer.open(arena, Checkpointer.tightenPermissions(Path.of("/srv/app/ckpt")));   // was 0777
     * }</pre>
     *
     * @return the directory, absolute
     * @throws IOException if another user owns it (only its owner or root can change it: use a directory of your own)
     */
    public static Path tightenPermissions(Path directory) throws IOException {
        return ChainDirectory.tighten(Objects.requireNonNull(directory, "directory"));
    }

    private static Chain describe(ChainDirectory dir, Manifest manifest) {
        List<Checkpoint> files = new ArrayList<>(manifest.entries().size());
        long recordBytes = Format.recordBytes(manifest.pageSize());
        for (Manifest.Entry e : manifest.entries()) {
            long pages = (e.bytes() - Format.HEADER_BYTES - Format.TRAILER_BYTES) / recordBytes;
            files.add(new Checkpoint(e.sequence(), e.kind(), pages, e.bytes(), dir.fileOf(e.sequence(), e.kind())));
        }
        return new Chain(dir.path(), manifest.arenaSize(), manifest.pageSize(), files);
    }
}
