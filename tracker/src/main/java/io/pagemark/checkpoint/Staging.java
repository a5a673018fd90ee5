package io.pagemark.checkpoint;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Off-heap buffers for writing and reading checkpoint files: room for a batch of page records (so
 * the file is written and read in large chunks), and one zero page to compare pages against.
 * Usable from any thread, one at a time.
 */
final class Staging implements AutoCloseable {
    /** Page records per chunk: 64 x (4 KiB + 12) = 257 KiB, large enough to amortize a system call, small enough to stay in L2. */
    static final int RECORDS_PER_CHUNK = 64;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment buffer;
    private final MemorySegment zeroPage;

    Staging(int pageSize) {
        this.buffer = arena.allocate(RECORDS_PER_CHUNK * Format.recordBytes(pageSize), pageSize);
        this.zeroPage = arena.allocate(pageSize, pageSize);
    }

    MemorySegment buffer() {
        return buffer;
    }

    MemorySegment zeroPage() {
        return zeroPage;
    }

    @Override
    public void close() {
        arena.close();
    }
}
