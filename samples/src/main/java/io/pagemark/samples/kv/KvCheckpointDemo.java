package io.pagemark.samples.kv;

import io.pagemark.Backend;
import io.pagemark.TrackedArena;
import io.pagemark.checkpoint.Chain;
import io.pagemark.checkpoint.Checkpoint;
import io.pagemark.checkpoint.Checkpointer;
import io.pagemark.samples.cli.CommandLines;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A write-heavy off-heap key-value store that checkpoints itself every few milliseconds, is killed
 * with SIGKILL, and comes back: the chain is restored and every key is checked.
 *
 * <pre>
 * KvCheckpointDemo [--seconds S] [--interval-ms N] [--keys K] [--seed X] [--backend NAME] [--dir DIR]
 *     the whole story: starts a writer process ("run"), kills it S seconds after its first
 *     checkpoint, restores the chain, verifies every key ("verify")
 * KvCheckpointDemo run --dir DIR [--interval-ms N] [--keys K] [--seed X] [--backend NAME]
 *     the writer: puts forever, checkpointing every N ms (continues the store found in DIR)
 * KvCheckpointDemo verify --dir DIR [--keys K] [--seed X] [--backend NAME]
 *     restores DIR and checks every key against a replay of the puts the store says it applied
 * </pre>
 *
 * The workload is deterministic (put number i writes key {@code keyOf(i)} with value
 * {@code valueOf(key, i)}), and the store counts the puts it applied in its own header, inside the
 * arena: after a restore, replaying that many puts gives exactly the contents every key must have.
 * The writer checkpoints between two puts (a quiet point), so each checkpoint is a consistent state.
 */
public final class KvCheckpointDemo {
    private static final long CAPACITY = 1L << 20;            // 64 MiB of slots
    private static final int COMPACT_EVERY = 16;

    private KvCheckpointDemo() {}

    public static void main(String[] args) throws Exception {
        CommandLines.exit(args, Options::new, options -> switch (options.mode) {
            case "run" -> {
                run(options.requireDir(), options);
                yield 0;
            }
            case "verify" -> verify(options.requireDir(), options) ? 0 : 1;
            default -> demo(options);
        });
    }

    /**
     * The deterministic workload: which key put number i writes, and the value. The first {@code keys}
     * puts load every key once; after that, puts go to a hot set (the first 0.5% of the keys), and one
     * in 1024 to any key, the skew of a cache or a session store. Keys are hashed over the whole
     * store, so the hot set alone dirties a few percent of its pages between two checkpoints.
     */
    record Workload(long seed, int keys, boolean uniform) {
        Workload(long seed, int keys) {
            this(seed, keys, false);
        }

        /** After the first {@code keys} puts, every key alike: each put most likely dirties a page of its own (the migration sample's rate). */
        static Workload uniform(long seed, int keys) {
            return new Workload(seed, keys, true);
        }

        long keyOf(long put) {
            if (put < keys) return put + 1;
            long r = mix(seed ^ (put * 0x9E3779B97F4A7C15L));
            if (uniform) return 1 + Math.floorMod(r, (long) keys);
            int range = (r & 1023) == 0 ? keys : Math.max(1, keys / 200);
            return 1 + Math.floorMod(r >>> 10, range);
        }

        byte[] valueOf(long key, long put) {
            byte[] value = new byte[8 + (int) Math.floorMod(mix(key ^ put), OffHeapKvStore.MAX_VALUE_BYTES - 7)];
            for (int i = 0; i < value.length; i += 8) {
                long bits = mix(key * 31 + put + i);
                for (int b = 0; b < 8 && i + b < value.length; b++) value[i + b] = (byte) (bits >>> (8 * b));
            }
            return value;
        }

        private static long mix(long x) {
            x = (x ^ (x >>> 30)) * 0xbf58476d1ce4e5b9L;
            x = (x ^ (x >>> 27)) * 0x94d049bb133111ebL;
            return x ^ (x >>> 31);
        }
    }

    // ---- the writer ----

