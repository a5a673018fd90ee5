package io.pagemark.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * userfaultfd(2): constants, struct layouts and the ioctls pagemark uses. Values missing from the
 * 6.1 headers installed on our machines (WP_UNPOPULATED, WP_ASYNC, MOVE, ...) are defined here and
 * checked against what the running kernel accepts by the tests.
 */
public final class Uffd {
    public static final long UFFD_API = 0xAA;
    private static final int UFFDIO = 0xAA;

    /** userfaultfd(2) flag: handle only faults from user mode (allowed without privilege since 5.11). */
    public static final int UFFD_USER_MODE_ONLY = 1;

    // UFFDIO_API features (include/uapi/linux/userfaultfd.h).
    public static final long FEATURE_PAGEFAULT_FLAG_WP = 1L << 0;
    public static final long FEATURE_EVENT_FORK = 1L << 1;
    public static final long FEATURE_EVENT_REMAP = 1L << 2;
    public static final long FEATURE_EVENT_REMOVE = 1L << 3;
    public static final long FEATURE_MISSING_HUGETLBFS = 1L << 4;
    public static final long FEATURE_MISSING_SHMEM = 1L << 5;
    public static final long FEATURE_EVENT_UNMAP = 1L << 6;
    public static final long FEATURE_SIGBUS = 1L << 7;
    public static final long FEATURE_THREAD_ID = 1L << 8;
    public static final long FEATURE_MINOR_HUGETLBFS = 1L << 9;
    public static final long FEATURE_MINOR_SHMEM = 1L << 10;
    public static final long FEATURE_EXACT_ADDRESS = 1L << 11;
    public static final long FEATURE_WP_HUGETLBFS_SHMEM = 1L << 12;
    /** 6.4+: write-protecting an empty PTE installs a marker, so a never-touched page faults on its first write. */
    public static final long FEATURE_WP_UNPOPULATED = 1L << 13;
    public static final long FEATURE_POISON = 1L << 14;
    /** 6.7+: the kernel resolves write-protect faults itself and leaves the PTE marked written (for PAGEMAP_SCAN). */
    public static final long FEATURE_WP_ASYNC = 1L << 15;
    public static final long FEATURE_MOVE = 1L << 16;

    private static final String[] FEATURE_NAMES = {
            "PAGEFAULT_FLAG_WP", "EVENT_FORK", "EVENT_REMAP", "EVENT_REMOVE", "MISSING_HUGETLBFS",
            "MISSING_SHMEM", "EVENT_UNMAP", "SIGBUS", "THREAD_ID", "MINOR_HUGETLBFS", "MINOR_SHMEM",
            "EXACT_ADDRESS", "WP_HUGETLBFS_SHMEM", "WP_UNPOPULATED", "POISON", "WP_ASYNC", "MOVE"};

    public static final long REGISTER_MODE_MISSING = 1;
    public static final long REGISTER_MODE_WP = 2;
    public static final long REGISTER_MODE_MINOR = 4;

    public static final long WRITEPROTECT_MODE_WP = 1;
    public static final long WRITEPROTECT_MODE_DONTWAKE = 2;

    /** struct uffdio_range { __u64 start, len; } */
    public static final StructLayout RANGE = MemoryLayout.structLayout(
            JAVA_LONG.withName("start"), JAVA_LONG.withName("len"));
    /** struct uffdio_api { __u64 api, features, ioctls; } */
    public static final StructLayout API = MemoryLayout.structLayout(
            JAVA_LONG.withName("api"), JAVA_LONG.withName("features"), JAVA_LONG.withName("ioctls"));
    /** struct uffdio_register { struct uffdio_range range; __u64 mode, ioctls; } */
    public static final StructLayout REGISTER = MemoryLayout.structLayout(
            RANGE.withName("range"), JAVA_LONG.withName("mode"), JAVA_LONG.withName("ioctls"));
    /** struct uffdio_writeprotect { struct uffdio_range range; __u64 mode; } */
    public static final StructLayout WRITEPROTECT = MemoryLayout.structLayout(
            RANGE.withName("range"), JAVA_LONG.withName("mode"));
    /** struct uffd_msg (32 bytes): event, reserved, then the pagefault arm of the union: flags, address, ptid. */
    public static final StructLayout MSG = MemoryLayout.structLayout(
            JAVA_BYTE.withName("event"), JAVA_BYTE.withName("reserved1"), JAVA_SHORT.withName("reserved2"),
            JAVA_INT.withName("reserved3"), JAVA_LONG.withName("pagefault_flags"),
            JAVA_LONG.withName("pagefault_address"), JAVA_INT.withName("pagefault_ptid"), JAVA_INT.withName("pad"));

