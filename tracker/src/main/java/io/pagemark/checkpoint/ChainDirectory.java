package io.pagemark.checkpoint;

import io.pagemark.linux.Libc;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An open checkpoint directory: every file in it is opened, created, renamed and deleted relative
 * to the directory's own file descriptor ({@link SecureDirectoryStream}: openat, renameat, unlinkat)
 * and without following a symbolic link (O_NOFOLLOW), so neither a link planted as one of its files
 * nor a path component swapped after the open can send a read or a write elsewhere. A file is
 * published one way: written to a temporary name, fsynced, renamed over its final name, the
 * directory fsynced; a crash at any point leaves the old file or the new one under the final name.
 * Files are created mode 0600.
 *
 * <p>Opening checks the directory the way ssh checks its key directories: owned by this process's
 * user (or root), writable by no one else. Its path may be a symbolic link to a directory: it is
 * resolved once, when opened.
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
final class ChainDirectory implements AutoCloseable {
    static final String MANIFEST = "pagemark.manifest";
    private static final String LOCK = "pagemark.lock";
    private static final Pattern CHAIN_FILE = Pattern.compile("pagemark-(\\d{20})\\.(base|delta)");
    private static final String TEMP_PREFIX = ".pagemark-";
    private static final String TEMP_SUFFIX = ".tmp";
    private static final Path SELF = Path.of(".");
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_READ_WRITE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY_DIRECTORY =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
    private static final Set<PosixFilePermission> GROUP_AND_OTHERS = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);
    private static final int GROUP_WRITE = 0020;
    private static final int OTHERS_WRITE = 0002;

    /** The directory as the caller named it (absolute): what messages and {@link Checkpoint#file()} show. */
    private final Path path;
    private final SecureDirectoryStream<Path> dir;

    private ChainDirectory(Path path, SecureDirectoryStream<Path> dir) {
        this.path = path;
        this.dir = dir;
    }

    /**
     * Opens {@code directory} and checks it (owned by this process's user or root, writable by no one
     * else). With {@code create}, a missing directory is created, mode 0700 (its missing parents too).
     *
     * @throws IOException saying what is wrong with the directory and how to fix it
     */
    static ChainDirectory open(Path directory, boolean create) throws IOException {
        Path path = directory.toAbsolutePath();
        Opened opened = openResolved(path, create);
        try {
            checkOwnerAndMode(path, opened.attributes());
            return new ChainDirectory(path, opened.stream());
        } catch (IOException | RuntimeException e) {
            opened.stream().close();
            throw e;
        }
    }

    /**
     * Creates {@code directory} (mode 0700) if absent; otherwise, if this process's user owns it,
     * takes every permission away from group and others (the owner's stay). Returns it, absolute.
     *
     * @throws IOException if another user owns it (only its owner, or root, can change its mode)
     */
    static Path tighten(Path directory) throws IOException {
        Path path = directory.toAbsolutePath();
        Opened opened = openResolved(path, true);
        try (SecureDirectoryStream<Path> stream = opened.stream()) {
            int uid = (Integer) opened.attributes().get("uid");
            if (uid != Libc.geteuid()) {
                throw new IOException("checkpoint directory " + path + " is owned by " + ownerName(path, uid) + ", not by this"
                        + " process's user (uid " + Libc.geteuid() + "): tightening its permissions would leave it another user's;"
                        + " use a directory of your own");
            }
            PosixFileAttributeView view = stream.getFileAttributeView(PosixFileAttributeView.class);
            Set<PosixFilePermission> permissions = EnumSet.copyOf(view.readAttributes().permissions());
            if (permissions.removeAll(GROUP_AND_OTHERS)) view.setPermissions(permissions);   // fchmod on the directory opened
        }
        return path;
    }

    /** The directory opened (a file descriptor on it) and its lstat attributes, checked to be the same inode. */
    private record Opened(SecureDirectoryStream<Path> stream, Map<String, Object> attributes) {}

    private static Opened openResolved(Path path, boolean create) throws IOException {
        Path real;
        try {
            real = path.toRealPath();
        } catch (NoSuchFileException absent) {
            if (Files.isSymbolicLink(path)) {
                Path target = Files.readSymbolicLink(path);
                throw new IOException("checkpoint directory " + path + " is a symbolic link to " + target + ", which does not exist: create "
                        + target + " (mode 0700) or point the link at a directory");
            }
            if (!create) throw new NoSuchFileException(path.toString(), null, "no such checkpoint directory");
            try {
                Files.createDirectories(path, OWNER_ONLY_DIRECTORY);
            } catch (FileAlreadyExistsException notADirectory) {
                throw new IOException("cannot create checkpoint directory " + path + ": " + notADirectory.getFile()
                        + " exists and is not a directory (a file, or a symbolic link to nothing)");
            }
            real = path.toRealPath();
        }
        Map<String, Object> attributes = Files.readAttributes(real, "unix:uid,mode,fileKey,isDirectory", LinkOption.NOFOLLOW_LINKS);
        if (!(Boolean) attributes.get("isDirectory")) {
            throw new IOException("checkpoint directory " + path + (real.equals(path) ? "" : " (" + real + ")") + " is not a directory");
        }
        DirectoryStream<Path> stream = Files.newDirectoryStream(real);
        if (!(stream instanceof SecureDirectoryStream<Path> secure)) {
            stream.close();
            throw new IOException("cannot open checkpoint directory " + path + " safely: this platform opens no file relative to a"
                    + " directory (no SecureDirectoryStream)");
        }
        try {
            Object opened = secure.getFileAttributeView(BasicFileAttributeView.class).readAttributes().fileKey();   // fstat of the open directory
            if (!Objects.equals(opened, attributes.get("fileKey"))) {
                throw new IOException("checkpoint directory " + path + " was replaced while it was being opened; try again");
            }
            return new Opened(secure, attributes);
        } catch (IOException | RuntimeException e) {
            secure.close();
            throw e;
        }
    }

    /** ssh's rule for its key directories: owned by this process's user (or root), writable by no one else. */
    private static void checkOwnerAndMode(Path path, Map<String, Object> attributes) throws IOException {
        int uid = (Integer) attributes.get("uid");
        int me = Libc.geteuid();
        if (uid != me && uid != 0) {
            throw new IOException("checkpoint directory " + path + " is owned by " + ownerName(path, uid) + ", not by this process's user"
                    + " (uid " + me + ") or root: its owner could replace the checkpoints; use a directory of your own");
        }
        int mode = (Integer) attributes.get("mode") & 07777;
        if ((mode & (GROUP_WRITE | OTHERS_WRITE)) != 0) {
            String who = (mode & GROUP_WRITE) == 0 ? "others" : (mode & OTHERS_WRITE) == 0 ? "group" : "group and others";
            throw new IOException(String.format("checkpoint directory %s is writable by %s (mode %04o): anyone who can write it can"
                    + " replace the checkpoints; tighten it (chmod go-w %s, or Checkpointer.tightenPermissions) or use a directory of"
                    + " your own", path, who, mode, path));
        }
    }

    private static String ownerName(Path path, int uid) {
        try {
            return Files.getOwner(path) + " (uid " + uid + ")";
        } catch (IOException | RuntimeException unnamed) {
            return "uid " + uid;
        }
    }

    /** The directory as the caller named it, absolute. */
    Path path() {
        return path;
    }

    /** Where file {@code name} of this directory is, for messages and {@link Checkpoint#file()}. */
    Path file(String name) {
        return path.resolve(name);
    }

    static String nameOf(long sequence, Checkpoint.Kind kind) {
        return String.format("pagemark-%020d.%s", sequence, kind == Checkpoint.Kind.BASE ? "base" : "delta");
    }

    Path fileOf(long sequence, Checkpoint.Kind kind) {
        return file(nameOf(sequence, kind));
    }

    /**
     * Takes the directory's writer lock (one checkpointer or compaction at a time, across processes),
     * then checks that a file can be created, written, fsynced, renamed and deleted in it, and deletes
     * the temporary files a crash left.
     *
     * @throws IOException naming the directory if another holder has it, or saying which step failed
     */
    FileLock lock() throws IOException {
        FileChannel channel;
        try {
            channel = open(LOCK, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE), OWNER_READ_WRITE);
        } catch (FileSystemException denied) {
            throw unusable("create or open its lock file " + LOCK, denied);
        }
        FileLock lock;
        try {
            lock = channel.tryLock();
            if (lock == null) {
                throw new IOException("checkpoint directory " + path + " is in use by another process (it holds " + file(LOCK) + ")");
            }
        } catch (OverlappingFileLockException sameJvm) {
            channel.close();
            throw new IOException("checkpoint directory " + path + " is in use by another Checkpointer or compaction in this JVM");
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        try {
            checkWritable();
            deleteTemporaryFiles();
            return lock;
        } catch (IOException | RuntimeException e) {
            unlock(lock);
            throw e;
        }
    }

    static void unlock(FileLock lock) throws IOException {
        try (FileChannel channel = lock.channel()) {
            lock.release();
        }
    }

    /** Creates, writes, fsyncs, renames and deletes a probe file, then fsyncs the directory: what every checkpoint does. */
    private void checkWritable() throws IOException {
        String step = "create a file in it";
        String probe = null;
        try {
            TempFile created = createTemp();
            probe = created.name();
            try (FileChannel channel = created.channel()) {
                step = "write a file in it";
                writeFully(channel, ByteBuffer.wrap(new byte[] {'p'}));
                step = "fsync a file in it";
                channel.force(true);
            }
            step = "rename a file in it";
            String renamed = tempName();
            dir.move(Path.of(probe), dir, Path.of(renamed));
            probe = renamed;
            step = "delete a file in it";
            dir.deleteFile(Path.of(probe));
            probe = null;
            step = "fsync it";
            fsync();
        } catch (IOException e) {
            if (probe != null) {
                try {
                    delete(probe);
                } catch (IOException leftForTheNextOpen) {
                    // Named like a temporary file: the next open deletes it.
                }
            }
            throw unusable(step, e);
        }
    }

    private IOException unusable(String step, IOException cause) {
        // The JDK reports EACCES as an AccessDeniedException with the file name alone and no reason.
        String reason = cause instanceof FileSystemException fs && fs.getReason() != null ? fs.getReason()
                : cause instanceof AccessDeniedException ? "Permission denied" : cause.getMessage();
        return new IOException("checkpoint directory " + path + " is not usable: cannot " + step + " (" + reason
                + "); checkpoints need to create, write, fsync and rename files there", cause);
    }

    /** A new temporary file of this directory, open for writing. */
    record TempFile(String name, FileChannel channel) {}

    /** A new temporary file (mode 0600, created exclusively) open for writing; the caller publishes or deletes it. */
    TempFile createTemp() throws IOException {
        for (int attempt = 0; ; attempt++) {
            String name = tempName();
            try {
                return new TempFile(name, open(name, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), OWNER_READ_WRITE));
            } catch (FileAlreadyExistsException taken) {
                if (attempt == 10) throw taken;
            }
        }
    }

    private static String tempName() {
        return TEMP_PREFIX + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + TEMP_SUFFIX;
    }

    /** Makes a fully written and fsynced temporary file visible under {@code target}, durably. */
    void publish(String temp, String target) throws IOException {
        dir.move(Path.of(temp), dir, Path.of(target));   // renameat(2): atomic, replaces target
        fsync();
    }

    /** Makes renames and deletions in the directory durable (an fsync of the directory itself). */
    void fsync() throws IOException {
        try (FileChannel channel = open(SELF.toString(), Set.of(StandardOpenOption.READ))) {
            channel.force(true);
        }
    }

    /** Deletes file {@code name} (a link itself, never what it points to) if it exists. */
    void delete(String name) throws IOException {
        try {
            dir.deleteFile(Path.of(name));
        } catch (NoSuchFileException gone) {
            // Already gone.
        }
    }

    /**
     * Opens file {@code name} for reading, not through a link.
     *
     * @throws NoSuchFileException if there is none
     * @throws CheckpointCorruptException if it is a symbolic link
     */
    FileChannel openForReading(String name) throws IOException {
        try {
            return open(name, Set.of(StandardOpenOption.READ));
        } catch (NoSuchFileException missing) {
            throw missing;
        } catch (IOException e) {
            if (isLink(name)) throw new CheckpointCorruptException(file(name), 0, "a symbolic link: pagemark follows no link inside a"
                    + " checkpoint directory (the chain's files are regular files it wrote)");
            throw e;
        }
    }

    /** Opens {@code name} relative to the directory, never following a link (O_NOFOLLOW); a link is refused by name. */
    private FileChannel open(String name, Set<? extends OpenOption> options, FileAttribute<?>... attributes) throws IOException {
        Set<OpenOption> noFollow = new HashSet<>(options);
        noFollow.add(LinkOption.NOFOLLOW_LINKS);
        SeekableByteChannel channel;
        try {
            channel = dir.newByteChannel(Path.of(name), noFollow, attributes);
        } catch (NoSuchFileException | FileAlreadyExistsException expected) {
            throw expected;
        } catch (IOException e) {
            if (!name.equals(SELF.toString()) && isLink(name)) {
                throw new IOException(file(name) + " is a symbolic link: pagemark follows no link inside a checkpoint directory; remove it", e);
            }
            throw e;
        }
        if (channel instanceof FileChannel file) return file;
        channel.close();
        throw new IOException("cannot fsync or lock " + file(name) + ": this platform's directory streams open no FileChannel");
    }

    private boolean isLink(String name) {
        try {
            return dir.getFileAttributeView(Path.of(name), BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                    .readAttributes().isSymbolicLink();
        } catch (IOException unknown) {
            return false;
        }
    }

    /** The published manifest, or null when the directory has none. */
    Manifest readManifest() throws IOException {
        ByteBuffer bytes = readSmall(MANIFEST);
        return bytes == null ? null : Manifest.decode(bytes, file(MANIFEST));
    }

    /** The bytes of file {@code name} (read without following a link), or null if there is none. */
    ByteBuffer readSmall(String name) throws IOException {
        try (FileChannel channel = openForReading(name)) {
            long size = channel.size();
            if (size > Integer.MAX_VALUE - 8) throw new CheckpointCorruptException(file(name), 0, size + " bytes: far too large");
            ByteBuffer bytes = ByteBuffer.allocate((int) size);
            while (bytes.hasRemaining() && channel.read(bytes) >= 0) {
                // Reads until full or the end (a file shorter than its size fails its checksum).
            }
            return bytes.flip();
        } catch (NoSuchFileException none) {
            return null;
        }
    }

    /**
     * The published manifest. Without one, the directory holds nothing published, unless it holds a
     * delta: a delta is only ever written after a published base, so its manifest was removed (damage).
     * Bases alone are what a crash inside a first checkpoint leaves (the base renamed into place, its
     * manifest not yet): nothing was published, and the message names them.
     */
    Manifest requireManifest() throws IOException {
        Manifest manifest = readManifest();
        if (manifest != null) return manifest;
        List<String> bases = new ArrayList<>();
        try (DirectoryStream<Path> files = dir.newDirectoryStream(SELF, LinkOption.NOFOLLOW_LINKS)) {
            for (Path f : files) {
                Matcher m = CHAIN_FILE.matcher(f.getFileName().toString());
                if (!m.matches()) continue;
                if (m.group(2).equals("delta")) {
                    throw new CheckpointCorruptException(file(MANIFEST), 0, "missing: the directory holds checkpoint deltas (" + f.getFileName()
                            + ") but no manifest listing them, and a delta is only written after a published base");
                }
                bases.add(f.getFileName().toString());
            }
        }
        throw new NoSuchFileException(file(MANIFEST).toString(), null, "no checkpoint has been published in " + path
                + (bases.isEmpty() ? "" : " (it holds " + String.join(", ", bases.stream().sorted().toList()) + ", which no manifest lists:"
                        + " a first checkpoint interrupted before it was published; the next checkpoint deletes it)"));
    }

    /** Publishes {@code manifest}: from the rename on, a restore rebuilds its head. */
    void writeManifest(Manifest manifest) throws IOException {
        replace(MANIFEST, manifest.encode());
    }

    /** Replaces file {@code name} with {@code bytes}, atomically and durably (temporary file, fsync, rename, directory fsync). */
    void replace(String name, ByteBuffer bytes) throws IOException {
        TempFile temp = createTemp();
        try {
            try (FileChannel channel = temp.channel()) {
                writeFully(channel, bytes);
                channel.force(true);
            }
            publish(temp.name(), name);
        } finally {
            delete(temp.name());
        }
    }

    static void writeFully(FileChannel channel, ByteBuffer bytes) throws IOException {
        while (bytes.hasRemaining()) channel.write(bytes);
    }

    /** The highest sequence number of any chain file in the directory, listed or not; -1 if none. */
    long highestSequence() throws IOException {
        long highest = -1;
        try (DirectoryStream<Path> files = dir.newDirectoryStream(SELF, LinkOption.NOFOLLOW_LINKS)) {
            for (Path f : files) {
                Matcher m = CHAIN_FILE.matcher(f.getFileName().toString());
                if (m.matches()) highest = Math.max(highest, Long.parseLong(m.group(1)));
            }
        }
        return highest;
    }

    /** Deletes temporary files a crash left behind. Only call while holding the lock. */
    private void deleteTemporaryFiles() throws IOException {
        try (DirectoryStream<Path> files = dir.newDirectoryStream(SELF, LinkOption.NOFOLLOW_LINKS)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                if (name.startsWith(TEMP_PREFIX) && name.endsWith(TEMP_SUFFIX)) delete(name);
            }
        }
    }

    /**
     * Deletes the chain files {@code manifest} does not list (a replaced chain, a crash's leftovers).
     * Best effort: the checkpoint is already published, and what is not deleted now is deleted next time.
     */
    void deleteUnlisted(Manifest manifest) {
        Set<String> listed = new HashSet<>();
        for (Manifest.Entry e : manifest.entries()) listed.add(nameOf(e.sequence(), e.kind()));
        boolean deleted = false;
        try (DirectoryStream<Path> files = dir.newDirectoryStream(SELF, LinkOption.NOFOLLOW_LINKS)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                if (CHAIN_FILE.matcher(name).matches() && !listed.contains(name)) {
                    delete(name);
                    deleted = true;
                }
            }
            if (deleted) fsync();
        } catch (IOException retriedNextTime) {
            // Unlisted files are never read; the next publish tries again.
        }
    }

    /** Closes the directory's file descriptor. */
    @Override
    public void close() throws IOException {
        dir.close();
    }
}
