package io.pagemark.linux;

/** The kernel's ioctl request encoding (asm-generic/ioctl.h), so request numbers are derived, not pasted. */
final class Ioctl {
    private static final int NRSHIFT = 0;
    private static final int TYPESHIFT = 8;
    private static final int SIZESHIFT = 16;
    private static final int DIRSHIFT = 30;
    private static final long NONE = 0;
    private static final long WRITE = 1;
    private static final long READ = 2;

    private Ioctl() {}

    private static long ioc(long dir, int type, int nr, long size) {
        return (dir << DIRSHIFT) | ((long) type << TYPESHIFT) | ((long) nr << NRSHIFT) | (size << SIZESHIFT);
    }

    static long io(int type, int nr) {
        return ioc(NONE, type, nr, 0);
    }

    static long ior(int type, int nr, long size) {
        return ioc(READ, type, nr, size);
    }

    static long iowr(int type, int nr, long size) {
        return ioc(READ | WRITE, type, nr, size);
    }
}
