package io.pagemark;

/**
 * A stop-the-world point declared by the code that writes to a {@link TrackedArena}: how to stop
 * every thread that writes to it, and how to let them go again.
 *
 * <p>Most backends never need one: their collect is atomic per page, so writers keep running. The
 * {@link Backend#SOFT_DIRTY soft-dirty} backend does need one, and refuses to open without it: its
 * collect reads the kernel's soft-dirty bits (pagemap bit 55) and then clears them by writing "4" to
 * {@code /proc/self/clear_refs}. Those are two separate steps, and the clear is process-wide, so a write
 * landing between the read and the clear would be cleared unreported: a lost write. The arena calls
 * {@link #stopWriters()} before reading and {@link #resumeWriters()} after clearing.
 *
 * <p>A runtime that already has a safepoint (a stop-the-world pause of its own mutators) implements
 * this interface with it. Everyone else uses {@link WriterGate}, which writers enter and exit around
 * their writes:
 *
 * <pre>{@code
 * WriterGate gate = new WriterGate();
 * try (TrackedArena arena = TrackedArena.builder().size(64L << 20).backend("soft-dirty").writerPause(gate).open()) {
 *     arena.arm();
 *     // writer threads:
 *     gate.enter();
 *     try { arena.putLong(offset, value); } finally { gate.exit(); }
 *     // the collector: stops the writers, reads, clears, resumes them
 *     DirtyPages dirty = arena.collect();
 * }
 * }</pre>
 *
 * <p>Contract: when {@link #stopWriters()} returns, no thread is writing to the arena and none starts
 * until {@link #resumeWriters()}, and every write made before it returned has completed (the writers'
 * stores happen-before its return). Both are called by the thread that calls
 * {@link TrackedArena#collect()}, in pairs, never nested. A pause that does not really stop the writers
 * makes the soft-dirty backend lose writes; the test suite shows that it does.
 */
public interface WriterPause {

    /** Returns once no thread writes to the arena and none will start until {@link #resumeWriters()}. */
    void stopWriters();

    /** Lets the writers stopped by {@link #stopWriters()} run again. */
    void resumeWriters();
}
