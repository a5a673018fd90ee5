package io.pagemark.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * /proc/self/pagemap entries (one 64-bit word per virtual page) and /proc/self/clear_refs, the
 * soft-dirty interface. Bit 55 of an entry is the soft-dirty bit; writing "4" to clear_refs clears
 * it for the whole process (and write-protects every page of the process to do so).
 */
public final class Pagemap {
    public static final int ENTRY_BYTES = 8;
    public static final long SOFT_DIRTY_BIT = 1L << 55;
    public static final long PRESENT_BIT = 1L << 63;
    /** Swapped out, or a PTE marker (what write-protecting an empty PTE leaves with UFFD_FEATURE_WP_UNPOPULATED). */
    public static final long SWAP_BIT = 1L << 62;
    /** Userfaultfd write-protected (present, swapped or a marker). */
    public static final long UFFD_WP_BIT = 1L << 57;

    private Pagemap() {}

    /** Reads the entries of {@code pages} pages starting at virtual address {@code start} into {@code out} (8 bytes each). */
    public static void read(int pagemapFd, long start, long pages, MemorySegment out) {
        long offset = start / Libc.pageSize() * ENTRY_BYTES;
        long got = Libc.pread(pagemapFd, out, pages * ENTRY_BYTES, offset, "pread(/proc/self/pagemap)");
        if (got != pages * ENTRY_BYTES) {
            throw new LinuxException("pread(/proc/self/pagemap)", Errno.EIO,
                    "short read: " + got + " of " + pages * ENTRY_BYTES + " bytes");
        }
    }

    /** Writes "4" to /proc/self/clear_refs: clears every soft-dirty bit of this process. */
    public static void clearSoftDirty() {
        int fd = Libc.open("/proc/self/clear_refs", Libc.O_WRONLY | Libc.O_CLOEXEC, Libc.NO_HINT);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment four = a.allocate(1);
            four.set(JAVA_BYTE, 0, (byte) '4');
            Libc.write(fd, four, 1, "write(/proc/self/clear_refs, \"4\")", e -> e == Errno.EINVAL
                    ? "this kernel is built without CONFIG_MEM_SOFT_DIRTY" : null);
        } finally {
            Libc.close(fd);
        }
    }

    /**
     * The soft-dirty self-test: clear, write one page, read its bit 55 (it must be set), and check a
     * page left alone stays clean. Returns null when soft-dirty works, else why not.
     */
    public static String softDirtySelfTest() {
        long page = Libc.pageSize();
        long addr = Libc.mmapAnonymous(2 * page, Libc.PROT_READ | Libc.PROT_WRITE, 0);
        int fd = -1;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment mem = MemorySegment.ofAddress(addr).reinterpret(2 * page);
            mem.set(JAVA_BYTE, 0, (byte) 1);
            mem.set(JAVA_BYTE, page, (byte) 1);
            try {
                clearSoftDirty();
            } catch (LinuxException e) {
                return e.getMessage();
            }
            mem.set(JAVA_BYTE, 0, (byte) 2);
            fd = Libc.open("/proc/self/pagemap", Libc.O_RDONLY | Libc.O_CLOEXEC, Libc.NO_HINT);
            MemorySegment entries = a.allocate(JAVA_LONG, 2);
            read(fd, addr, 2, entries);
            boolean written = (entries.get(JAVA_LONG, 0) & SOFT_DIRTY_BIT) != 0;
            boolean untouched = (entries.get(JAVA_LONG, 8) & SOFT_DIRTY_BIT) != 0;
            if (!written) return "pagemap bit 55 stays clear after a write following clear_refs: soft-dirty does not work on this kernel";
            if (untouched) return "pagemap bit 55 is set on a page not written since clear_refs: soft-dirty is not tracking";
            return null;
        } catch (LinuxException e) {
            return e.getMessage();
        } finally {
            if (fd >= 0) Libc.close(fd);
            Libc.munmap(addr, 2 * page);
        }
    }
}
