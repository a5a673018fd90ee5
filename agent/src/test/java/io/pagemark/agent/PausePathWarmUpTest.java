package io.pagemark.agent;

import io.pagemark.Backend;
import io.pagemark.TrackedArena;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import javax.management.ObjectName;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The warm-up runs the hooks' calls on a scratch arena of the heaps' backend, within its budget, and leaves nothing behind. */
class PausePathWarmUpTest {
    static List<Backend> backends() {
        return AgentRuns.usableBackends();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void itRunsWithinItsBudgetClosesItsArenaAndLeavesTheHeapsBuilderAsItWas(Backend backend) throws Exception {
        TrackedArena.Builder heaps = TrackedArena.builder().backend(backend).name(CardMarkingReplacement.HEAP_NAME).size(1 << 20);
        String stderr = stderrOf(() -> {
            long start = System.nanoTime();
            int rounds = PausePathWarmUp.run(heaps, new CardMarks(9, (byte) 1));
            long took = System.nanoTime() - start;
            assertTrue(rounds > 0 && rounds <= PausePathWarmUp.ROUNDS, "rounds: " + rounds);
            // One round may be under way when the budget ends, and opening the arena comes first.
            assertTrue(took < PausePathWarmUp.BUDGET_NANOS + TimeUnit.SECONDS.toNanos(10), "took " + took / 1_000_000 + " ms");
        });
        assertEquals("", stderr, "silent when it works");
        assertEquals(0, arenasNamed(PausePathWarmUp.ARENA_NAME + "*"), "the scratch arena is still registered");
        try (TrackedArena heap = heaps.open()) {
            assertEquals(1 << 20, heap.size(), "the warm-up changed the heaps' builder");
            assertEquals(CardMarkingReplacement.HEAP_NAME, heap.objectName().getKeyProperty("name"));
        }
    }

    @Test
    void aScratchArenaThatCannotOpenIsSaidOnceAndNothingElseHappens() throws Exception {
        // A fixed block of pages per fault on the backend without a fault path of its own: refused on every machine.
        TrackedArena.Builder heaps = TrackedArena.builder().backend(Backend.UFFD_ASYNC).bulkPages(4);
        int[] rounds = new int[1];
        String stderr = stderrOf(() -> rounds[0] = PausePathWarmUp.run(heaps, new CardMarks(9, (byte) 1)));
        assertEquals(-1, rounds[0]);
        assertTrue(stderr.startsWith("pagemark agent: the warm-up of the pause path failed (the first pauses run their hooks interpreted): "), stderr);
        assertEquals(1, stderr.lines().count(), stderr);
        assertEquals(0, arenasNamed(PausePathWarmUp.ARENA_NAME + "*"));
    }

    private static int arenasNamed(String pattern) throws Exception {
        return ManagementFactory.getPlatformMBeanServer().queryNames(new ObjectName("io.pagemark:type=Arena,name=" + pattern), null).size();
    }

    private interface Body {
        void run() throws Exception;
    }

    private static String stderrOf(Body body) throws Exception {
        PrintStream saved = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            body.run();
        } finally {
            System.setErr(saved);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }
}
