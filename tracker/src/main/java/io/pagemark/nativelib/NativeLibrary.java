package io.pagemark.nativelib;

import io.pagemark.linux.Libc;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Locale;
import java.util.Set;

/**
 * Loads pagemark's native library (the fault paths that must not run as Java, see
 * {@code tracker/src/main/c}) through FFM, once per JVM.
 * <p>
 * The library is built into the jar by the Maven build. It is copied into a fresh directory of
 * {@code java.io.tmpdir} created with mode 0700; before it is loaded, the directory and the file
 * are checked to be what was just created (owned by this process's user, not a symbolic link,
 * writable by nobody else), so another local user cannot substitute code. After {@code dlopen} the
 * file and the directory are removed (the mapping stays), so nothing is left behind.
 * It is never unloaded: its signal handlers stay installed for the life of the process.
 */
public final class NativeLibrary {
    /** Where the build puts the library inside the jar. */
    static final String RESOURCE = "/io/pagemark/nativelib/linux-x86_64/libpagemark.so";
    private static final Set<PosixFilePermission> OWNER_ONLY_DIRECTORY = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> OWNER_READ_EXECUTE = PosixFilePermissions.fromString("r-x------");

    /**
     * Whether the library is loaded, and where from or why not.
     *
     * @param loaded true when its functions can be called
     * @param detail where it was loaded from, or why it was not (one line, for the probe)
     */
    public record Status(boolean loaded, String detail) {}

    private static final class Holder {
        static final SymbolLookup LOOKUP;
        static final Status STATUS;

        static {
            SymbolLookup lookup = null;
            Status status;
            try {
                Loaded loaded = load();
                lookup = loaded.lookup();
                status = new Status(true, loaded.detail());
            } catch (IOException | RuntimeException | LinkageError e) {
                status = new Status(false, e.getMessage());
            }
            LOOKUP = lookup;
            STATUS = status;
        }
    }

    private record Loaded(SymbolLookup lookup, String detail) {}

    private NativeLibrary() {}

    /** Loads the library if that has not been tried yet, and says whether it is loaded. */
    public static Status status() {
        return Holder.STATUS;
    }

    /**
     * The library's symbols.
     *
     * @throws IllegalStateException with the reason when it could not be loaded
     */
    public static SymbolLookup lookup() {
        if (Holder.LOOKUP == null) throw new IllegalStateException("pagemark's native library is not loaded: " + Holder.STATUS.detail());
        return Holder.LOOKUP;
    }

    private static Loaded load() throws IOException {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.equals("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new IllegalStateException("the native library is built for linux x86-64 only, this is " + os + " " + arch);
        }
        URL source = NativeLibrary.class.getResource(RESOURCE);
        if (source == null) {
            throw new IllegalStateException("the native library " + RESOURCE + " is not on the class path (build with ./mvnw, which compiles it with gcc)");
        }
        Path directory = Files.createTempDirectory("pagemark-native-", PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIRECTORY));
        Path file = directory.resolve("libpagemark.so");
        try {
            try (InputStream in = source.openStream()) {
                Files.write(file, in.readAllBytes(), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            }
            Files.setPosixFilePermissions(file, OWNER_READ_EXECUTE);
            verifyPrivate(directory, true);
            verifyPrivate(file, false);
            SymbolLookup lookup;
            try {
                lookup = SymbolLookup.libraryLookup(file, Arena.global());
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("dlopen(" + file + ") failed: " + e.getMessage()
                        + " (is java.io.tmpdir on a noexec mount? point -Djava.io.tmpdir at an executable one)", e);
            }
            String detail = "loaded from " + source + " (extracted to a private directory " + directory
                    + ", verified owner uid " + Libc.geteuid() + " and mode 0700, removed after loading)";
            FaultPaths.checkAbi(lookup);
            FaultPaths.checkConstants(lookup);
            RingLayout.check(lookup);
            return new Loaded(lookup, detail);
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(directory);
        }
    }

    /** The extraction target must be ours alone: owned by this user, not a link, no access for anyone else. */
    static void verifyPrivate(Path path, boolean directory) throws IOException {
        PosixFileAttributes attributes = Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        int owner = (int) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        Set<PosixFilePermission> expected = directory ? OWNER_ONLY_DIRECTORY : OWNER_READ_EXECUTE;
        if (attributes.isSymbolicLink() || (directory ? !attributes.isDirectory() : !attributes.isRegularFile())
                || owner != Libc.geteuid() || !attributes.permissions().equals(expected)) {
            throw new IllegalStateException("refusing to load the native library: " + path + " is not a private "
                    + (directory ? "directory" : "file") + " of uid " + Libc.geteuid() + " (owner uid " + owner + ", "
                    + PosixFilePermissions.toString(attributes.permissions()) + (attributes.isSymbolicLink() ? ", a symbolic link" : "") + ")");
        }
    }
}
