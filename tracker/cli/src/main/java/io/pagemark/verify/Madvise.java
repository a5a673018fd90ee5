package io.pagemark.verify;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** madvise(2) as a program applies it to an arena's memory: the oracle's plain discards, on the public FFM API alone. */
final class Madvise {
    static final int MADV_DONTNEED = 4;
    static final int MADV_FREE = 8;
    static final int MADV_PAGEOUT = 21;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle MADVISE = LINKER.downcallHandle(LINKER.defaultLookup().find("madvise").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));

    private Madvise() {}

    /** madvise(range, advice); the call holds the range's arena, so it cannot be unmapped meanwhile. */
    static void apply(MemorySegment range, int advice) {
        int result;
        try {
            result = (int) MADVISE.invokeExact(range, range.byteSize(), advice);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        if (result != 0) throw new IllegalStateException("madvise(" + range + ", advice " + advice + ") failed");
    }
}