    public static final long UFFDIO_API = Ioctl.iowr(UFFDIO, 0x3F, API.byteSize());
    public static final long UFFDIO_REGISTER = Ioctl.iowr(UFFDIO, 0x00, REGISTER.byteSize());
    public static final long UFFDIO_UNREGISTER = Ioctl.ior(UFFDIO, 0x01, RANGE.byteSize());
    public static final long UFFDIO_WAKE = Ioctl.ior(UFFDIO, 0x02, RANGE.byteSize());
    public static final long UFFDIO_WRITEPROTECT = Ioctl.iowr(UFFDIO, 0x06, WRITEPROTECT.byteSize());
    /** /dev/userfaultfd (6.1+): ioctl that returns a new userfaultfd; its argument is the userfaultfd(2) flags. */
    public static final long USERFAULTFD_IOC_NEW = Ioctl.io(UFFDIO, 0x00);

    public static final int EVENT_PAGEFAULT = 0x12;
    public static final long PAGEFAULT_FLAG_WRITE = 1;
    public static final long PAGEFAULT_FLAG_WP = 2;

    private static final String PRIVILEGE_HINT = "needs CAP_SYS_PTRACE, vm.unprivileged_userfaultfd=1, or access to"
            + " /dev/userfaultfd; UFFD_USER_MODE_ONLY tried too";

    private Uffd() {}

    /** How a userfaultfd was obtained: the first of these that works here is what pagemark uses. */
    public enum OpenMode {
        /** userfaultfd(2) with full rights: kernel-mode writes (read(2) into the arena) are handled. */
        SYSCALL("syscall"),
        /** userfaultfd(2) with UFFD_USER_MODE_ONLY: unprivileged, but a kernel-mode write into a protected page fails with EFAULT. */
        SYSCALL_USER_MODE_ONLY("syscall+user-mode-only"),
        /** /dev/userfaultfd plus USERFAULTFD_IOC_NEW: unprivileged where the device node's mode allows it. */
        DEV_USERFAULTFD("/dev/userfaultfd");

        private final String label;

        OpenMode(String label) {
            this.label = label;
        }

        /** The name used in the probe's output. */
        public String label() {
            return label;
        }

        /** What opening it this way costs, or null when nothing: user-mode-only cannot resolve kernel-mode writes. */
        public String limitation() {
            return this == SYSCALL_USER_MODE_ONLY
                    ? "user-mode-only: a kernel-mode write into a protected page (read(2) or FileChannel.read into the arena) fails with EFAULT"
                    : null;
        }
    }

    /** The outcome of trying every way to open a userfaultfd: the mode that worked, and why each other one failed. */
    public record Access(OpenMode mode, List<String> attempts) {
        public boolean available() {
            return mode != null;
        }
    }

    /** A userfaultfd that has been opened (and not yet API-handshaken) in a given way. */
    public record Opened(int fd, OpenMode mode) {}

    /**
     * Opens a userfaultfd the first way that works here: the syscall, /dev/userfaultfd, then the
     * syscall in user-mode-only (unprivileged since 5.11, but kernel-mode writes are not handled). {@code O_CLOEXEC | O_NONBLOCK} (non-blocking so a handler can poll it).
     *
     * @throws LinuxException naming every attempt when none works
     */
    public static Opened open() {
        List<String> failures = new ArrayList<>();
        int[] syscallErrno = new int[1];
        Opened opened = tryOpen(failures, syscallErrno);
        if (opened == null) {
            String hint = syscallErrno[0] == Errno.ENOSYS
                    ? "this kernel is built without CONFIG_USERFAULTFD" : PRIVILEGE_HINT;
            throw new LinuxException("userfaultfd", syscallErrno[0], hint + " (" + String.join("; ", failures) + ")");
        }
        return opened;
    }

    /** Tries every way to open a userfaultfd and closes what it opened: for the probe. */
    public static Access access() {
        List<String> attempts = new ArrayList<>();
        Opened opened = tryOpen(attempts, new int[1]);
        if (opened != null) {
            Libc.close(opened.fd());
            attempts.add(opened.mode().label() + ": ok");
            return new Access(opened.mode(), attempts);
        }
        return new Access(null, attempts);
    }

    private static Opened tryOpen(List<String> failures, int[] syscallErrno) {
        int flags = Libc.O_CLOEXEC | Libc.O_NONBLOCK;
        try {
            return new Opened((int) Libc.syscall(Libc.SYS_USERFAULTFD, flags, "userfaultfd", Libc.NO_HINT), OpenMode.SYSCALL);
        } catch (LinuxException e) {
            syscallErrno[0] = e.errno();
            failures.add("syscall: " + Errno.name(e.errno()));
        }
        // Before user-mode-only: a descriptor from /dev/userfaultfd has full rights (kernel-mode writes are handled too).
        Opened fromDevice = tryDevice(flags, failures);
        if (fromDevice != null) return fromDevice;
        try {
            return new Opened((int) Libc.syscall(Libc.SYS_USERFAULTFD, flags | UFFD_USER_MODE_ONLY,
                    "userfaultfd(UFFD_USER_MODE_ONLY)", Libc.NO_HINT), OpenMode.SYSCALL_USER_MODE_ONLY);
        } catch (LinuxException e) {
            failures.add("syscall+user-mode-only: " + Errno.name(e.errno()));
        }
        return null;
    }

