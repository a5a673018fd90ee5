package io.pagemark;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.BitSet;

import static org.junit.jupiter.api.Assertions.assertEquals;

class NativeSmokeTest {
    @ParameterizedTest
    @ValueSource(strings = {"uffd-sync", "uffd-sigbus", "mprotect"})
    void catchesWrites(String backend) {
        try (TrackedArena arena = TrackedArena.builder().size(64 * 4096).backend(backend).open()) {
            System.out.println(Capabilities.probe().nativeLibraryDetail());
            arena.arm();
            arena.putLong(0, 1);
            arena.putLong(5 * 4096 + 8, 2);
            arena.putLong(63 * 4096, 3);
            DirtyPages d = arena.collect();
            BitSet expected = new BitSet();
            expected.set(0);
            expected.set(5);
            expected.set(63);
            assertEquals(expected, d.bitSet());
            assertEquals(0, arena.collect().pageCount());
            arena.putLong(5 * 4096, 4);
            assertEquals(1, arena.collect().pageCount());
            System.out.println(arena.describe() + " faults=" + arena.stats().faults());
        }
    }
}
