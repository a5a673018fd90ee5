package io.pagemark;

import io.pagemark.testing.ChildJvm;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
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
 * UFFD_USER_MODE_ONLY works; the probe says so and what it costs, and indeed a raw kernel-mode write
 * into the armed arena then fails with EFAULT while user-mode writes are caught, and one through
 * {@code arena.read} succeeds and is reported.
 */
class PrivilegesTest {
    @Test
    void unprivilegedProbeFallsBackToUserModeOnly() throws Exception {
        String unavailable = ChildJvm.unprivilegedUnavailable();
        assumeTrue(unavailable == null, unavailable);
        String sysctl = Files.readString(Path.of("/proc/sys/vm/unprivileged_userfaultfd")).trim();
        assumeTrue(sysctl.equals("0"), "vm.unprivileged_userfaultfd is " + sysctl + " here: unprivileged users may use the syscall");
        Path dir = Files.createTempDirectory("pagemark-privileges-");
        try {
            String classPath = ChildJvm.classPathReadableByAll(dir);
            List<String> cmd = ChildJvm.command(ChildJvm.AS_NOBODY,
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
            assertEquals(String.valueOf(ChildJvm.NOBODY), said.get("uid"), all);
            assertTrue(said.get("attempts").contains("syscall: EPERM"), "the plain syscall is refused: " + all);
            assertTrue(said.get("attempts").contains("/dev/userfaultfd: EACCES"), "the device is root's: " + all);
            assertEquals("syscall+user-mode-only", said.get("userfaultfd"), all);
            assertTrue(said.get("limitation").contains("fails with EFAULT"), "the probe says what user-mode-only costs: " + all);
            assertEquals("Support[usable=true, reason=null]", said.get("uffd-sync"), all);
            assertTrue(said.get("describe").contains("user-mode-only"), all);
            assertEquals("false", said.get("handlesKernelCopies"), all);
            assertEquals("collect waits", said.get("inFlightWrites"), "the kernel cannot fault for itself: " + all);
            assertEquals("reported", said.get("userModeWrite"), all);
            assertEquals("Bad address", said.get("kernelModeWrite"), "a raw kernel-mode write fails with EFAULT: " + all);
            assertEquals("read 64 bytes, reported", said.get("apiKernelWrite"), "through arena.read it succeeds: " + all);
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
            }
        }
    }
}
