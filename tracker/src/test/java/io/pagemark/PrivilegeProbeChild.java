package io.pagemark;

import io.pagemark.linux.Libc;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * The child JVM of {@link PrivilegesTest}, run as an unprivileged user: prints what the probe says
 * about userfaultfd, then tries a user-mode and a kernel-mode write into a uffd-sync arena.
 */
public final class PrivilegeProbeChild {
    private PrivilegeProbeChild() {}

    public static void main(String[] args) {
        Capabilities caps = Capabilities.probe();
        System.out.println("uid=" + Libc.geteuid());
        System.out.println("userfaultfd=" + caps.userfaultfd());
        System.out.println("limitation=" + caps.userfaultfdLimitation());
        System.out.println("attempts=" + String.join("; ", caps.userfaultfdAttempts()));
        System.out.println("uffd-sync=" + caps.backends().get(Backend.UFFD_SYNC));
        try (TrackedArena arena = TrackedArena.builder().size(16 * 4096).backend(Backend.UFFD_SYNC).open()) {
            System.out.println("describe=" + arena.describe());
            System.out.println("handlesKernelCopies=" + arena.handlesKernelCopies());
            System.out.println("inFlightWrites=" + arena.inFlightWrites());
            arena.arm();
            arena.putLong(4096, 1L);
            System.out.println("userModeWrite=" + (arena.collect().contains(1) ? "reported" : "missed"));
            try (FileChannel passwd = FileChannel.open(Path.of("/etc/passwd"))) {
                int n = passwd.read(arena.segment().asSlice(3 * 4096, 64).asByteBuffer());   // raw, outside the API
                System.out.println("kernelModeWrite=read " + n + " bytes");
            } catch (IOException e) {
                System.out.println("kernelModeWrite=" + e.getMessage());
            }
            try (FileChannel passwd = FileChannel.open(Path.of("/etc/passwd"))) {
                int n = arena.read(passwd, 5 * 4096, 64);                                     // through the API
                System.out.println("apiKernelWrite=read " + n + " bytes, " + (arena.collect().contains(5) ? "reported" : "missed"));
            } catch (IOException e) {
                System.out.println("apiKernelWrite=" + e.getMessage());
            }
        } catch (RuntimeException e) {
            System.out.println("arena=" + e);
        }
    }
}
