package io.pagemark.checkpoint;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.fail;

/** Byte-for-byte comparison of arena images that names the first page that differs. */
final class ArenaAssertions {
    private ArenaAssertions() {}

    static void assertSameBytes(MemorySegment expected, MemorySegment actual, long pageSize, String what) {
        if (expected.byteSize() != actual.byteSize()) {
            fail(what + ": sizes differ, expected " + expected.byteSize() + " bytes, got " + actual.byteSize());
        }
        long at = expected.mismatch(actual);
        if (at >= 0) {
            fail(what + ": differs at byte " + at + " (page " + at / pageSize + "): expected "
                    + expected.get(ValueLayout.JAVA_BYTE, at) + ", got " + actual.get(ValueLayout.JAVA_BYTE, at));
        }
    }
}
