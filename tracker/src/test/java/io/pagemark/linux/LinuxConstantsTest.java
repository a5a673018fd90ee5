package io.pagemark.linux;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The constants pagemark defines itself (the installed 6.1 headers lack them) must be the values
 * the running kernel accepts: each is checked by handing it to the kernel, not only by comparing
 * with a number written down.
 */
class LinuxConstantsTest {

    @Test
    void requestNumbersAndStructSizesMatchTheKernelAbi() {
        assertEquals(0xC0606610L, PagemapScan.PAGEMAP_SCAN);
        assertEquals(96, PagemapScan.ARG.byteSize());
        assertEquals(24, PagemapScan.REGION.byteSize());
        assertEquals(0xC018AA3FL, Uffd.UFFDIO_API);
        assertEquals(0xC020AA00L, Uffd.UFFDIO_REGISTER);
        assertEquals(0x8010AA01L, Uffd.UFFDIO_UNREGISTER);
        assertEquals(0xC018AA06L, Uffd.UFFDIO_WRITEPROTECT);
        assertEquals(0xAA00L, Uffd.USERFAULTFD_IOC_NEW);
        assertEquals(32, Uffd.MSG.byteSize());
        assertEquals(16, Uffd.MSG.byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("pagefault_address")));
        assertEquals(1L << 13, Uffd.FEATURE_WP_UNPOPULATED);
        assertEquals(1L << 15, Uffd.FEATURE_WP_ASYNC);
    }

    @Test
    void theKernelAcceptsOurFeatureBitsByName() {
        long offered = Kernel.userfaultfdFeatures();
        assumeTrue(offered != 0, () -> "skipped: no userfaultfd can be opened here: " + Kernel.userfaultfdAccess().attempts());
        assumeTrue((offered & Uffd.FEATURE_WP_ASYNC) != 0, "skipped: this kernel has no UFFD_FEATURE_WP_ASYNC (6.7+)");
        // A handshake requesting exactly WP_ASYNC | WP_UNPOPULATED succeeds and echoes them: the bits mean what we think.
        Uffd.Opened opened = Uffd.open();
        try {
            long granted = Uffd.api(opened.fd(), Uffd.FEATURE_WP_ASYNC | Uffd.FEATURE_WP_UNPOPULATED);
            assertTrue((granted & Uffd.FEATURE_WP_ASYNC) != 0, Uffd.featureNames(granted));
            assertTrue((granted & Uffd.FEATURE_WP_UNPOPULATED) != 0, Uffd.featureNames(granted));
        } finally {
            Libc.close(opened.fd());
        }
        // A bit the kernel does not define is refused, so acceptance above is not vacuous.
        Uffd.Opened other = Uffd.open();
        try {
            LinuxException e = assertThrows(LinuxException.class, () -> Uffd.api(other.fd(), 1L << 62));
            assertEquals(Errno.EINVAL, e.errno());
        } finally {
            Libc.close(other.fd());
        }
    }

    @Test
    void pagemapScanTakesOurRequestNumberAndStructSize() {
        assumeTrue(Kernel.pagemapScanMissing() == null, () -> "skipped: " + Kernel.pagemapScanMissing());
        long page = Libc.pageSize();
        long addr = Libc.mmapAnonymous(4 * page, Libc.PROT_READ | Libc.PROT_WRITE, 0);
        int fd = Libc.open("/proc/self/pagemap", Libc.O_RDONLY, Libc.NO_HINT);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment.ofAddress(addr).reinterpret(4 * page).set(JAVA_BYTE, 2 * page, (byte) 1);
            MemorySegment vec = a.allocate(PagemapScan.REGION, 4);
            MemorySegment arg = a.allocate(PagemapScan.ARG);
            arg.set(JAVA_LONG, 0, 96);
            arg.set(JAVA_LONG, 16, addr);
            arg.set(JAVA_LONG, 24, addr + 4 * page);
            arg.set(JAVA_LONG, 40, vec.address());
            arg.set(JAVA_LONG, 48, 4);
            arg.set(JAVA_LONG, 72, PagemapScan.PAGE_IS_PRESENT);
            arg.set(JAVA_LONG, 88, PagemapScan.PAGE_IS_PRESENT);
            int regions = Libc.ioctl(fd, PagemapScan.PAGEMAP_SCAN, arg, "PAGEMAP_SCAN", Libc.NO_HINT);
            assertEquals(1, regions);
            assertEquals(addr + 2 * page, vec.get(JAVA_LONG, 0));
            assertEquals(addr + 3 * page, vec.get(JAVA_LONG, 8));
            assertEquals(addr + 4 * page, arg.get(JAVA_LONG, 32), "walk_end");
            // The kernel checks arg.size against its own struct: one word less is refused.
            arg.set(JAVA_LONG, 0, 88);
            LinuxException e = assertThrows(LinuxException.class,
                    () -> Libc.ioctl(fd, PagemapScan.PAGEMAP_SCAN, arg, "PAGEMAP_SCAN", Libc.NO_HINT));
            assertEquals(Errno.EINVAL, e.errno());
        } finally {
            Libc.close(fd);
            Libc.munmap(addr, 4 * page);
        }
    }

    @Test
    void registerInWriteProtectModeOffersTheWriteProtectIoctl() {
        assumeTrue(Kernel.userfaultfdAccess().available(), () -> "skipped: no userfaultfd: " + Kernel.userfaultfdAccess().attempts());
        long page = Libc.pageSize();
        long addr = Libc.mmapAnonymous(page, Libc.PROT_READ | Libc.PROT_WRITE, 0);
        Uffd.Opened opened = Uffd.open();
        try {
            Uffd.api(opened.fd(), 0);
            long ioctls = Uffd.register(opened.fd(), addr, page, Uffd.REGISTER_MODE_WP);
            // Bit _UFFDIO_WRITEPROTECT (0x06) set: the request number's nr field is the bit the kernel reports.
            assertTrue((ioctls & (1L << (Uffd.UFFDIO_WRITEPROTECT & 0xFF))) != 0, Long.toHexString(ioctls));
            Uffd.writeProtect(opened.fd(), addr, page, true, false);
            Uffd.writeProtect(opened.fd(), addr, page, false, false);
            Uffd.unregister(opened.fd(), addr, page);
        } finally {
            Libc.close(opened.fd());
            Libc.munmap(addr, page);
        }
    }

    @Test
    void aFailedCallNamesTheCallTheErrnoAndWhatItMeans() {
        LinuxException e = assertThrows(LinuxException.class, () -> Libc.mmapAnonymous(1L << 62, Libc.PROT_READ, 0));
        assertEquals(Errno.ENOMEM, e.errno());
        assertTrue(e.getMessage().startsWith("mmap(4611686018427387904 bytes, anonymous) failed: ENOMEM: "), e.getMessage());
        assertTrue(e.getMessage().contains("address space"), e.getMessage());

        LinuxException badFd = assertThrows(LinuxException.class, () -> Uffd.writeProtect(-1, 0, 4096, true, false));
        assertEquals("ioctl(UFFDIO_WRITEPROTECT) failed: EBADF", badFd.getMessage());
    }
}
