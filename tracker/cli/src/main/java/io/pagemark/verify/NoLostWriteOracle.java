package io.pagemark.verify;

import io.pagemark.Backend;
import io.pagemark.TrackedArena;
import io.pagemark.WriterGate;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * The no-lost-write oracle: the test every backend must pass.
 * <p>
 * Writer threads store version stamps at random places of a tracked arena (single bytes, 8-byte
 * words, writes spanning a page boundary, and sequential runs of up to 32 pages), while one
 * collector repeatedly collects and copies every reported page into a shadow copy. Every {@link OracleConfig#quiescentEvery()} the writers
 * are stopped, one more collect is made, and the shadow must then equal the arena byte for byte:
 * any difference is a write that no collect reported. Checking often (not only at the end) keeps a
 * later write to the same page from hiding an earlier loss. One write in {@link OracleConfig#discardOneIn()}
 * is a discard of a page instead, which empties it: {@link TrackedArena#discard} on every backend, and
 * on those that {@linkplain Backend.Trait#SEES_DISCARDS see discards} also a plain madvise
 * (MADV_DONTNEED, or MADV_FREE then MADV_PAGEOUT, which reclaims the page at once if it is still clean).
 *
 * <pre>{@code
 * OracleResult r = NoLostWriteOracle.run(Backend.UFFD_ASYNC, OracleConfig.defaults());
 * assert r.ok() : r.losses();
 * }</pre>
 */
public final class NoLostWriteOracle {
    /** Writes between two checks of the stop flag: the writers hold the gate for this many. */
    private static final int BATCH = 64;
    private static final int MAX_DESCRIBED_LOSSES = 10;
    private static final long COLLECT_PAUSE_NANOS = 100_000;

    private final TrackedArena arena;
    private final OracleConfig config;
    private final ShadowSync sync;
    private final MemorySegment memory;
    private final long size;
    private final long pageSize;
    /** Writers enter it for each batch; the collector stops it at quiescent checks (and soft-dirty's collect stops it too). */
    private final WriterGate gate;
    private volatile boolean stopping;
    private final AtomicReference<Throwable> writerFailure = new AtomicReference<>();
    private final List<String> losses = new ArrayList<>();
    private final LongAdder writes = new LongAdder();
    private final LongAdder discards = new LongAdder();
    private long lost;
    private long collects;
    private long pagesReported;
    private long quiescentChecks;

    private NoLostWriteOracle(TrackedArena arena, WriterGate gate, OracleConfig config, ShadowSync sync) {
        this.arena = arena;
        this.gate = gate;
        this.config = config;
        this.sync = sync;
        this.memory = arena.segment();
        this.size = arena.size();
        this.pageSize = arena.pageSize();
    }

    /**
     * Opens an arena of {@code config.arenaBytes()} on {@code backend}, runs the oracle on it, closes it.
     * The writers enter a {@link WriterGate} around each batch, which is also the arena's
     * {@link io.pagemark.WriterPause} (used by the backends that collect only while writers are stopped).
     */
    public static OracleResult run(Backend backend, OracleConfig config) {
        WriterGate gate = new WriterGate();
        try (TrackedArena arena = TrackedArena.builder().size(config.arenaBytes()).backend(backend).writerPause(gate).open()) {
            return run(arena, gate, config, ShadowSync.CORRECT);
        }
    }

    /**
     * Runs the oracle on an open arena (which it arms) with a given collector order; the arena stays
     * open. The writers enter {@code gate} around each batch and the quiescent checks stop it; give
     * the arena the same gate as its writer pause, or (to show what the pause is for) one that
     * does not stop anything. Tests pass broken {@link ShadowSync}s here to prove the oracle catches them.
     */
    public static OracleResult run(TrackedArena arena, WriterGate gate, OracleConfig config, ShadowSync sync) {
        return new NoLostWriteOracle(arena, gate, config, sync).run();
    }

    private OracleResult run() {
        long start = System.nanoTime();
        List<Thread> writers = new ArrayList<>();
        try (Arena shadowArena = Arena.ofConfined()) {
            MemorySegment shadow = shadowArena.allocate(size, pageSize);
            MemorySegment.copy(memory, 0, shadow, 0, size);
            arena.arm();
            for (int w = 0; w < config.writers(); w++) {
                int id = w;
                Thread t = Thread.ofPlatform().name("oracle-writer-" + id).daemon().unstarted(() -> {
                    try {
                        write(id);
                    } catch (Throwable e) {
                        writerFailure.compareAndSet(null, e);
                        stopping = true;
                    }
                });
                writers.add(t);
                t.start();
            }
            long nextCheck = System.nanoTime() + config.quiescentEvery().toNanos();
            while (!stopping) {
                collect(shadow);
                long now = System.nanoTime();
                if (now >= nextCheck) {
                    // Straight after a collect: a write the collect missed has the least time to be hidden by a later one.
                    quiescentCheck(shadow);
                    nextCheck = now + config.quiescentEvery().toNanos();
                    if (finished(now - start)) stopping = true;
                } else {
                    // A collector that never pauses takes a whole CPU from the writers and from the
                    // synchronous backends' handler threads (2 CPUs here). A short pause still
                    // collects thousands of times a second.
                    LockSupport.parkNanos(COLLECT_PAUSE_NANOS);
                }
            }
            for (Thread t : writers) t.join();
            rethrowWriterFailure();
            quiescentCheck(shadow);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("oracle interrupted", e);
        } finally {
            stopping = true;
        }
        return new OracleResult(arena.backend(), arena.describe(), writes.sum(), discards.sum(), collects, pagesReported, quiescentChecks,
                lost, List.copyOf(losses), (System.nanoTime() - start) / 1e9);
    }

    private boolean finished(long elapsedNanos) {
        if (elapsedNanos >= config.maxDuration().toNanos()) return true;
        return elapsedNanos >= config.minDuration().toNanos() && writes.sum() >= config.minWrites();
    }

    private void write(int id) {
        SplittableRandom random = new SplittableRandom(config.seed() * 1_000_003L + id);
        long stamp = ((long) id << 48);
        boolean direct = arena.backend().isHardware();
        boolean plainDiscards = arena.backend().has(Backend.Trait.SEES_DISCARDS);
        byte[] span = new byte[64];
        while (!stopping) {
            gate.enter();
            try {
                for (int i = 0; i < BATCH; i++) {
                    stamp++;
                    int kind = random.nextInt(100);
                    if (config.discardOneIn() > 0 && random.nextLong(config.discardOneIn()) == 0) {
                        discard(random, plainDiscards);
                    } else if (kind < 45) {
                        long offset = random.nextLong(size - Long.BYTES + 1);
                        if (direct && (kind & 1) == 0) {
                            memory.set(ValueLayout.JAVA_LONG_UNALIGNED, offset, stamp);   // a plain store, not the write API
                        } else {
                            arena.putLong(offset, stamp);
                        }
                    } else if (kind < 83) {
                        arena.putByte(random.nextLong(size), (byte) (stamp | 1));
                    } else if (kind < 85) {
                        // A sequential run of pages, a long into each: the native backends' adaptive windows grow on it.
                        long pages = size / pageSize;
                        long first = random.nextLong(pages);
                        long end = Math.min(pages, first + 1 + random.nextInt(32));
                        for (long p = first; p < end; p++) arena.putLong(p * pageSize + 8 * random.nextInt((int) (pageSize / 8)), stamp);
                    } else {
                        // A write spanning a page boundary: both pages must be reported.
                        int length = 2 + random.nextInt(span.length - 1);
                        long boundary = pageSize * (1 + random.nextLong(size / pageSize - 1));
                        long offset = boundary - 1 - random.nextInt(length - 1);
                        for (int b = 0; b < length; b++) span[b] = (byte) (stamp + b);
                        arena.put(offset, span, 0, length);
                    }
                }
                writes.add(BATCH);
            } finally {
                gate.exit();
            }
        }
    }

    /** Empties one random page, by the arena's API or (where the backend sees it) a plain madvise. */
    private void discard(SplittableRandom random, boolean plain) {
        long offset = random.nextLong(size / pageSize) * pageSize;
        MemorySegment page = memory.asSlice(offset, pageSize);
        switch (plain ? random.nextInt(3) : 0) {
            case 0 -> arena.discard(offset, pageSize);
            case 1 -> Madvise.apply(page, Madvise.MADV_DONTNEED);
            default -> {
                Madvise.apply(page, Madvise.MADV_FREE);
                Madvise.apply(page, Madvise.MADV_PAGEOUT);
            }
        }
        discards.increment();
    }

    private void collect(MemorySegment shadow) {
        var dirty = sync.collectInto(arena, shadow);
        collects++;
        pagesReported += dirty.pageCount();
    }

    /** Stops the writers, collects once more, and compares the whole arena with the shadow. */
    private void quiescentCheck(MemorySegment shadow) {
        // Nested with the arena's own stop when the gate is also its writer pause: WriterGate allows that.
        gate.stopWriters();
        try {
            rethrowWriterFailure();
            collect(shadow);
            quiescentChecks++;
            long from = 0;
            while (from < size) {
                long at = MemorySegment.mismatch(memory, from, size, shadow, from, size);
                if (at < 0) break;
                long offset = from + at;
                long page = offset / pageSize;
                lost++;
                if (losses.size() < MAX_DESCRIBED_LOSSES) {
                    losses.add(String.format("page %d (arena offset 0x%x) differs first at byte %d: arena 0x%02x, shadow 0x%02x"
                                    + " -- a write or discard to it was never reported by backend %s (quiescent check %d)",
                            page, page * pageSize, offset - page * pageSize, memory.get(ValueLayout.JAVA_BYTE, offset),
                            shadow.get(ValueLayout.JAVA_BYTE, offset), arena.backend(), quiescentChecks));
                }
                // Resynchronise the page so later checks count new losses only.
                long pageStart = page * pageSize;
                MemorySegment.copy(memory, pageStart, shadow, pageStart, pageSize);
                from = pageStart + pageSize;
            }
        } finally {
            gate.resumeWriters();
        }
    }

    private void rethrowWriterFailure() {
        Throwable failure = writerFailure.get();
        if (failure != null) throw new IllegalStateException("an oracle writer failed: " + failure, failure);
    }
}