    private static Opened tryDevice(int flags, List<String> failures) {
        int dev;
        try {
            dev = Libc.open("/dev/userfaultfd", Libc.O_RDWR | Libc.O_CLOEXEC, Libc.NO_HINT);
        } catch (LinuxException e) {
            failures.add("/dev/userfaultfd: " + Errno.name(e.errno()));
            return null;
        }
        try {
            return new Opened(Libc.ioctl(dev, USERFAULTFD_IOC_NEW, flags, "ioctl(USERFAULTFD_IOC_NEW)", Libc.NO_HINT),
                    OpenMode.DEV_USERFAULTFD);
        } catch (LinuxException e) {
            failures.add("/dev/userfaultfd: ioctl " + Errno.name(e.errno()));
            return null;
        } finally {
            Libc.close(dev);
        }
    }

    /**
     * The UFFDIO_API handshake requesting {@code features}; returns the features the kernel reports.
     * A userfaultfd accepts exactly one handshake.
     */
    public static long api(int fd, long features) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment api = a.allocate(API);
            api.set(JAVA_LONG, 0, UFFD_API);
            api.set(JAVA_LONG, 8, features);
            Libc.ioctl(fd, UFFDIO_API, api, "ioctl(UFFDIO_API, features=" + featureNames(features) + ")",
                    e -> e == Errno.EINVAL ? "this kernel does not offer every requested userfaultfd feature" : null);
            return api.get(JAVA_LONG, 8);
        }
    }

    /** Every feature this kernel's userfaultfd offers (a handshake on a throwaway descriptor), or 0 if none can be opened. */
    public static long supportedFeatures() {
        Opened opened;
        try {
            opened = open();
        } catch (LinuxException e) {
            return 0;
        }
        try {
            return api(opened.fd(), 0);
        } finally {
            Libc.close(opened.fd());
        }
    }

    /** Registers [start, start+len) in {@code mode}; returns the ioctls bitmask the kernel allows on it. */
    public static long register(int fd, long start, long len, long mode) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment reg = a.allocate(REGISTER);
            reg.set(JAVA_LONG, 0, start);
            reg.set(JAVA_LONG, 8, len);
            reg.set(JAVA_LONG, 16, mode);
            Libc.ioctl(fd, UFFDIO_REGISTER, reg, "ioctl(UFFDIO_REGISTER)", e -> switch (e) {
                case Errno.EINVAL -> "the range is not page aligned or this memory type does not support the mode";
                case Errno.EBUSY -> "the range is already registered with another userfaultfd";
                default -> null;
            });
            return reg.get(JAVA_LONG, 24);
        }
    }

    public static void unregister(int fd, long start, long len) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment range = a.allocate(RANGE);
            range.set(JAVA_LONG, 0, start);
            range.set(JAVA_LONG, 8, len);
            Libc.ioctl(fd, UFFDIO_UNREGISTER, range, "ioctl(UFFDIO_UNREGISTER)", Libc.NO_HINT);
        }
    }

    /**
     * Write-protects ({@code protect}) or unprotects [start, start+len). Unprotecting wakes threads
     * blocked on the range unless {@code dontWake}.
     */
    public static void writeProtect(int fd, long start, long len, boolean protect, boolean dontWake) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment wp = a.allocate(WRITEPROTECT);
            writeProtect(fd, wp, start, len, protect, dontWake);
        }
    }

    /** As {@link #writeProtect(int, long, long, boolean, boolean)} with a caller-owned argument struct (no allocation). */
    public static void writeProtect(int fd, MemorySegment wp, long start, long len, boolean protect, boolean dontWake) {
        wp.set(JAVA_LONG, 0, start);
        wp.set(JAVA_LONG, 8, len);
        wp.set(JAVA_LONG, 16, (protect ? WRITEPROTECT_MODE_WP : 0) | (dontWake ? WRITEPROTECT_MODE_DONTWAKE : 0));
        while (true) {
            try {
                Libc.ioctl(fd, UFFDIO_WRITEPROTECT, wp, "ioctl(UFFDIO_WRITEPROTECT)", e -> e == Errno.ENOENT
                        ? "the range is not registered, or unmapped" : null);
                return;
            } catch (LinuxException e) {
                // EAGAIN: a non-cooperative event (UFFD_EVENT_REMOVE) is posted and not yet read; a handler thread reads it.
                if (e.errno() != Errno.EAGAIN) throw e;
                Thread.yield();
            }
        }
    }

    /** Feature bits by name, e.g. "PAGEFAULT_FLAG_WP|WP_ASYNC"; unknown bits as hex. */
    public static String featureNames(long features) {
        List<String> names = featureList(features);
        return names.isEmpty() ? "0" : String.join("|", names);
    }

    /** Feature bits by name, in bit order; bits this build does not know appear as "bit N". */
    public static List<String> featureList(long features) {
        List<String> names = new ArrayList<>();
        for (int bit = 0; bit < 64; bit++) {
            if ((features & (1L << bit)) == 0) continue;
            names.add(bit < FEATURE_NAMES.length ? FEATURE_NAMES[bit] : "bit " + bit);
        }
        return names;
    }
}
