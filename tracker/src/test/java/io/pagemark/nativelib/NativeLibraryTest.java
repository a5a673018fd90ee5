package io.pagemark.nativelib;

import io.pagemark.linux.Libc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Loading the native library: from the jar's resource, through a verified private directory that is gone afterwards. */
class NativeLibraryTest {
    @Test
    void isLoadedFromAPrivateDirectoryThatIsRemovedAfterwards() {
        NativeLibrary.Status status = NativeLibrary.status();
        assertTrue(status.loaded(), status.detail());
        Matcher m = Pattern.compile("extracted to a private directory (\\S+),").matcher(status.detail());
        assertTrue(m.find(), status.detail());
        assertFalse(Files.exists(Path.of(m.group(1))), "the extraction directory is removed after loading: " + m.group(1));
        assertTrue(NativeLibrary.lookup().find("pm_abi_version").isPresent());
        assertTrue(NativeLibrary.lookup().find("claim").isEmpty(), "internal functions are not exported (-fvisibility=hidden)");
    }

    private static Path directory(Path parent, String name, String mode) throws IOException {
        Path dir = Files.createDirectory(parent.resolve(name));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString(mode));
        return dir;
    }

    @Test
    void extractionTargetsMustBePrivate(@TempDir Path tmp) throws IOException {
        assertDoesNotThrow(() -> NativeLibrary.verifyPrivate(directory(tmp, "ok", "rwx------"), true));
        Path open = directory(tmp, "open", "rwxr-xr-x");
        assertTrue(assertThrows(IllegalStateException.class, () -> NativeLibrary.verifyPrivate(open, true)).getMessage()
                .contains("is not a private directory"));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), tmp.resolve("ok"));
        assertTrue(assertThrows(IllegalStateException.class, () -> NativeLibrary.verifyPrivate(link, true)).getMessage()
                .contains("a symbolic link"));
        Path file = Files.createFile(tmp.resolve("lib.so"));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThrows(IllegalStateException.class, () -> NativeLibrary.verifyPrivate(file, false));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r-x------"));
        assertDoesNotThrow(() -> NativeLibrary.verifyPrivate(file, false));
        assertThrows(IllegalStateException.class, () -> NativeLibrary.verifyPrivate(file, true), "a file is not a directory");
    }

    @Test
    void anotherUsersDirectoryIsRefused(@TempDir Path tmp) throws IOException {
        assumeTrue(Libc.geteuid() == 0, "needs root to give a directory to another user");
        Path theirs = directory(tmp, "theirs", "rwx------");
        Files.setAttribute(theirs, "unix:uid", 65534);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> NativeLibrary.verifyPrivate(theirs, true));
        assertTrue(e.getMessage().contains("owner uid 65534"), e.getMessage());
    }
}
