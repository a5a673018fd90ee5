package io.pagemark.samples.kv;

import io.pagemark.TrackedArena;
import io.pagemark.checkpoint.Checkpointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OffHeapKvStoreTest {
    @TempDir
    Path dir;

    @Test
    void slotsInIsTheLargestPowerOfTwoOfSlotsThatFitAndCreateUsesIt() {
        assertEquals(1L << 20, OffHeapKvStore.slotsIn(64L << 20));
        assertEquals(64, OffHeapKvStore.slotsIn(100 * 64));
        assertEquals(0, OffHeapKvStore.slotsIn(63));
        assertEquals(0, OffHeapKvStore.slotsIn(-1));
        long capacity = OffHeapKvStore.slotsIn(1L << 20);
        try (TrackedArena arena = TrackedArena.open(OffHeapKvStore.bytesFor(capacity))) {
            assertEquals(capacity, OffHeapKvStore.create(arena).capacity());
        }
    }

    @Test
    void putGetOverwriteAndTheLimits() {
        try (TrackedArena arena = TrackedArena.open(OffHeapKvStore.bytesFor(8))) {
            OffHeapKvStore store = OffHeapKvStore.create(arena);
            assertTrue(store.capacity() >= 8 && Long.bitCount(store.capacity()) == 1, "all of the arena, in a power of two of slots");
            store.put(1, bytes("one"));
            store.put(9, bytes("nine"));
            store.put(1, bytes("uno"));
            assertArrayEquals(bytes("uno"), store.get(1));
            assertArrayEquals(bytes("nine"), store.get(9));
            assertNull(store.get(2));
            assertEquals(2, store.size());
            assertEquals(3, store.puts());
            assertThrows(IllegalArgumentException.class, () -> store.put(0, bytes("x")));
            assertThrows(IllegalArgumentException.class, () -> store.put(3, new byte[OffHeapKvStore.MAX_VALUE_BYTES + 1]));
            for (long k = 100; store.size() < store.capacity() - 1; k++) store.put(k, bytes("v"));
            assertThrows(IllegalStateException.class, () -> store.put(7777, bytes("no room")));
            assertThrows(IllegalArgumentException.class, () -> OffHeapKvStore.create(arena), "create() on a store");
        }
    }

    @Test
    void aStoreCheckpointedAndRestoredHoldsEveryKey() throws IOException {
        Map<Long, byte[]> expected = new HashMap<>();
        SplittableRandom random = new SplittableRandom(3);
        try (TrackedArena arena = TrackedArena.open(OffHeapKvStore.bytesFor(1 << 14));
             Checkpointer checkpointer = Checkpointer.open(arena, dir)) {
            OffHeapKvStore store = OffHeapKvStore.create(arena);
            for (int round = 0; round < 10; round++) {
                for (int i = 0; i < 2000; i++) {
                    long key = 1 + random.nextInt(5000);
                    byte[] value = new byte[1 + random.nextInt(OffHeapKvStore.MAX_VALUE_BYTES)];
                    random.nextBytes(value);
                    store.put(key, value);
                    expected.put(key, value);
                }
                checkpointer.checkpoint();
            }
        }
        try (TrackedArena restored = Checkpointer.restore(dir, TrackedArena.builder())) {
            OffHeapKvStore store = OffHeapKvStore.attach(restored);
            assertEquals(expected.size(), store.size());
            assertEquals(20_000, store.puts());
            expected.forEach((key, value) -> assertArrayEquals(value, store.get(key), "key " + key));
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
