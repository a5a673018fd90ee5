package io.pagemark.agent;

import io.pagemark.DirtyPages;
import io.pagemark.TrackedArena;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;

/**
 * Gets the code the hooks run in the collector's pauses compiled before the first pause needs it.
 * HotSpot compiles a method after it has run some thousands of times; a card scan runs a few times a
 * second, so without this the pause's collect and card marking run in the interpreter for minutes,
 * several times slower (docs/demo.md has the figures). At the first tracked heap, a daemon thread
 * makes the hooks' calls on a scratch arena of the heaps' own builder settings: writes to a few runs
 * of pages, {@code collect()} (the preclean and the clear), {@code collectAndStop()} (the scan), the card
 * marking of both into scratch tables of both kinds, {@code disarm()} and {@code arm()}: up to
 * {@link #ROUNDS} rounds or for {@link #BUDGET_NANOS}, whichever ends first.
 * <p>
 * The scratch arena, named {@value #ARENA_NAME}, is {@linkplain TrackedArena.Builder#monitored(boolean)
 * unmonitored} (no MBean, none of its thousands of collects in a user's JFR recording) and closed at
 * the end; the agent's statistics do not count it. If it cannot be opened, the hooks run as they
 * would have, interpreted at first, and one line says so.
 */
final class PausePathWarmUp {
    static final String ARENA_NAME = "pagemark-agent-warm-up";
    /** Enough calls for HotSpot's second tier (C2) with its default thresholds. */
    static final int ROUNDS = 3_000;
    /** Where a slow fault path (uffd-sync's handler thread) makes the rounds long, fewer: the first tier's code. */
    static final long BUDGET_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** The scratch arena: 64 pages of 4 KiB. */
    private static final long ARENA_BYTES = 64 << 12;

    private PausePathWarmUp() {}

    /**
     * Starts the warm-up of {@code marks} and the tracker's collect path on a daemon thread; returns
     * at once. {@code builder} is the tracked heaps' (left as it is: the scratch arena is built from a copy).
     */
    static void start(TrackedArena.Builder builder, CardMarks marks) {
        Thread thread = new Thread(() -> run(builder, marks), "pagemark-agent-warm-up");
        thread.setDaemon(true);
        thread.start();
    }

    /** The warm-up itself, on the calling thread: the rounds it ran, or -1 when it could not (said on stderr). */
    static int run(TrackedArena.Builder builder, CardMarks marks) {
        long deadline = System.nanoTime() + BUDGET_NANOS;
        try (TrackedArena arena = builder.copy().size(ARENA_BYTES).name(ARENA_NAME).monitored(false).open(); Arena tables = Arena.ofConfined()) {
            MemorySegment memory = arena.segment();
            long cards = marks.cardsCovering(memory.byteSize());
            Object[] tableKinds = {new byte[(int) cards], tables.allocate(cards)};
            int round = 0;
            while (round < ROUNDS && System.nanoTime() - deadline < 0) {
                arena.arm();
                Object table = tableKinds[round & 1];
                write(arena, round, 16);
                mark(marks, arena.collect(), memory, table);
                write(arena, round, 12);
                mark(marks, arena.collectAndStop(), memory, table);
                arena.disarm();
                round++;
            }
            return round;
        } catch (RuntimeException e) {
            System.err.println("pagemark agent: the warm-up of the pause path failed (the first pauses run their hooks interpreted): " + e);
            return -1;
        }
    }

    /** A store to two pages in every {@code stride}, from a place that moves each round: runs of pages, gaps between. */
    private static void write(TrackedArena arena, int round, int stride) {
        MemorySegment memory = arena.segment();
        long pageSize = arena.pageSize();
        for (long page = round % stride; page + 1 < arena.pageCount(); page += stride) {
            memory.set(ValueLayout.JAVA_LONG, page * pageSize, round);
            memory.set(ValueLayout.JAVA_LONG, (page + 1) * pageSize, round);
        }
    }

    private static void mark(CardMarks marks, DirtyPages dirty, MemorySegment memory, Object table) {
        marks.markDirtyPages(dirty, memory.address(), memory, table);
    }
}