    static void run(Path dir, Options options) throws IOException {
        boolean resume = Files.exists(dir) && hasChain(dir);
        Workload workload = options.workload();
        try (TrackedArena arena = resume
                ? Checkpointer.restore(dir, TrackedArena.builder().backend(options.backend))
                : TrackedArena.builder().size(OffHeapKvStore.bytesFor(CAPACITY)).backend(options.backend).open();
             Checkpointer checkpointer = Checkpointer.open(arena, dir)) {
            OffHeapKvStore store = resume ? OffHeapKvStore.attach(arena) : OffHeapKvStore.create(arena);
            System.out.printf("writer: %s store on %s, %d keys, checkpoint every %d ms into %s%n",
                    resume ? "resuming the" : "a new", arena.backend(), workload.keys(), options.intervalMillis, dir);
            long intervalNanos = TimeUnit.MILLISECONDS.toNanos(options.intervalMillis);
            long nextCheckpoint = System.nanoTime() + intervalNanos;
            long lastPuts = store.puts(), lastTime = System.nanoTime();
            for (long put = store.puts(); ; put++) {
                long key = workload.keyOf(put);
                store.put(key, workload.valueOf(key, put));
                if ((put & 1023) == 0 && System.nanoTime() >= nextCheckpoint) {
                    // A quiet point: no put is half done, so the checkpoint is a consistent state of the store.
                    long start = System.nanoTime();
                    Checkpoint c = checkpointer.checkpoint();
                    long took = System.nanoTime() - start;
                    if (c.sequence() % COMPACT_EVERY == 0) checkpointer.compact();
                    long now = System.nanoTime();
                    System.out.printf("writer: checkpoint %d (%s, %d pages, %.1f MiB) in %.1f ms; %,d puts, %,.0f puts/s%n",
                            c.sequence(), c.kind().name().toLowerCase(), c.pages(), c.bytes() / 1048576.0, took / 1e6,
                            store.puts(), (store.puts() - lastPuts) / ((now - lastTime) / 1e9));
                    lastPuts = store.puts();
                    lastTime = now;
                    nextCheckpoint = now + intervalNanos;
                }
            }
        }
    }

    private static boolean hasChain(Path dir) throws IOException {
        try {
            Checkpointer.chain(dir);
            return true;
        } catch (java.nio.file.NoSuchFileException none) {
            return false;
        }
    }

    // ---- restore and verify ----

    static boolean verify(Path dir, Options options) throws IOException {
        Chain chain = Checkpointer.chain(dir);
        long deltas = chain.files().stream().filter(c -> c.kind() == Checkpoint.Kind.DELTA).count();
        System.out.printf("restoring %s: a base and %d deltas up to checkpoint %d (%.1f MiB on disk)%n",
                dir, deltas, chain.sequence(), chain.bytes() / 1048576.0);
        long start = System.nanoTime();
        try (TrackedArena arena = Checkpointer.restore(dir, TrackedArena.builder().backend(options.backend))) {
            long restoreNanos = System.nanoTime() - start;
            OffHeapKvStore store = OffHeapKvStore.attach(arena);
            System.out.printf("restored in %.0f ms: %s%n", restoreNanos / 1e6, store);
            return matchesReplay(store, options.workload());
        }
    }

    /**
     * True if every key of {@code store} holds exactly what a replay of the first {@code store.puts()}
     * puts of {@code workload} wrote, and no other key is set; prints the first difference otherwise.
     */
    static boolean matchesReplay(OffHeapKvStore store, Workload workload) {
        long[] lastPut = new long[workload.keys() + 1];
        Arrays.fill(lastPut, -1);
        for (long put = 0; put < store.puts(); put++) lastPut[(int) workload.keyOf(put)] = put;
        long keys = 0;
        for (int key = 1; key <= workload.keys(); key++) {
            byte[] stored = store.get(key);
            byte[] expected = lastPut[key] < 0 ? null : workload.valueOf(key, lastPut[key]);
            if (!Arrays.equals(stored, expected)) {
                System.out.printf("WRONG: key %d holds %s, put %d wrote %s%n", key,
                        stored == null ? "nothing" : stored.length + " other bytes", lastPut[key],
                        expected == null ? "nothing (never put)" : expected.length + " bytes");
                return false;
            }
            if (expected != null) keys++;
        }
        if (keys != store.size()) {
            System.out.printf("WRONG: the store counts %d keys, the replay put %d%n", store.size(), keys);
            return false;
        }
        System.out.printf("verified every key: %,d keys hold exactly what the first %,d puts wrote, and no other key is set%n",
                keys, store.puts());
        return true;
    }

    // ---- the whole story ----

