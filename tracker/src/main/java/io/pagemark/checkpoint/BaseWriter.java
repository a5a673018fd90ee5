package io.pagemark.checkpoint;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Writes a base checkpoint from pages handed in one at a time, for producers other than a
 * {@link Checkpointer}: a live snapshot ({@code io.pagemark.snapshot.LiveSnapshot}) streams the arena
 * as it was at its start. The file is the same format, published the same way (temporary file,
 * fsync, rename, then the manifest), and replaces the chain the directory held;
 * {@link Checkpointer#restore} restores it, and a {@link Checkpointer} opened on the directory continues it.
 *
 * <pre>{@code
 * try (BaseWriter base = BaseWriter.open(dir, arenaSize, pageSize)) {
 *     for (long p = 0; p < pages; p++) base.add(p, memory, p * pageSize);   // zero pages are left out
 *     Checkpoint published = base.publish();
 * }
 * }</pre>
 * Holds the directory's lock from open to close; closing unpublished publishes nothing and leaves no file.
 */
public final class BaseWriter implements AutoCloseable {
    private final ChainDirectory directory;
    private final FileLock lock;
    private final Staging staging;
    private final Format.Header header;
    private final CheckpointFileWriter writer;
    private final long pageCount;
    private boolean published;
    private boolean closed;

    private BaseWriter(ChainDirectory directory, FileLock lock, Staging staging, Format.Header header, CheckpointFileWriter writer) {
        this.directory = directory;
        this.lock = lock;
        this.staging = staging;
        this.header = header;
        this.writer = writer;
        this.pageCount = header.arenaSize() / header.pageSize();
    }

    /**
     * Starts a base of an arena of {@code arenaSize} bytes in pages of {@code pageSize} in
     * {@code directory} (created, mode 0700, if absent; locked against other processes). The directory
     * is checked as {@link Checkpointer#open(io.pagemark.TrackedArena, Path)} checks it.
     *
     * @throws IOException if the directory is not one to trust or not writable (saying why), or is in use
     * @throws IllegalArgumentException if the page size is not a power of two or the size not whole pages
     */
    public static BaseWriter open(Path directory, long arenaSize, long pageSize) throws IOException {
        Objects.requireNonNull(directory, "directory");
        if (pageSize <= 0 || pageSize > Integer.MAX_VALUE || Long.bitCount(pageSize) != 1 || arenaSize <= 0 || arenaSize % pageSize != 0) {
            throw new IllegalArgumentException("a base needs a power-of-two page size and a positive whole number of pages; got "
                    + arenaSize + " bytes in pages of " + pageSize);
        }
        ChainDirectory dir = ChainDirectory.open(directory, true);
        FileLock lock = null;
        Staging staging = null;
        try {
            lock = dir.lock();
            Manifest found = dir.readManifest();
            long sequence = Math.max(dir.highestSequence(), found == null ? 0 : found.head().sequence()) + 1;
            Format.Header header = new Format.Header(Checkpoint.Kind.BASE, arenaSize, (int) pageSize, sequence,
                    Checkpointer.newStateId(), -1, 0);
            staging = new Staging((int) pageSize);
            return new BaseWriter(dir, lock, staging, header, new CheckpointFileWriter(dir, header, staging));
        } catch (IOException | RuntimeException e) {
            if (staging != null) staging.close();
            try {
                if (lock != null) ChainDirectory.unlock(lock);
            } finally {
                dir.close();
            }
            throw e;
        }
    }

    /** Appends page {@code page} ({@code pageSize} bytes of {@code source} at {@code offset}); a zero page is left out. */
    public void add(long page, MemorySegment source, long offset) throws IOException {
        ensureWriting();
        if (page < 0 || page >= pageCount) throw new IndexOutOfBoundsException("page " + page + " of " + pageCount);
        writer.add(page, source, offset);
    }

    /** Finishes the file and publishes it as the directory's whole chain; the chain it replaces is deleted. */
    public Checkpoint publish() throws IOException {
        ensureWriting();
        Manifest.Entry entry = writer.publish();
        Manifest chain = new Manifest(header.arenaSize(), header.pageSize(), List.of(entry));
        directory.writeManifest(chain);
        published = true;
        directory.deleteUnlisted(chain);
        return new Checkpoint(header.sequence(), Checkpoint.Kind.BASE, writer.records(), entry.bytes(),
                directory.fileOf(header.sequence(), Checkpoint.Kind.BASE));
    }

    /** Releases the directory; unpublished, its temporary file is deleted and nothing changes. Idempotent. */
    @Override
    public void close() throws IOException {
        if (closed) return;
        closed = true;
        try (directory) {
            try {
                writer.close();
            } finally {
                staging.close();
                ChainDirectory.unlock(lock);
            }
        }
    }

    private void ensureWriting() {
        if (closed) throw new IllegalStateException("this BaseWriter is closed");
        if (published) throw new IllegalStateException("this base is published already");
    }
}
