package io.pagemark.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The newest checkpoint sequence number seen, pinned so that a chain older than it is reported
 * instead of restored: checksums cannot tell an older manifest put back, intact, from the newest
 * one (a directory restored from an old backup, a file copied over the manifest), but a chain
 * whose head is older than a checkpoint already seen must be such a rollback.
 *
 * <p>Either the caller keeps the number ({@link #of(long)}: in its own database, with a replica, in a
 * configuration management system) or a small sidecar file does ({@link #sidecar(Path)}). A
 * {@link Checkpointer} opened with a pin advances it after every checkpoint it publishes; a restore
 * with a pin refuses an older chain before it changes anything, then advances the pin to the chain
 * restored.
 *
 * <pre>{@code
 * SequencePin pin = SequencePin.sidecar(Path.of("/var/lib/app/ckpt.pin"));   // next to, not inside, the checkpoint directory
 * try (Checkpointer checkpointer = Checkpointer.open(arena, dir, pin)) {
 *     checkpointer.checkpoint();                  // published, then the sidecar records its sequence
 * }
 * // after a crash, or after someone put back an older copy of the directory:
 * try (TrackedArena restored = Checkpointer.restore(dir, TrackedArena.builder(), pin)) { ... }
 * // CheckpointCorruptException "... holds checkpoint 7, older than checkpoint 9, the newest the sequence pin ... has seen"
 *
 * SequencePin mine = SequencePin.of(lastSeen);    // or keep the number yourself
 * Chain chain = Checkpointer.restore(dir, segment, mine);
 * store(mine.newest());                           // chain.sequence(), now
 * }</pre>
 *
 * <p>A pin only ever moves forward. The sidecar is replaced atomically and durably (temporary file,
 * fsync, rename, directory fsync: two more fsyncs per checkpoint), is read without following a link,
 * and its directory must pass the checks a checkpoint directory does; it must not be the checkpoint
 * directory itself, since whatever replaces that directory's manifest can replace a pin kept beside it.
 * A missing sidecar reads as 0 (nothing seen yet): the pin is as strong as the place it is kept.
 * Thread-safe.
 */
public final class SequencePin {
    private static final int BYTES = 24;

    private final Path sidecar;
    private long newest;

    private SequencePin(Path sidecar, long newest) {
        this.sidecar = sidecar;
        this.newest = newest;
    }

    /**
     * A pin the caller keeps: {@code newestSeen} is the newest sequence number it saw (0: none yet);
     * read {@link #newest()} to keep it after a checkpoint or a restore.
     *
     * @throws IllegalArgumentException if negative
     */
    public static SequencePin of(long newestSeen) {
        if (newestSeen < 0) throw new IllegalArgumentException("a sequence number is at least 0, got " + newestSeen);
        return new SequencePin(null, newestSeen);
    }

    /**
     * A pin kept in file {@code file} (created on the first advance; a missing file reads as 0).
     *
     * @throws CheckpointCorruptException if the file is damaged or a symbolic link
     * @throws IOException if its directory fails the checkpoint directory checks, or it cannot be read
     */
    public static SequencePin sidecar(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        Path absolute = file.toAbsolutePath();
        if (absolute.getFileName() == null) throw new IllegalArgumentException("a sequence pin is a file, not " + absolute);
        SequencePin pin = new SequencePin(absolute, 0);
        pin.newest = pin.read();
        return pin;
    }

    /** The newest sequence number this pin has seen (0: none). */
    public synchronized long newest() {
        return newest;
    }

    /**
     * Refuses {@code found}, the chain {@code dir} holds (null: none), if it is older than what this pin
     * has seen; a sidecar is read anew first, so a pin another process advanced counts.
     */
    synchronized void check(ChainDirectory dir, Manifest found) throws IOException {
        if (sidecar != null) {
            if (Files.isSameFile(sidecar.getParent(), dir.path())) {
                throw new IllegalArgumentException("the sequence pin " + sidecar + " is inside the checkpoint directory " + dir.path()
                        + ": whatever replaces the manifest can replace it too; keep it in another directory");
            }
            newest = Math.max(newest, read());
        }
        if (found == null && newest > 0) {
            throw new CheckpointCorruptException(dir.file(ChainDirectory.MANIFEST), 0, "missing, while " + describe()
                    + " has seen checkpoint " + newest + " here: the chain was deleted or the directory replaced (a rollback);"
                    + " to start over on purpose, start the pin over too");
        }
        if (found != null && found.head().sequence() < newest) {
            throw new CheckpointCorruptException(dir.file(ChainDirectory.MANIFEST), 0, "holds checkpoint " + found.head().sequence()
                    + ", older than checkpoint " + newest + ", the newest " + describe() + " has seen: an older manifest was put"
                    + " back (a rollback)");
        }
    }

    /** Records that checkpoint {@code sequence} was published or restored (a pin never moves back). */
    synchronized void advance(long sequence) throws IOException {
        if (sequence <= newest) return;
        if (sidecar != null) {
            ByteBuffer b = Format.littleEndian(BYTES);
            b.putLong(Format.PIN_MAGIC).putInt(Format.VERSION).putLong(sequence);
            b.putInt(Format.crc32c(b, 0, BYTES - Integer.BYTES));
            try (ChainDirectory dir = ChainDirectory.open(sidecar.getParent(), false)) {
                dir.replace(sidecar.getFileName().toString(), b.flip());
            }
        }
        newest = sequence;
    }

    private long read() throws IOException {
        ByteBuffer b;
        try (ChainDirectory dir = ChainDirectory.open(sidecar.getParent(), false)) {
            b = dir.readSmall(sidecar.getFileName().toString());
        } catch (NoSuchFileException noDirectory) {
            throw new NoSuchFileException(sidecar.toString(), null, "the sequence pin's directory does not exist");
        }
        if (b == null) return 0;
        b.order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() != BYTES || b.getInt(BYTES - Integer.BYTES) != Format.crc32c(b, 0, BYTES - Integer.BYTES)) {
            throw new CheckpointCorruptException(sidecar, 0, "sequence pin damaged (" + b.remaining() + " bytes, " + BYTES
                    + " with a matching checksum expected)");
        }
        if (b.getLong(0) != Format.PIN_MAGIC) throw new CheckpointCorruptException(sidecar, 0, "not a pagemark sequence pin (bad magic number)");
        int version = b.getInt(8);
        if (version != Format.VERSION) {
            throw new CheckpointCorruptException(sidecar, 8, "format version " + version + ", this pagemark reads version " + Format.VERSION);
        }
        return b.getLong(12);
    }

    private String describe() {
        return sidecar != null ? "the sequence pin " + sidecar : "the sequence pin the caller kept";
    }

    @Override
    public synchronized String toString() {
        return "SequencePin[" + (sidecar != null ? sidecar + ", " : "") + "newest " + newest + "]";
    }
}