    static int demo(Options options) throws Exception {
        Path dir = options.dir != null ? options.dir : Files.createTempDirectory("pagemark-kv-");
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), KvCheckpointDemo.class.getName(), "run",
                "--dir", dir.toString(), "--interval-ms", String.valueOf(options.intervalMillis), "--keys", String.valueOf(options.keys),
                "--seed", String.valueOf(options.seed), "--backend", options.backend.id()));
        Process writer = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        long killAt = Long.MAX_VALUE;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(writer.getInputStream(), StandardCharsets.UTF_8))) {
            // Echo the writer until it dies; S seconds after its first checkpoint, kill it wherever it is.
            String line;
            while ((line = out.readLine()) != null) {
                System.out.println(line);
                if (killAt == Long.MAX_VALUE && line.contains("checkpoint")) {
                    killAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos((long) (options.seconds * 1000));
                    long delay = killAt - System.nanoTime();
                    Thread.ofPlatform().daemon().start(() -> {
                        try {
                            TimeUnit.NANOSECONDS.sleep(delay);
                            System.out.println("demo: killing the writer (SIGKILL) " + options.seconds + " s after its first checkpoint");
                            // The handle only sends SIGKILL: Process.destroyForcibly also closes the
                            // stream this loop reads, which then fails with "Stream closed" instead of ending.
                            writer.toHandle().destroyForcibly();
                        } catch (InterruptedException ignored) {
                            Thread.currentThread().interrupt();
                        }
                    });
                }
            }
        }
        int status = writer.waitFor();
        if (killAt == Long.MAX_VALUE) {
            System.out.println("demo: the writer exited (status " + status + ") before its first checkpoint");
            return 1;
        }
        boolean ok = verify(dir, options);
        if (ok && options.dir == null) deleteTree(dir);
        else if (!ok) System.out.println("demo: the checkpoint directory is kept for inspection: " + dir);
        return ok ? 0 : 1;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    /** Command-line options; a bad one is a one-line error naming it and what is accepted. */
    @Command(name = "pagemark checkpoint", separator = " ", sortOptions = false, sortSynopsis = false,
            description = "The checkpointed key-value store: a writer process checkpoints every N ms and is killed (SIGKILL);"
                    + " the chain is restored and checked key by key. MODE: none (the whole demo), run (the writer), verify.")
    static final class Options implements CommandLines.Checked {
        @Parameters(arity = "0..1", paramLabel = "MODE", description = "run, verify, or none: the whole demo")
        String mode = "demo";
        @Option(names = "--seconds", paramLabel = "S", description = "kill the writer S seconds after its first checkpoint (default 3)")
        double seconds = 3;
        @Option(names = "--interval-ms", paramLabel = "N", description = "checkpoint every N ms (default 250)")
        long intervalMillis = 250;
        @Option(names = "--keys", paramLabel = "K", description = "keys in the store (default 200000)")
        int keys = 200_000;
        @Option(names = "--seed", paramLabel = "X", description = "the workload's seed (default 1)")
        long seed = 1;
        @Option(names = "--backend", paramLabel = "NAME", converter = CommandLines.BackendName.class, description = "the backend (default auto)")
        Backend backend = Backend.AUTO;
        @Option(names = "--dir", paramLabel = "DIR", description = "the checkpoint directory (run and verify need one)")
        Path dir;
        @Option(names = {"-h", "--help"}, usageHelp = true, description = "this help")
        boolean help;

        static Options parse(List<String> args) {
            return CommandLines.parse(new Options(), args);
        }

        @Override
        public void check() {
            if (!List.of("demo", "run", "verify").contains(mode)) {
                throw new IllegalArgumentException("unknown mode '" + mode + "'; accepted: run, verify, or none (the whole demo)");
            }
            if (!(seconds > 0)) throw new IllegalArgumentException("--seconds must be positive, got " + seconds);
            if (intervalMillis <= 0) throw new IllegalArgumentException("--interval-ms must be positive, got " + intervalMillis);
            if (keys < 1 || keys > CAPACITY / 2) throw new IllegalArgumentException("--keys must be between 1 and " + CAPACITY / 2 + ", got " + keys);
        }

        Path requireDir() {
            if (dir == null) throw new IllegalArgumentException(mode + " needs --dir DIR");
            return dir;
        }

        Workload workload() {
            return new Workload(seed, keys);
        }
    }
}
