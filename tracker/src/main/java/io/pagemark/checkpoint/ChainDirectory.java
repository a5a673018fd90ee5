package io.pagemark.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The files of a checkpoint directory and the one way they are published: write a temporary file,
 * fsync it, rename it over its final name, fsync the directory. A crash at any point leaves either
 * the old file or the new one under the final name, never a partial one. Files are created mode 0600.
 *
 * <pre>
 * pagemark.manifest                     the published chain (see {@link Manifest})
 * pagemark-&lt;sequence, 20 digits&gt;.base   a base checkpoint
 * pagemark-&lt;sequence, 20 digits&gt;.delta  a delta checkpoint
 * pagemark.lock                         held (fcntl lock) by the one process writing the directory
 * .pagemark-*.tmp                       files being written; left behind only by a crash
 * </pre>
 * Chain files the manifest does not list are leftovers of a crash or of a replaced chain: nothing reads them.
 */
final class ChainDirectory {
    static final String MANIFEST = "pagemark.manifest";
    private static final String LOCK = "pagemark.lock";
    private static final Pattern CHAIN_FILE = Pattern.compile("pagemark-(\\d{20})\\.(base|delta)");
    private static final String TEMP_PREFIX = ".pagemark-";
    private static final String TEMP_SUFFIX = ".tmp";
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_READ_WRITE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY_DIRECTORY =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));

    private ChainDirectory() {}

    static Path fileOf(Path dir, long sequence, Checkpoint.Kind kind) {
        return dir.resolve(String.format("pagemark-%020d.%s", sequence, kind == Checkpoint.Kind.BASE ? "base" : "delta"));
    }

    /** Creates the directory (mode 0700) if it does not exist. */
    static void create(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) Files.createDirectories(dir, OWNER_ONLY_DIRECTORY);
    }

    /**
     * Takes the directory's writer lock: one checkpointer or compaction at a time, across processes.
     *
     * @throws IOException naming the directory if another holder has it
     */
    static FileLock lock(Path dir) throws IOException {
        Path lockFile = dir.resolve(LOCK);
        FileChannel channel = FileChannel.open(lockFile, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE), OWNER_READ_WRITE);
        try {
            FileLock lock = channel.tryLock();
            if (lock != null) return lock;
            throw new IOException("checkpoint directory " + dir + " is in use by another process (it holds " + lockFile + ")");
        } catch (OverlappingFileLockException sameJvm) {
            channel.close();
            throw new IOException("checkpoint directory " + dir + " is in use by another Checkpointer or compaction in this JVM");
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    static void unlock(FileLock lock) throws IOException {
        try (FileChannel channel = lock.channel()) {
            lock.release();
        }
    }

    /** A new temporary file (mode 0600) open for writing; the caller publishes or deletes it. */
    static Path createTemp(Path dir) throws IOException {
        return Files.createTempFile(dir, TEMP_PREFIX, TEMP_SUFFIX, OWNER_READ_WRITE);
    }

    /** Makes a fully written and fsynced temporary file visible under {@code target}, durably. */
    static void publish(Path temp, Path target) throws IOException {
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        fsyncDirectory(target.getParent());
    }

    /** Makes renames and deletions in {@code dir} durable (an fsync of the directory itself). */
    static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    /** The published manifest, or null when the directory has none. */
    static Manifest readManifest(Path dir) throws IOException {
        Path file = dir.resolve(MANIFEST);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException none) {
            return null;
        }
        return Manifest.decode(ByteBuffer.wrap(bytes), file);
    }

    /** The published manifest; its absence is reported as damage when chain files are present. */
    static Manifest requireManifest(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new NoSuchFileException(dir.toString(), null, "no such checkpoint directory");
        Manifest manifest = readManifest(dir);
        if (manifest != null) return manifest;
        Path file = dir.resolve(MANIFEST);
        if (highestSequence(dir) >= 0) {
            throw new CheckpointCorruptException(file, 0, "missing: the directory holds checkpoint files but no manifest listing them");
        }
        throw new NoSuchFileException(file.toString(), null, "no checkpoint has been published in " + dir);
    }

    /** Publishes {@code manifest}: from the rename on, a restore rebuilds its head. */
    static void writeManifest(Path dir, Manifest manifest) throws IOException {
        Path temp = createTemp(dir);
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                writeFully(channel, manifest.encode());
                channel.force(true);
            }
            publish(temp, dir.resolve(MANIFEST));
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    static void writeFully(FileChannel channel, ByteBuffer bytes) throws IOException {
        while (bytes.hasRemaining()) channel.write(bytes);
    }

    /** The highest sequence number of any chain file in the directory, listed or not; -1 if none. */
    static long highestSequence(Path dir) throws IOException {
        long highest = -1;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                Matcher m = CHAIN_FILE.matcher(f.getFileName().toString());
                if (m.matches()) highest = Math.max(highest, Long.parseLong(m.group(1)));
            }
        }
        return highest;
    }

    /** Deletes temporary files a crash left behind. Only call while holding the lock. */
    static void deleteTemporaryFiles(Path dir) throws IOException {
        try (DirectoryStream<Path> temps = Files.newDirectoryStream(dir, TEMP_PREFIX + "*" + TEMP_SUFFIX)) {
            for (Path t : temps) Files.deleteIfExists(t);
        }
    }

    /**
     * Deletes the chain files {@code manifest} does not list (a replaced chain, a crash's leftovers).
     * Best effort: the checkpoint is already published, and what is not deleted now is deleted next time.
     */
    static void deleteUnlisted(Path dir, Manifest manifest) {
        Set<Path> listed = new HashSet<>();
        for (Manifest.Entry e : manifest.entries()) listed.add(fileOf(dir, e.sequence(), e.kind()));
        boolean deleted = false;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                if (CHAIN_FILE.matcher(f.getFileName().toString()).matches() && !listed.contains(f)) {
                    deleted |= Files.deleteIfExists(f);
                }
            }
            if (deleted) fsyncDirectory(dir);
        } catch (IOException retriedNextTime) {
            // Unlisted files are never read; the next publish tries again.
        }
    }
}
