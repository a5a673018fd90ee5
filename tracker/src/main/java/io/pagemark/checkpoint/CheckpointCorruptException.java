package io.pagemark.checkpoint;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A checkpoint chain failed its checks: a file is missing, truncated, out of place, a symbolic link
 * or has a damaged byte, or (checked against a {@link SequencePin}) the chain is older than one
 * already seen. Thrown instead of restoring anything wrong; {@link #file()} and {@link #offset()} say where.
 *
 * <pre>{@code
 * try {
 *     Checkpointer.restore(dir, segment);
 * } catch (CheckpointCorruptException e) {
 *     // e.g. "/var/ckpt/pagemark-00000000000000000007.delta at offset 81984: page record checksum mismatch ..."
 *     System.err.println(e.getMessage());
 * }
 * }</pre>
 */
public final class CheckpointCorruptException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final long offset;

    /**
     * @param file    the damaged file
     * @param offset  where in it: the start of the smallest checksummed unit holding the damage (the
     *                header, a page record, the trailer, the manifest), or, for a truncated file, its length
     * @param problem what is wrong
     */
    public CheckpointCorruptException(Path file, long offset, String problem) {
        super(file + " at offset " + offset + ": " + problem + "; the checkpoint chain cannot be restored");
        this.file = file;
        this.offset = offset;
    }

    /** The damaged (or missing) file. */
    public Path file() {
        return file;
    }

    /** Byte offset of the damage in {@link #file()} (see the constructor). */
    public long offset() {
        return offset;
    }
}
