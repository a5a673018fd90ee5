package io.pagemark.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.function.IntFunction;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The libc calls pagemark makes, bound through the FFM API (no JNI). Every call captures errno and a
 * failure becomes a {@link LinuxException} naming the call, the errno and, through the caller's
 * {@code meaning} function, what that errno means for the user.
 */
public final class Libc {
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_NONBLOCK = 0x800;
    public static final int O_CLOEXEC = 0x80000;

    public static final int PROT_NONE = 0;
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;

    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_NORESERVE = 0x4000;

    public static final int MADV_DONTNEED = 4;
    public static final int MADV_HUGEPAGE = 14;
    public static final int MADV_NOHUGEPAGE = 15;
    /** Linux 5.14+: fault in every page of the range for reading (maps the shared zero page on anonymous memory). */
    public static final int MADV_POPULATE_READ = 22;
    public static final int MADV_POPULATE_WRITE = 23;

    /** x86-64 syscall number of userfaultfd(2). */
    public static final long SYS_USERFAULTFD = 323;
    private static final int SC_PAGESIZE = 30;
    private static final long MAP_FAILED = -1L;

    /** A failure message hint by errno; return null for "nothing to add". */
    public interface Meaning extends IntFunction<String> {}

    /** For calls whose errno speaks for itself. */
    public static final Meaning NO_HINT = errno -> null;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");
    /** One errno capture buffer per thread: the calls below run on many threads and must not allocate per call. */
    private static final ThreadLocal<MemorySegment> CAPTURE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE_LAYOUT));

    private static final MethodHandle SYSCALL1 = variadic("syscall", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG), 1);
    private static final MethodHandle IOCTL_PTR = variadic("ioctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), 2);
    private static final MethodHandle IOCTL_LONG = variadic("ioctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), 2);
    private static final MethodHandle OPEN = variadic("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), 2);
    private static final MethodHandle MMAP = fixed("mmap", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = fixed("munmap", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle MADVISE = fixed("madvise", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final MethodHandle MADVISE_SEGMENT = fixed("madvise", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle MPROTECT = fixed("mprotect", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final MethodHandle PREAD = fixed("pread", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle READ = fixed("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle WRITE = fixed("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle CLOSE = fixed("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle SYSCONF = LINKER.downcallHandle(
            LIBC.find("sysconf").orElseThrow(), FunctionDescriptor.of(JAVA_LONG, JAVA_INT));
    private static final MethodHandle GETEUID = LINKER.downcallHandle(
            LIBC.find("geteuid").orElseThrow(), FunctionDescriptor.of(JAVA_INT));

    private static final long PAGE_SIZE = sysconf(SC_PAGESIZE);

    private Libc() {}

    private static MethodHandle fixed(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(), fd, CAPTURE_ERRNO);
    }

    private static MethodHandle variadic(String name, FunctionDescriptor fd, int firstVariadic) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(), fd,
                Linker.Option.firstVariadicArg(firstVariadic), CAPTURE_ERRNO);
    }

    private static long sysconf(int name) {
        try {
            return (long) SYSCONF.invokeExact(name);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** The base page size of this machine (4096 on x86-64). */
    public static long pageSize() {
        return PAGE_SIZE;
    }

    /** The effective user id of this process (geteuid(2), which cannot fail). */
    public static int geteuid() {
        try {
            return (int) GETEUID.invokeExact();
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static int errno(MemorySegment capture) {
        return (int) ERRNO.get(capture, 0L);
    }

    private static LinuxException failure(String call, int errno, Meaning meaning) {
        return new LinuxException(call, errno, meaning.apply(errno));
    }

    /** syscall(nr, arg): the raw result (never negative: a failure throws). */
    public static long syscall(long nr, long arg, String call, Meaning meaning) {
        MemorySegment capture = CAPTURE.get();
        long r;
        try {
            r = (long) SYSCALL1.invokeExact(capture, nr, arg);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        if (r < 0) throw failure(call, errno(capture), meaning);
        return r;
    }

    /** ioctl(fd, request, pointer): the non-negative result; a failure throws. */
    public static int ioctl(int fd, long request, MemorySegment arg, String call, Meaning meaning) {
        MemorySegment capture = CAPTURE.get();
        while (true) {
            int r;
            try {
                r = (int) IOCTL_PTR.invokeExact(capture, fd, request, arg);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
            if (r >= 0) return r;
            int errno = errno(capture);
            if (errno != Errno.EINTR) throw failure(call, errno, meaning);
        }
    }

    /** ioctl(fd, request, integer argument): the non-negative result; a failure throws. */
    public static int ioctl(int fd, long request, long arg, String call, Meaning meaning) {
        MemorySegment capture = CAPTURE.get();
        int r;
        try {
            r = (int) IOCTL_LONG.invokeExact(capture, fd, request, arg);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        if (r < 0) throw failure(call, errno(capture), meaning);
        return r;
    }

    /** open(path, flags); a failure throws. */
    public static int open(String path, int flags, Meaning meaning) {
        MemorySegment capture = CAPTURE.get();
        try (Arena a = Arena.ofConfined()) {
            int fd = (int) OPEN.invokeExact(capture, a.allocateFrom(path), flags);
            if (fd < 0) throw failure("open(" + path + ")", errno(capture), meaning);
            return fd;
        } catch (LinuxException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** An anonymous private mapping of {@code length} bytes; returns its address. */
    public static long mmapAnonymous(long length, int prot, int extraFlags) {
        MemorySegment capture = CAPTURE.get();
        long addr;
        try {
            addr = (long) MMAP.invokeExact(capture, 0L, length, prot, MAP_PRIVATE | MAP_ANONYMOUS | extraFlags, -1, 0L);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        if (addr == MAP_FAILED) {
            throw failure("mmap(" + length + " bytes, anonymous)", errno(capture), e -> e == Errno.ENOMEM
                    ? "the address space or vm.max_map_count is exhausted, or the size is larger than this process may map"
                    : null);
        }
        return addr;
    }

    public static void munmap(long addr, long length) {
        MemorySegment capture = CAPTURE.get();
        int r;
        try {
            r = (int) MUNMAP.invokeExact(capture, addr, length);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        if (r != 0) throw failure("munmap", errno(capture), NO_HINT);
    }

    public static void madvise(long addr, long length, int advice, String call, Meaning meaning) {
        madvise(capture -> (int) MADVISE.invokeExact(capture, addr, length, advice), call, meaning);
    }

    /**
     * madvise on the memory of {@code range}: the call holds the range's arena, so a shared arena
     * cannot be closed (and its memory unmapped and reused) while the kernel works on it; on a closed
     * arena it throws IllegalStateException.
     */
    public static void madvise(MemorySegment range, int advice, String call, Meaning meaning) {
        madvise(capture -> (int) MADVISE_SEGMENT.invokeExact(capture, range, range.byteSize(), advice), call, meaning);
    }

    /** A downcall that stores errno in {@code capture}. */
    private interface Downcall {
        int call(MemorySegment capture) throws Throwable;
    }

    private static void madvise(Downcall madvise, String call, Meaning meaning) {
        MemorySegment capture = CAPTURE.get();
        while (true) {
            int r;
            try {
                r = madvise.call(capture);
            } catch (IllegalStateException closed) {
                throw closed;
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
            if (r == 0) return;
            int errno = errno(capture);
            // MADV_POPULATE_* returns EINTR on a pending signal: it may be retried.
            if (errno != Errno.EINTR) throw failure(call, errno, meaning);
        }
    }

    public static void mprotect(long addr, long length, int prot, Meaning meaning) {
        MemorySegment capture = CAPTURE.get();
        int r;
        try {
            r = (int) MPROTECT.invokeExact(capture, addr, length, prot);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        if (r != 0) throw failure("mprotect", errno(capture), meaning);
    }

    /** pread(2) until {@code count} bytes are read or end of file; returns the bytes read. */
    public static long pread(int fd, MemorySegment buf, long count, long offset, String call) {
        MemorySegment capture = CAPTURE.get();
        long done = 0;
        while (done < count) {
            long r;
            try {
                r = (long) PREAD.invokeExact(capture, fd, buf.asSlice(done), count - done, offset + done);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
            if (r == 0) break;
            if (r < 0) {
                int errno = errno(capture);
                if (errno == Errno.EINTR) continue;
                throw failure(call, errno, NO_HINT);
            }
            done += r;
        }
        return done;
    }

    /** One read(2) of up to {@code count} bytes; returns the bytes read, or -errno for EAGAIN/EINTR. */
    public static long read(int fd, MemorySegment buf, long count, String call) {
        MemorySegment capture = CAPTURE.get();
        long r;
        try {
            r = (long) READ.invokeExact(capture, fd, buf, count);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        if (r >= 0) return r;
        int errno = errno(capture);
        if (errno == Errno.EAGAIN || errno == Errno.EINTR) return -errno;
        throw failure(call, errno, NO_HINT);
    }

    /** write(2) of all {@code count} bytes. */
    public static void write(int fd, MemorySegment buf, long count, String call, Meaning meaning) {
        MemorySegment capture = CAPTURE.get();
        long done = 0;
        while (done < count) {
            long r;
            try {
                r = (long) WRITE.invokeExact(capture, fd, buf.asSlice(done), count - done);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
            if (r < 0) {
                int errno = errno(capture);
                if (errno == Errno.EINTR) continue;
                throw failure(call, errno, meaning);
            }
            done += r;
        }
    }

    /** Closes a file descriptor; EINTR is not retried (Linux has released the descriptor already). */
    public static void close(int fd) {
        MemorySegment capture = CAPTURE.get();
        int r;
        try {
            r = (int) CLOSE.invokeExact(capture, fd);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        if (r != 0 && errno(capture) != Errno.EINTR) throw failure("close(" + fd + ")", errno(capture), NO_HINT);
    }
}
