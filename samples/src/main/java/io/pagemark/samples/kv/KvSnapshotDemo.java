package io.pagemark.samples.kv;

import io.pagemark.Backend;
import io.pagemark.Capabilities;
import io.pagemark.TrackedArena;
import io.pagemark.checkpoint.Checkpointer;
import io.pagemark.snapshot.LiveSnapshot;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

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
        Map<String, String> options;
        try {
            options = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("KvSnapshotDemo: " + e.getMessage());
            System.exit(2);
            return;
        }
        System.exit(run(options) ? 0 : 1);
    }

    static Map<String, String> parse(String... args) {
        List<String> accepted = List.of("--snapshots", "--keys", "--seed", "--backend", "--dir");
        Map<String, String> values = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!accepted.contains(args[i])) {
                throw new IllegalArgumentException("unknown option '" + args[i] + "'; options: --snapshots N, --keys K (1.."
                        + CAPACITY / 2 + "), --seed X, --backend NAME (" + Backend.copyBeforeWriteNames() + "), --dir DIR");
            }
            if (i + 1 >= args.length) throw new IllegalArgumentException(args[i] + " needs a value");
            values.put(args[i], args[++i]);
        }
        int keys = intOption(values, "--keys", 200_000);
        if (keys < 1 || keys > CAPACITY / 2) throw new IllegalArgumentException("--keys must be between 1 and " + CAPACITY / 2 + ", got " + keys);
        if (intOption(values, "--snapshots", 3) < 1) throw new IllegalArgumentException("--snapshots must be at least 1");
        if (values.containsKey("--backend") && !Backend.parse(values.get("--backend")).canCopyBeforeWrite()) {
            throw new IllegalArgumentException("--backend " + values.get("--backend") + " cannot take live snapshots; accepted: "
                    + Backend.copyBeforeWriteNames());
        }
        return values;
    }

    private static int intOption(Map<String, String> values, String name, int otherwise) {
        try {
            return values.containsKey(name) ? Integer.parseInt(values.get(name)) : otherwise;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + ": not a number: " + values.get(name));
        }
    }

    private static Backend chooseBackend(Map<String, String> options) {
        if (options.containsKey("--backend")) return Backend.parse(options.get("--backend"));
        Capabilities capabilities = Capabilities.probe();
        return PREFERENCE.stream().filter(b -> capabilities.backends().get(b).usable()).findFirst()
                .orElseThrow(() -> new IllegalStateException("none of " + Backend.copyBeforeWriteNames() + " is usable here: "
                        + capabilities.backends().get(PREFERENCE.getFirst()).reason()));
    }

    static boolean run(Map<String, String> options) throws Exception {
        KvCheckpointDemo.Workload workload = new KvCheckpointDemo.Workload(
                Long.parseLong(options.getOrDefault("--seed", "1")), intOption(options, "--keys", 200_000));
        int snapshots = intOption(options, "--snapshots", 3);
        Path dir = options.containsKey("--dir") ? Path.of(options.get("--dir")) : null;
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
