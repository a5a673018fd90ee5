package io.pagemark.backend;

import java.lang.foreign.MemorySegment;

/**
 * The memory a tracker watches: {@code size} bytes at {@code address}, a whole number of pages.
 * {@code memory} is a segment over it that the tracker may use to touch pages (populate).
 */
public record MappedRegion(long address, long size, long pageSize, MemorySegment memory) {
    public MappedRegion {
        if (address % pageSize != 0 || size % pageSize != 0 || size <= 0) {
            throw new IllegalArgumentException("region must be whole pages: address 0x" + Long.toHexString(address)
                    + ", size " + size + ", page size " + pageSize);
        }
    }

    public long pageCount() {
        return size / pageSize;
    }

    public long end() {
        return address + size;
    }
}
