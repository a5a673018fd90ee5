package io.pagemark.replication;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The views a receiver checksums and copies records through: the same bytes as a fresh view would give, whatever order buffers come in. */
class BufferViewsTest {
    @Test
    void crcsAndSegmentsMatchFreshViewsAcrossMoreBuffersThanAreKeptAndBackwardOffsets() {
        SplittableRandom random = new SplittableRandom(7);
        try (Arena arena = Arena.ofConfined()) {
            UnsafeBuffer[] buffers = new UnsafeBuffer[11];   // more than the views keep: old ones are made again
            for (int i = 0; i < buffers.length; i++) {
                MemorySegment s = arena.allocate(64 * 1024 + i * 4096L, 64);
                for (long o = 0; o < s.byteSize(); o++) s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, o, (byte) random.nextInt());
                buffers[i] = new UnsafeBuffer(s.address(), (int) s.byteSize());
            }
            BufferViews views = new BufferViews();
            for (int round = 0; round < 2_000; round++) {
                UnsafeBuffer b = buffers[random.nextInt(buffers.length)];
                int length = 1 + random.nextInt(8192);
                int offset = random.nextInt(b.capacity() - length + 1);   // often below the last limit: the position must follow
                MemorySegment fresh = MemorySegment.ofAddress(b.addressOffset()).reinterpret(b.capacity()).asSlice(offset, length);
                assertEquals(Records.crc(fresh), views.crc(b, offset, length), "round " + round);
                assertEquals(-1, views.segment(b).asSlice(offset, length).mismatch(fresh), "round " + round);
            }
        }
    }

    @Test
    void aHeapBufferIsRefused() {
        var e = assertThrows(IllegalStateException.class, () -> new BufferViews().crc(new UnsafeBuffer(new byte[64]), 0, 8));
        assertEquals("Aeron handed a record in a heap buffer", e.getMessage());
    }
}
