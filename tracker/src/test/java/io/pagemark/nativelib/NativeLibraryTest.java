package io.pagemark.nativelib;

import io.pagemark.linux.Libc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static java.lang.foreign.ValueLayout.JAVA_INT;
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

    /** The C side's ring layout matches Agrona's descriptor; a library that reports another one is refused at load. */
    @Test
    void aLibraryWithAnotherRingLayoutIsRefused() throws ReflectiveOperationException {
        assertDoesNotThrow(() -> RingLayout.check(NativeLibrary.lookup()));
        MethodHandle shifted = MethodHandles.lookup().findStatic(NativeLibraryTest.class, "tailOffsetMovedBy8",
                MethodType.methodType(int.class, int.class));
        MemorySegment layout = Linker.nativeLinker().upcallStub(shifted, FunctionDescriptor.of(JAVA_INT, JAVA_INT), Arena.ofAuto());
        SymbolLookup wrong = name -> name.equals("pm_ring_layout") ? Optional.of(layout) : Optional.empty();
        String message = assertThrows(IllegalStateException.class, () -> RingLayout.check(wrong)).getMessage();
        assertTrue(message.contains("TAIL_OFFSET 136 (expected 128)"), message);
    }

    /** The constants FaultPaths mirrors are checked too: one more counter in the C than in Java is refused. */
    @Test
    void aLibraryWithOtherConstantsIsRefused() throws ReflectiveOperationException {
        assertDoesNotThrow(() -> FaultPaths.checkConstants(NativeLibrary.lookup()));
        MethodHandle moreCounters = MethodHandles.lookup().findStatic(NativeLibraryTest.class, "oneMoreCounter",
                MethodType.methodType(int.class, int.class));
        MemorySegment constant = Linker.nativeLinker().upcallStub(moreCounters, FunctionDescriptor.of(JAVA_INT, JAVA_INT), Arena.ofAuto());
        SymbolLookup wrong = name -> name.equals("pm_constant") ? Optional.of(constant) : Optional.empty();
        String message = assertThrows(IllegalStateException.class, () -> FaultPaths.checkConstants(wrong)).getMessage();
        assertTrue(message.startsWith("the native library's PM_COUNTER_COUNT is " + (FaultPaths.Counter.values().length + 1)), message);
    }

    private static final MethodHandle REAL_CONSTANT = Linker.nativeLinker().downcallHandle(
            NativeLibrary.lookup().find("pm_constant").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    /** pm_constant with one more counter (field 0: PM_CONSTANT_COUNTER_COUNT). */
    private static int oneMoreCounter(int which) {
        int real;
        try {
            real = (int) REAL_CONSTANT.invokeExact(which);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        return which == 0 ? real + 1 : real;
    }

    private static final MethodHandle REAL_LAYOUT = Linker.nativeLinker().downcallHandle(
            NativeLibrary.lookup().find("pm_ring_layout").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    /** pm_ring_layout with the tail position 8 bytes further (field 1: PM_RING_TAIL_OFFSET). */
    private static int tailOffsetMovedBy8(int field) {
        int real;
        try {
            real = (int) REAL_LAYOUT.invokeExact(field);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        return field == 1 ? real + 8 : real;
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
