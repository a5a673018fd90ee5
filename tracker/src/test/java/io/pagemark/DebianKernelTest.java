package io.pagemark;

import io.pagemark.linux.Kernel;
import io.pagemark.linux.Libc;
import io.pagemark.linux.Pagemap;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Set;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What must hold on Debian 12's own kernel (6.1 LTS), the oldest kernel pagemark supports: soft-dirty
 * works; userfaultfd has write-protect but neither WP_ASYNC nor WP_UNPOPULATED, and there is no
 * PAGEMAP_SCAN, so uffd-async is out, auto falls back to a synchronous uffd backend, and the uffd
 * backends populate the arena before arming. These run in the debian-6.1 guest of the kernel matrix;
 * elsewhere the class is skipped, saying so.
 */
@KernelMatrix
class DebianKernelTest {
    private static final String KERNEL = "debian-6.1";
    private static final long PAGE = Libc.pageSize();
    /** The backends that catch writes with userfaultfd write-protect, and so need populate-before-arm on 6.1. */
    private static final List<Backend> UFFD_BACKENDS = Backend.with(Backend.Trait.NATIVE_FAULT_PATH, Backend.Trait.USERFAULTFD);

    @BeforeAll
    static void inTheDebianGuest() {
        String guest = System.getenv(KernelMatrix.GUEST_KERNEL_ENV);
        Assumptions.assumeTrue(KERNEL.equals(guest), () -> "expectations of the " + KERNEL + " kernel, and this JVM runs on "
                + (guest == null ? "the host (" + Kernel.release() + ")" : guest)
                + "; they run in the " + KERNEL + " guest (tracker/src/test/kernel-vm/guest-tests.sh)");
    }

    @Test
    void probeReportsSoftDirtyWorkingAndUffdAsyncUnusable() {
        Capabilities caps = Capabilities.probe();
        Capabilities.Support async = caps.backends().get(Backend.UFFD_ASYNC);
        assertAll(
                () -> assertTrue(caps.kernelRelease().startsWith("6.1."), caps.kernelRelease()),
                () -> assertTrue(caps.softDirty(), "soft-dirty self-test: " + caps.softDirtyDetail()),
                () -> assertTrue(caps.backends().get(Backend.SOFT_DIRTY).usable(), caps.backends().get(Backend.SOFT_DIRTY).reason()),
                () -> assertNotNull(caps.userfaultfd(), "userfaultfd must open as root: " + caps.userfaultfdAttempts()),
                () -> assertTrue(caps.userfaultfdFeatures().contains("PAGEFAULT_FLAG_WP"), caps.userfaultfdFeatures().toString()),
                () -> assertFalse(caps.userfaultfdFeatures().contains("WP_ASYNC"), caps.userfaultfdFeatures().toString()),
                () -> assertFalse(caps.userfaultfdFeatures().contains("WP_UNPOPULATED"), caps.userfaultfdFeatures().toString()),
                () -> assertFalse(caps.pagemapScan(), "PAGEMAP_SCAN is 6.7+"),
                () -> assertFalse(async.usable(), "uffd-async must be unusable on 6.1"),
                () -> assertTrue(async.reason() != null && async.reason().contains("UFFD_FEATURE_WP_ASYNC"),
                        "uffd-async's reason must name the missing feature: " + async.reason()));
    }

    @Test
    void autoChoosesASynchronousUffdBackend() {
        Capabilities.Choice choice = assertDoesNotThrow(Capabilities::autoChoice,
                "auto found nothing on 6.1: the synchronous uffd backends (uffd-sync, uffd-sigbus) must be usable here");
        assertTrue(Set.copyOf(UFFD_BACKENDS).contains(choice.backend()), "auto chose " + choice);
    }

    /**
     * Without WP_UNPOPULATED, write-protecting skips pages that were never touched, so every uffd
     * backend must populate the arena when it arms: afterwards every page is present, and a write to a
     * page the program never touched is reported.
     */
    @Test
    void uffdBackendsPopulateBeforeArming() {
        List<Backend> usable = UFFD_BACKENDS.stream().filter(b -> b.unusableReason() == null).toList();
        assertFalse(usable.isEmpty(), "no uffd backend is usable on 6.1: " + UFFD_BACKENDS.stream()
                .map(b -> b + ": " + b.unusableReason()).toList());
        int pages = 64;
        for (Backend backend : usable) {
            try (TrackedArena arena = TrackedArena.builder().size(pages * PAGE).backend(backend).open();
                 Arena a = Arena.ofConfined()) {
                arena.arm();
                MemorySegment entries = a.allocate(JAVA_LONG, pages);
                int fd = Libc.open("/proc/self/pagemap", Libc.O_RDONLY | Libc.O_CLOEXEC, Libc.NO_HINT);
                try {
                    Pagemap.read(fd, arena.segment().address(), pages, entries);
                } finally {
                    Libc.close(fd);
                }
                for (int p = 0; p < pages; p++) {
                    assertTrue((entries.getAtIndex(JAVA_LONG, p) & Pagemap.PRESENT_BIT) != 0,
                            backend + ": page " + p + " is not present after arm (" + arena.describe() + ")");
                }
                arena.putLong(17 * PAGE, 1L);
                assertEquals(List.of(17L), arena.collect().pages().boxed().toList(), backend + " (" + arena.describe() + ")");
            }
        }
    }
}
