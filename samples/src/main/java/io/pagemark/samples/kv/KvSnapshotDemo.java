package io.pagemark.samples.kv;

import io.pagemark.Backend;
import io.pagemark.Capabilities;
import io.pagemark.TrackedArena;
import io.pagemark.checkpoint.Checkpointer;
import io.pagemark.samples.cli.CommandLines;
import io.pagemark.snapshot.LiveSnapshot;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;

/**
 * Live snapshots of the off-heap key-value store under a write-heavy load: the writer never stops;
 * each snapshot is the store exactly as it was when the snapshot started, checked key by key
 * against a replay of the puts it had applied by then; and the numbers against a stop-the-world copy.
 *
 * <pre>
 * KvSnapshotDemo [--snapshots N] [--keys K] [--seed X] [--backend NAME] [--dir DIR]
 *     N snapshots (default 3) of a store of K keys (default 200000), in memory, or written as a base
 *     checkpoint into DIR and restored from there; backend: the first of uffd-sigbus, uffd-sync,
 *     mprotect usable here, unless named
 * </pre>
 *
 * The writer starts each snapshot itself between two puts (so no put is half done at its start) and
 * goes on putting at once; the background thread saves the store meanwhile. The workload is
 * {@link KvCheckpointDemo}'s (deterministic; the store counts its puts in its own header), so the
 * snapshot's own put count says which replay it must equal.
 */
public final class KvSnapshotDemo {
    private static final long CAPACITY = 1L << 20; // 64 MiB of slots
    /**
     * The backends that can copy before write, in the table's order, except that uffd-sigbus goes
     * first: its writers resolve their own faults (no handler thread to wake) without taking the
     * mmap lock for writing (mprotect's faults do).
     */
    private static final List<Backend> PREFERENCE = Backend.with(Backend.Trait.COPY_BEFORE_WRITE).stream()
            .sorted(Comparator.comparing(b -> !b.has(Backend.Trait.SIGNAL_HANDLER) || !b.has(Backend.Trait.USERFAULTFD)))
            .toList();

    private KvSnapshotDemo() {}

    public static void main(String[] args) throws Exception {
        CommandLines.exit(args, Options::new, options -> run(options) ? 0 : 1);
    }

    /** The command line; a bad value is one line naming it and what is accepted. */
    @Command(name = "pagemark snapshot", separator = " ", sortOptions = false, sortSynopsis = false,
            description = "Live snapshots of the off-heap key-value store under a write-heavy load, each checked key by key.")
    static final class Options implements CommandLines.Checked {
        @Option(names = "--snapshots", paramLabel = "N", description = "snapshots to take (default 3)")
        int snapshots = 3;
        @Option(names = "--keys", paramLabel = "K", description = "keys in the store (default 200000)")
        int keys = 200_000;
        @Option(names = "--seed", paramLabel = "X", description = "the workload's seed (default 1)")
        long seed = 1;
        @Option(names = "--backend", paramLabel = "NAME", converter = CommandLines.BackendName.class,
                description = "a backend that copies before write (default: the first usable of uffd-sigbus, uffd-sync, mprotect)")
        Backend backend;
        @Option(names = "--dir", paramLabel = "DIR", description = "write each snapshot as a base checkpoint here and restore it from there")
        Path dir;
        @Option(names = {"-h", "--help"}, usageHelp = true, description = "this help")
        boolean help;

        @Override
        public void check() {
            if (keys < 1 || keys > CAPACITY / 2) throw new IllegalArgumentException("--keys must be between 1 and " + CAPACITY / 2 + ", got " + keys);
            if (snapshots < 1) throw new IllegalArgumentException("--snapshots must be at least 1, got " + snapshots);
            if (backend != null && !backend.canCopyBeforeWrite()) {
                throw new IllegalArgumentException("--backend " + backend + " cannot take live snapshots; accepted: " + Backend.copyBeforeWriteNames());
            }
        }
    }

    static Options parse(String... args) {
        return CommandLines.parse(new Options(), List.of(args));
    }

    private static Backend chooseBackend(Options options) {
        if (options.backend != null) return options.backend;
        Capabilities capabilities = Capabilities.probe();
        return PREFERENCE.stream().filter(b -> capabilities.backends().get(b).usable()).findFirst()
                .orElseThrow(() -> new IllegalStateException("none of " + Backend.copyBeforeWriteNames() + " is usable here: "
                        + capabilities.backends().get(PREFERENCE.getFirst()).reason()));
    }

