package io.pagemark;

/**
 * A run of consecutive dirty pages of an arena: pages [{@code firstPage}, {@code firstPage + pageCount}).
 * Byte offsets into the arena are {@link #offset()} and {@link #byteSize()}.
 */
public record PageRange(long firstPage, long pageCount, long pageSize) {
    public PageRange {
        if (firstPage < 0 || pageCount <= 0 || pageSize <= 0) {
            throw new IllegalArgumentException("bad page range: first " + firstPage + ", count " + pageCount + ", page size " + pageSize);
        }
    }

    /** Byte offset of the first page from the start of the arena. */
    public long offset() {
        return firstPage * pageSize;
    }

    /** Bytes the range covers. */
    public long byteSize() {
        return pageCount * pageSize;
    }

    /** One past the last page. */
    public long endPage() {
        return firstPage + pageCount;
    }
}
