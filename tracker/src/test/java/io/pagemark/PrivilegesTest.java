package io.pagemark;

import io.pagemark.linux.Libc;
import io.pagemark.testing.ChildJvm;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The probe as an unprivileged user (a child JVM under setpriv as nobody): with
 * vm.unprivileged_userfaultfd=0 the userfaultfd syscall is refused, /dev/userfaultfd is root's, and
 * UFFD_USER_MODE_ONLY works; the probe says so and what it costs, and indeed a kernel-mode write
 * into the armed arena then fails with EFAULT while user-mode writes are caught.
 */
class PrivilegesTest {
    private static final String NOBODY = "65534";

    @Test
    void unprivilegedProbeFallsBackToUserModeOnly() throws Exception {
        assumeTrue(Libc.geteuid() == 0, "needs root to start a child as another user");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs setpriv (util-linux)");
        String sysctl = Files.readString(Path.of("/proc/sys/vm/unprivileged_userfaultfd")).trim();
        assumeTrue(sysctl.equals("0"), "vm.unprivileged_userfaultfd is " + sysctl + " here: unprivileged users may use the syscall");
        Path dir = Files.createTempDirectory("pagemark-privileges-");
        try {
            String classPath = copyClassPathReadableByAll(dir);
            List<String> cmd = ChildJvm.command(List.of("/usr/bin/setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups"),
                    List.of("-XX:-UsePerfData", "-Djava.io.tmpdir=/tmp"), classPath, PrivilegeProbeChild.class);
            ChildJvm.Outcome outcome = ChildJvm.runWatched(cmd, line -> true, 60, 120);
            assertEquals(0, outcome.exitCode(), outcome.output());
            outcome.lines().forEach(line -> System.out.println("as nobody: " + line));
            Map<String, String> said = new HashMap<>();
            for (String line : outcome.lines()) {
                int eq = line.indexOf('=');
                if (eq > 0) said.put(line.substring(0, eq), line.substring(eq + 1));
            }
            String all = outcome.output();
            assertEquals(NOBODY, said.get("uid"), all);
            assertTrue(said.get("attempts").contains("syscall: EPERM"), "the plain syscall is refused: " + all);
            assertTrue(said.get("attempts").contains("/dev/userfaultfd: EACCES"), "the device is root's: " + all);
            assertEquals("syscall+user-mode-only", said.get("userfaultfd"), all);
            assertTrue(said.get("limitation").contains("fails with EFAULT"), "the probe says what user-mode-only costs: " + all);
            assertEquals("Support[usable=true, reason=null]", said.get("uffd-sync"), all);
            assertTrue(said.get("describe").contains("user-mode-only"), all);
            assertEquals("false", said.get("handlesKernelModeWrites"), all);
            assertEquals("reported", said.get("userModeWrite"), all);
            assertEquals("Bad address", said.get("kernelModeWrite"), "the kernel-mode write fails with EFAULT: " + all);
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
            }
        }
    }

    /** Copies this JVM's class path (directories and jars) into {@code dir}, readable by everyone; returns the new class path. */
    private static String copyClassPathReadableByAll(Path dir) throws IOException {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        List<String> entries = new ArrayList<>();
        int i = 0;
        for (String entry : ChildJvm.classPath().split(File.pathSeparator)) {
            Path source = Path.of(entry);
            if (!Files.exists(source)) continue;
            Path target = dir.resolve(i++ + "-" + source.getFileName());
            try (Stream<Path> files = Files.walk(source)) {
                for (Path p : files.toList()) {
                    Path copy = target.resolve(source.relativize(p).toString());
                    if (Files.isDirectory(p)) Files.createDirectories(copy);
                    else Files.copy(p, copy, StandardCopyOption.REPLACE_EXISTING);
                    Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
                }
            }
            entries.add(target.toString());
        }
        return String.join(File.pathSeparator, entries);
    }
}