    static boolean run(Options options) throws Exception {
        KvCheckpointDemo.Workload workload = new KvCheckpointDemo.Workload(options.seed, options.keys);
        int snapshots = options.snapshots;
        Path dir = options.dir;
        Backend backend = chooseBackend(options);
        try (TrackedArena arena = TrackedArena.builder().size(OffHeapKvStore.bytesFor(CAPACITY)).backend(backend).open()) {
            OffHeapKvStore store = OffHeapKvStore.create(arena);
            long put = 0;
            for (; put < workload.keys(); put++) store.put(workload.keyOf(put), workload.valueOf(workload.keyOf(put), put));
            System.out.printf("a store of %,d keys in %d MiB on %s; snapshots %s%n", workload.keys(), arena.size() >> 20, backend,
                    dir == null ? "in memory" : "written as a base checkpoint into " + dir + " and restored from there");

            // Without a snapshot: the writer's own pace, over a second.
            long baselineStart = System.nanoTime(), baselinePuts = put;
            while (System.nanoTime() - baselineStart < 1_000_000_000L) put = putOne(store, workload, put);
            double baseline = (put - baselinePuts) / ((System.nanoTime() - baselineStart) / 1e9);
            System.out.printf("writer alone: %,.0f puts/s%n", baseline);

            boolean allVerified = true;
            for (int s = 1; s <= snapshots; s++) {
                long putsAtStart = store.puts();
                long start = System.nanoTime();
                LiveSnapshot.Stats stats;
                try (LiveSnapshot snapshot = dir == null ? LiveSnapshot.inMemory(arena) : LiveSnapshot.toCheckpoint(arena, dir)) {
                    long during = put;
                    while (!snapshot.isDone()) put = putOne(store, workload, put); // the writer never stops
                    long duringNanos = System.nanoTime() - start;
                    stats = snapshot.await();
                    System.out.printf("snapshot %d at put %,d: arming %.1f ms, saved in %.0f ms; meanwhile the writer put %,.0f puts/s"
                                    + " (%.0f%% of alone); %,d pages (%.1f MiB) copied by its faults, %,d saved in the background%n",
                            s, putsAtStart, stats.armingNanos() / 1e6, stats.savingNanos() / 1e6,
                            (put - during) / (duringNanos / 1e9), 100 * (put - during) / (duringNanos / 1e9) / baseline,
                            stats.pagesCopiedByWriters(), stats.pagesCopiedByWriters() * arena.pageSize() / 1048576.0,
                            stats.pagesSavedInBackground());
                    allVerified &= dir == null ? verifyImage(snapshot.image(), putsAtStart, workload) : verifyCheckpoint(dir, putsAtStart, workload);
                }
            }

            // The alternative: stop the writer and copy the whole store.
            try (Arena copyScope = Arena.ofConfined()) {
                MemorySegment copy = copyScope.allocate(arena.size(), arena.pageSize());
                copy.fill((byte) 0); // mapped before the pause, as a fair copy target
                long start = System.nanoTime();
                MemorySegment.copy(arena.segment(), 0, copy, 0, arena.size());
                System.out.printf("stop-the-world copy of the same store: the writer stopped %.1f ms, %d MiB extra memory%n",
                        (System.nanoTime() - start) / 1e6, arena.size() >> 20);
            }
            return allVerified;
        }
    }

    private static long putOne(OffHeapKvStore store, KvCheckpointDemo.Workload workload, long put) {
        long key = workload.keyOf(put);
        store.put(key, workload.valueOf(key, put));
        return put + 1;
    }

    /** The image as a store of its own (copied into a fresh arena), checked against the replay of the puts at the start. */
    private static boolean verifyImage(MemorySegment image, long putsAtStart, KvCheckpointDemo.Workload workload) {
        try (TrackedArena copy = TrackedArena.builder().size(image.byteSize()).backend(Backend.CARD_TABLE).open()) {
            copy.put(0, image);
            return verify(OffHeapKvStore.attach(copy), putsAtStart, workload);
        }
    }

    private static boolean verifyCheckpoint(Path dir, long putsAtStart, KvCheckpointDemo.Workload workload) throws IOException {
        try (TrackedArena restored = Checkpointer.restore(dir, TrackedArena.builder().backend(Backend.CARD_TABLE))) {
            return verify(OffHeapKvStore.attach(restored), putsAtStart, workload);
        }
    }

    private static boolean verify(OffHeapKvStore snapshot, long putsAtStart, KvCheckpointDemo.Workload workload) {
        if (snapshot.puts() != putsAtStart) {
            System.out.printf("WRONG: the snapshot holds %,d puts, the store had %,d when it started%n", snapshot.puts(), putsAtStart);
            return false;
        }
        return KvCheckpointDemo.matchesReplay(snapshot, workload);
    }
}
