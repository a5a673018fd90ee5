package io.pagemark.nativelib;

import org.agrona.concurrent.ringbuffer.RingBuffer;
import org.agrona.concurrent.ringbuffer.RecordDescriptor;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The fault ring's layout as the C producer writes it ({@code tracker/src/main/c/ring.h}, the one
 * source), checked when the library loads: the trailer and record header against Agrona's
 * {@link RingBufferDescriptor} and {@link RecordDescriptor}, whose consumer reads the ring, and
 * pagemark's own record format against the constants below, which the Java side uses. A library
 * whose layout differs is refused, so the two sides can never disagree silently.
 */
public final class RingLayout {
    /** The record type of a fault record (FAULT_RECORD_TYPE). */
    public static final int RECORD_TYPE = 1;
    /** Bits of an entry that hold log2 of the block's page count (ENTRY_LOG2_BITS). */
    public static final int ENTRY_LOG2_BITS = 6;
    /** The most entries a producer puts in one record (RING_MAX_ENTRIES). */
    public static final int MAX_ENTRIES_PER_RECORD = 64;
    /** The smallest ring (RING_MIN_CAPACITY): a record of {@link #MAX_ENTRIES_PER_RECORD} entries fits Agrona's maxMsgLength. */
    public static final int MIN_CAPACITY = 4096;

    /** pm_ring_layout's fields (PM_RING_*), each with the value the Java side expects. */
    private enum Field {
        TRAILER_LENGTH(0, RingBufferDescriptor.TRAILER_LENGTH),
        TAIL_OFFSET(1, RingBufferDescriptor.TAIL_POSITION_OFFSET),
        HEAD_CACHE_OFFSET(2, RingBufferDescriptor.HEAD_CACHE_POSITION_OFFSET),
        HEAD_OFFSET(3, RingBufferDescriptor.HEAD_POSITION_OFFSET),
        RECORD_HEADER_LENGTH(4, RecordDescriptor.HEADER_LENGTH),
        RECORD_ALIGNMENT(5, RecordDescriptor.ALIGNMENT),
        PADDING_TYPE(6, RingBuffer.PADDING_MSG_TYPE_ID),
        FAULT_RECORD_TYPE(7, RECORD_TYPE),
        ENTRY_LOG2_BITS(8, RingLayout.ENTRY_LOG2_BITS),
        MAX_ENTRIES(9, MAX_ENTRIES_PER_RECORD),
        MIN_CAPACITY(10, RingLayout.MIN_CAPACITY);

        final int code;
        final int expected;

        Field(int code, int expected) {
            this.code = code;
            this.expected = expected;
        }
    }

    private RingLayout() {}

    /** Refuses a library whose ring layout differs from what Agrona's consumer and this code read. */
    static void check(SymbolLookup lookup) {
        MethodHandle layout = Linker.nativeLinker().downcallHandle(
                lookup.find("pm_ring_layout").orElseThrow(() -> new IllegalStateException("the native library lacks pm_ring_layout")),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        StringBuilder mismatches = new StringBuilder();
        for (Field field : Field.values()) {
            int found;
            try {
                found = (int) layout.invokeExact(field.code);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
            if (found != field.expected) {
                mismatches.append(mismatches.isEmpty() ? "" : ", ").append(field).append(' ').append(found)
                        .append(" (expected ").append(field.expected).append(')');
            }
        }
        if (!mismatches.isEmpty()) {
            throw new IllegalStateException("the native library's fault ring layout differs from Agrona's and this code's: "
                    + mismatches + " (tracker/src/main/c/ring.h and io.pagemark.nativelib.RingLayout disagree)");
        }
    }
}
