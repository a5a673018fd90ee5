package io.pagemark;

import io.pagemark.testing.BackendsWith;
import org.junit.jupiter.params.ParameterizedTest;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A THP arena ({@code transparentHugePages(true)}): describe() says how much of it is backed by huge
 * pages now (AnonHugePages); arming keeps the huge pages whole; what the first tracked write does to
 * its huge page, per backend (printed; docs/cuts.md has the table): the page written is reported, and
 * the collect after it reports at most that huge page.
 */
class HugePagesTest {
    private static final long SIZE = 16L << 20;
    private static final Pattern NOW = Pattern.compile("transparent huge pages: (\\d+) of (\\d+) MiB now");

    private static long hugeMiB(TrackedArena arena) {
        Matcher m = NOW.matcher(arena.describe());
        assertTrue(m.find(), arena.describe());
        assertEquals(SIZE >> 20, Long.parseLong(m.group(2)));
        return Long.parseLong(m.group(1));
    }

    @ParameterizedTest(name = "{0}")
    @BackendsWith(Backend.Trait.HARDWARE)
    void describeSaysWhetherTheArenaIsBackedByHugePagesAndWhatAFirstWriteDoes(Backend backend) {
        Capabilities.Support support = Capabilities.probe().backends().get(backend);
        assumeTrue(support.usable(), () -> "skipped: " + backend + " is not usable here: " + support.reason());
        WriterGate gate = new WriterGate();
        try (TrackedArena arena = TrackedArena.builder().size(SIZE).backend(backend).transparentHugePages(true).writerPause(gate).open()) {
            arena.segment().fill((byte) 1);
            long populated = hugeMiB(arena);
            assumeTrue(populated > 0, "skipped: the kernel gave this arena no huge pages (transparent_hugepage disabled or fragmented)");
            arena.arm();
            long armed = hugeMiB(arena);
            assertEquals(populated, armed, "arming keeps the huge pages whole (one protected PMD per 2 MiB)");
            arena.putLong(5 * arena.pageSize(), 42);
            DirtyPages dirty = arena.collect();
            long afterWrite = hugeMiB(arena);
            System.out.printf("%s: THP %d MiB populated, %d MiB after arm, %d MiB after one write and collect;"
                    + " that collect reported %d page(s)%n", backend, populated, armed, afterWrite, dirty.pageCount());
            assertTrue(dirty.contains(5), "the page written is reported");
            assertTrue(dirty.pageCount() <= 2L * 1024 * 1024 / arena.pageSize(), "at most the huge page written: " + dirty);
        }
        try (TrackedArena plain = TrackedArena.builder().size(SIZE).backend(backend).writerPause(gate).open()) {
            assertTrue(plain.describe().contains("transparent huge pages: not asked for"), plain.describe());
        }
    }
}
