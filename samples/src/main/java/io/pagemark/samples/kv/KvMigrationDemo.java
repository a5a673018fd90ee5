package io.pagemark.samples.kv;

import io.pagemark.Backend;
import io.pagemark.TrackedArena;
import io.pagemark.WriterGate;
import io.pagemark.replication.AeronTransport;
import io.pagemark.replication.ArenaDigest;
import io.pagemark.replication.Migration;
import io.pagemark.replication.MigrationDestination;
import io.pagemark.samples.cli.CommandLines;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The off-heap key-value store migrated live from one process to another over Aeron (UDP on
 * loopback) while its writer runs: pre-copy rounds until the final round fits the downtime limit,
 * the switch, the destination checked key by key and serving; the same arena moved by a
 * stop-and-copy (a rehearsal: everything but the switch) for comparison.
 *
 * <pre>
 * KvMigrationDemo [--mib M] [--write-mbps R] [--downtime-ms D] [--time-limit-s T] [--keys K] [--seed X] [--backend NAME] [--no-auto-converge]
 *     the whole story: a destination process and a source process; a table at the end
 * KvMigrationDemo source --data-port P --control-port Q [--stop-and-copy-first] [options]
 *     the store and its writer (R MB/s of puts to random keys); migrates; on an abort it serves on and
 *     reads "verify" on stdin (stop the writer, check every key, exit)
 * KvMigrationDemo destination --data-port P --control-port Q [--serve-seconds S] [options]
 *     takes over, checks every key, serves (puts) for S seconds, checks again; "quit" on stdin ends it
 * </pre>
 *
 * Each line a child prints that starts with {@code RESULT} is a result the parent reads (key=value pairs).
 */
public final class KvMigrationDemo {
    private static final int BATCH = 16;
    private static final int STREAM = 1201;

    private KvMigrationDemo() {}

    public static void main(String[] args) throws Exception {
        CommandLines.exit(args, Options::new, options -> switch (options.mode) {
            case "source" -> source(options, System.in, System.out);
            case "destination" -> destination(options, System.in, System.out);
            default -> demo(options);
        });
    }

    // ---- the source ----

    /** The store's writer: puts at R MB/s (one page a put), BATCH puts per gate entry, until stopped. */
    static final class Writer {
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong puts = new AtomicLong();
        final CompletableFuture<Void> done;

        Writer(OffHeapKvStore store, WriterGate gate, KvCheckpointDemo.Workload workload, double mbps) {
            long nanosPerBatch = (long) (BATCH * 4096 / (mbps * 1e6) * 1e9);
            done = CompletableFuture.runAsync(() -> {
                long put = store.puts(), next = System.nanoTime();
                while (!stop.get()) {
                    gate.enter();
                    try {
                        for (int i = 0; i < BATCH; i++, put++) {
                            long key = workload.keyOf(put);
                            store.put(key, workload.valueOf(key, put));
                        }
                    } finally {
                        gate.exit();
                    }
                    puts.set(put);
                    next += nanosPerBatch;
                    long wait = next - System.nanoTime();
                    if (wait > 0) LockSupport.parkNanos(wait);
                    else if (wait < -TimeUnit.MILLISECONDS.toNanos(2)) next = System.nanoTime();   // time lost to a throttle is not made up in a burst
                }
            }, r -> Thread.ofPlatform().daemon().name("kv-writer").start(r));
        }

        void stopAndWait() throws Exception {
            stop.set(true);
            done.get(30, TimeUnit.SECONDS);
        }
    }

    static int source(Options o, InputStream commands, PrintStream out) throws Exception {
        KvCheckpointDemo.Workload workload = KvCheckpointDemo.Workload.uniform(o.seed, o.keys);
        WriterGate gate = new WriterGate();
        long capacity = OffHeapKvStore.slotsIn((long) o.mib << 20);
        try (TrackedArena arena = TrackedArena.builder().size(OffHeapKvStore.bytesFor(capacity)).backend(o.backend).writerPause(gate).open();
             AeronTransport transport = AeronTransport.embedded()) {
            OffHeapKvStore store = OffHeapKvStore.create(arena);
            for (long put = 0; put < workload.keys(); put++) store.put(workload.keyOf(put), workload.valueOf(workload.keyOf(put), put));
            out.printf("source: a %d MiB store on %s, %,d keys, the writer putting %.0f MB/s of pages to random keys%n",
                    arena.size() >> 20, arena.backend(), workload.keys(), o.writeMbps);
            Writer writer = new Writer(store, gate, workload, o.writeMbps);
            Thread.sleep(200);
            Migration.Builder migration = Migration.builder().arena(arena).writerGate(gate).transport(transport)
                    .channel(KvReplicationDemo.udp(o.dataPort)).controlChannel(KvReplicationDemo.udp(o.controlPort)).streamId(STREAM)
                    .downtimeLimit(Duration.ofMillis(o.downtimeMillis)).timeLimit(Duration.ofSeconds(o.timeLimitSeconds))
                    .autoConverge(!o.noAutoConverge);
            if (o.stopAndCopyFirst) {
                out.println("source: a stop-and-copy of the same arena first (a rehearsal: the destination discards it, the writer resumes)");
                Migration.Result r = migration.stopAndCopy(true).rehearsal(true).migrate();
                out.println(resultLine("stop-and-copy", r, arena.pageSize()));
                migration.stopAndCopy(false).rehearsal(false);
                Thread.sleep(200);
            }
            out.printf("source: migrating live (downtime limit %d ms, time limit %d s)%n", o.downtimeMillis, o.timeLimitSeconds);
            Migration.Result r = migration.onRound(round -> out.printf(
                    "source: round %d: %,d pages (%.1f MB) in %.1f ms, dirty rate %.1f MB/s, bandwidth %.1f MB/s, %,d pages left,"
                            + " estimated downtime %.1f ms%s%n", round.round(), round.pages(), round.megabytes(arena.pageSize()), round.millis(),
                    round.dirtyMBps(), round.bandwidthMBps(), round.leftPages(), round.estimatedDowntimeMillis(),
                    round.throttle() > 0 ? String.format(", writers throttled %.0f%%", round.throttle() * 100) : "")).migrate();
            out.println(resultLine("pre-copy", r, arena.pageSize()));
            if (r.outcome() == Migration.Outcome.SWITCHED) {
                out.printf("source: switched after %,d puts; the destination serves, this side stops%n", writer.puts.get());
                out.flush();
                Runtime.getRuntime().halt(0);   // the writer is parked in the closed gate for good: this side never serves again
            }
            if (r.outcome() == Migration.Outcome.IN_DOUBT) {
                out.println("source: in doubt (" + r.reason() + "): the destination may serve, so this side does not");
                out.flush();
                Runtime.getRuntime().halt(3);
            }
            out.println("source: aborted: " + r.reason() + "; serving on");
            BufferedReader in = new BufferedReader(new InputStreamReader(commands, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                if (line.trim().equals("verify")) break;
            }
            writer.stopAndWait();
            boolean ok = KvCheckpointDemo.matchesReplay(store, workload);
            out.println("check: " + (ok ? "PASSED" : "FAILED") + ": the source, serving on after the abort, after " + store.puts() + " puts");
            return ok ? 0 : 1;
        }
    }

    static String resultLine(String what, Migration.Result r, long pageSize) {
        return String.format("RESULT migration=%s outcome=%s rounds=%d finalPages=%d mbSent=%.1f estimatedMs=%.2f measuredMs=%.2f totalMs=%.0f"
                        + " rttMs=%.3f maxThrottle=%.2f estimatedParts=%s measuredParts=%s retransmits=%d reason=%s", what, r.outcome(), r.roundCount(),
                r.finalPages(), r.bytesSent() / 1e6, r.estimatedDowntimeMillis(), r.measuredDowntimeMillis(), r.totalMillis(), r.rttMillis(),
                r.maxThrottle(), r.estimated().partsText(), r.measured().partsText(), r.finalLosses().retransmitsSent(), r.reason());
    }

    // ---- the destination ----

    static int destination(Options o, InputStream commands, PrintStream out) throws Exception {
        AtomicBoolean quit = new AtomicBoolean();
        Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(commands, StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) if (line.trim().equals("quit")) break;
            } catch (IOException ignored) {
                // stdin gone: quit too
            }
            quit.set(true);
        });
        try (AeronTransport transport = AeronTransport.embedded();
             MigrationDestination destination = MigrationDestination.builder().transport(transport)
                     .channel(KvReplicationDemo.udp(o.dataPort)).controlChannel(KvReplicationDemo.udp(o.controlPort))
                     .streamId(STREAM).backend(o.backend).start()) {
            out.printf("destination: listening on 127.0.0.1:%d (stream %d)%n", o.dataPort, STREAM);
            long discards = 0;
            Optional<MigrationDestination.Takeover> takeover = Optional.empty();
            while (takeover.isEmpty() && !quit.get()) {
                takeover = destination.awaitTakeover(Duration.ofMillis(50));
                if (destination.stats().discarded() != discards) {
                    discards = destination.stats().discarded();
                    out.println("destination: discarded: " + destination.lastDiscard().orElse("?"));
                }
            }
            if (takeover.isEmpty()) {
                out.printf("destination: never served (%d migrations discarded)%n", discards);
                return 0;
            }
            MigrationDestination.Takeover t = takeover.get();
            try (TrackedArena arena = t.arena()) {
                out.printf("destination: serving after %d rounds (migration %x), the arena armed on %s%n", t.rounds(), t.sourceIdentity(), arena.backend());
                KvCheckpointDemo.Workload workload = KvCheckpointDemo.Workload.uniform(o.seed, o.keys);
                boolean digest = ArenaDigest.of(arena.segment(), arena.pageSize()) == t.stateDigest();
                OffHeapKvStore store = OffHeapKvStore.attach(arena);
                boolean keys = KvCheckpointDemo.matchesReplay(store, workload);
                out.println("check: " + (digest && keys ? "PASSED" : "FAILED") + ": the destination as taken over: arena digest "
                        + (digest ? "equals" : "DIFFERS FROM") + " the source's, every key " + (keys ? "right" : "NOT right") + " after " + store.puts() + " puts");
                WriterGate gate = new WriterGate();
                Writer writer = new Writer(store, gate, workload, o.writeMbps);
                Thread.sleep((long) (o.serveSeconds * 1000));
                writer.stopAndWait();
                boolean served = KvCheckpointDemo.matchesReplay(store, workload);
                out.println("check: " + (served ? "PASSED" : "FAILED") + ": the destination after serving " + o.serveSeconds + " s, " + store.puts() + " puts");
                out.printf("RESULT migration=served puts=%d pagesDirtied=%d%n", store.puts(), arena.collect().pageCount());
                return digest && keys && served ? 0 : 1;
            }
        }
    }

    // ---- the whole story ----

    static int demo(Options o) throws Exception {
        int dataPort = KvReplicationDemo.freePort(), controlPort = KvReplicationDemo.freePort();
        Options children = o.withPorts(dataPort, controlPort);
        Process destination = start("destination", children, List.of());
        Process source = start("source", children, List.of("--stop-and-copy-first"));
        Map<String, Map<String, String>> results = new ConcurrentHashMap<>();
        List<String> checks = java.util.Collections.synchronizedList(new ArrayList<>());
        Thread d = echo(destination.getInputStream(), results, checks);
        Thread s = echo(source.getInputStream(), results, checks);
        boolean sourceDone = source.waitFor(o.timeLimitSeconds * 3L + 120, TimeUnit.SECONDS);
        if (!sourceDone || source.exitValue() != 0) {
            // Aborted: the source serves on; have it check its store, and end the destination.
            source.getOutputStream().write("verify\n".getBytes(StandardCharsets.UTF_8));
            source.getOutputStream().flush();
            destination.getOutputStream().write("quit\n".getBytes(StandardCharsets.UTF_8));
            destination.getOutputStream().flush();
        }
        boolean exited = source.waitFor(60, TimeUnit.SECONDS) & destination.waitFor(60, TimeUnit.SECONDS);
        if (!exited) {
            source.toHandle().destroyForcibly();
            destination.toHandle().destroyForcibly();
        }
        s.join();
        d.join();
        Map<String, String> live = results.getOrDefault("pre-copy", Map.of()), stop = results.getOrDefault("stop-and-copy", Map.of());
        System.out.println();
        System.out.println("| migration | outcome | rounds | pages in the final round | MB sent | downtime estimated | downtime measured"
                + " | measured stop/collect/send/ready/commit ms | retransmits | total | max throttle |");
        System.out.println("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        row("pre-copy (live)", live, true);
        row("stop-and-copy (rehearsal)", stop, false);
        boolean switched = "SWITCHED".equals(live.get("outcome"));
        boolean checked = !checks.isEmpty() && checks.stream().allMatch(c -> c.startsWith("check: PASSED"));
        boolean ok = exited && switched && checked && results.containsKey("served") && source.exitValue() == 0 && destination.exitValue() == 0;
        System.out.println();
        System.out.println(ok ? "migrate: PASSED: the destination took over byte-exact, every key right, and served; the source stopped"
                : "migrate: FAILED (" + (switched ? "" : "no switch; ") + (checked ? "" : "a check failed; ") + "source exit "
                + (exited ? source.exitValue() : "none") + ", destination exit " + (exited ? destination.exitValue() : "none") + ")");
        AeronTransport.removeAbandonedDirectories();
        return ok ? 0 : 1;
    }

    private static void row(String name, Map<String, String> r, boolean estimated) {
        if (r.isEmpty()) {
            System.out.println("| " + name + " | (none) | | | | | | | | | |");
            return;
        }
        String outcome = r.get("outcome");
        // A rehearsal ends ABORTED by design once the destination was READY; any other abort is a failure, named.
        if (!estimated) outcome = r.getOrDefault("reason", "").startsWith("a rehearsal") ? "rehearsed (READY)" : "FAILED: " + r.get("reason");
        System.out.printf("| %s | %s | %s | %s | %s | %s | %s ms | %s | %s | %s ms | %s |%n", name, outcome, r.get("rounds"), r.get("finalPages"),
                r.get("mbSent"), estimated ? r.get("estimatedMs") + " ms" : "-", r.get("measuredMs"), r.get("measuredParts"), r.get("retransmits"), r.get("totalMs"),
                Math.round(Double.parseDouble(r.get("maxThrottle")) * 100) + "%");
    }

    static Process start(String mode, Options o, List<String> extra) throws IOException {
        List<String> command = new ArrayList<>(KvReplicationDemo.javaCommand(KvMigrationDemo.class, mode));
        command.addAll(o.arguments());
        command.addAll(extra);
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    /** Echoes a child's lines; collects its RESULT lines (by their migration=) and check lines. */
    static Thread echo(InputStream stream, Map<String, Map<String, String>> results, List<String> checks) {
        return Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    if (line.startsWith("RESULT ")) {
                        Map<String, String> fields = new HashMap<>();
                        String text = line.substring(7);
                        int reason = text.indexOf(" reason=");   // last, and it has spaces
                        if (reason >= 0) {
                            fields.put("reason", text.substring(reason + 8));
                            text = text.substring(0, reason);
                        }
                        for (String pair : text.split(" ")) {
                            int eq = pair.indexOf('=');
                            if (eq > 0) fields.put(pair.substring(0, eq), pair.substring(eq + 1));
                        }
                        results.put(fields.getOrDefault("migration", "?"), fields);
                        continue;
                    }
                    if (line.startsWith("check: ")) checks.add(line);
                    synchronized (System.out) {
                        System.out.println(line);
                    }
                }
            } catch (IOException ended) {
                // the process is gone
            }
        });
    }

    /** Command-line options (picocli, through CommandLines): a bad one is one line naming it and the usage. */
    @Command(name = "pagemark migrate", description = "The key-value store migrated live to another process over Aeron (UDP on loopback)"
            + " by iterative pre-copy while its writer runs; the same arena by stop-and-copy for comparison.")
    static final class Options implements CommandLines.Checked {
        /** The default key count where the arena has room for it (a quarter of the default 256 MiB arena's slots is 1,048,576). */
        static final int DEFAULT_KEYS = 1_000_000;
        @Parameters(arity = "0..1", paramLabel = "MODE", description = "source, destination, or none: the whole demo")
        String mode = "demo";
        @Option(names = "--mib", paramLabel = "M", description = "the store's arena in MiB, a power of two from 1 to 4096 (default 256)")
        int mib = 256;
        @Option(names = "--write-mbps", paramLabel = "R", description = "the writer's rate: MB/s of puts, a page each (default 50)")
        double writeMbps = 50;
        @Option(names = "--downtime-ms", paramLabel = "D", description = "the downtime limit in ms (default 50)")
        long downtimeMillis = 50;
        @Option(names = "--time-limit-s", paramLabel = "T", description = "abort a migration not done in T seconds (default 60)")
        int timeLimitSeconds = 60;
        @Option(names = "--no-auto-converge", description = "never throttle the writer (a migration that cannot converge then fails at the time limit)")
        boolean noAutoConverge;
        @Option(names = "--keys", paramLabel = "K", description = "keys in the store, at most a quarter of its slots (default "
                + DEFAULT_KEYS + ", or that quarter where --mib holds fewer)")
        Integer keys;
        @Option(names = "--seed", paramLabel = "X", description = "the workload's seed (default 1)")
        long seed = 1;
        @Option(names = "--backend", paramLabel = "NAME", converter = CommandLines.BackendName.class, description = "the backend (default auto)")
        Backend backend = Backend.AUTO;
        @Option(names = "--data-port", paramLabel = "P", description = "source and destination: the UDP port the pages go to")
        int dataPort = -1;
        @Option(names = "--control-port", paramLabel = "Q", description = "source and destination: the UDP port the acks and the switch come back to")
        int controlPort = -1;
        @Option(names = "--stop-and-copy-first", description = "source: a stop-and-copy rehearsal of the same arena before the live migration")
        boolean stopAndCopyFirst;
        @Option(names = "--serve-seconds", paramLabel = "S", description = "destination: serve (put) S seconds after the takeover (default 1)")
        double serveSeconds = 1;
        @Option(names = {"-h", "--help"}, usageHelp = true, description = "this help")
        boolean help;

        static Options parse(List<String> args) {
            return CommandLines.parse(new Options(), args);
        }

        @Override
        public void check() {
            if (!List.of("demo", "source", "destination").contains(mode)) {
                throw new IllegalArgumentException("unknown mode '" + mode + "'; accepted: source, destination, or none (the whole demo)");
            }
            if (mib < 1 || mib > 4096 || Integer.bitCount(mib) != 1) throw new IllegalArgumentException("--mib must be a power of two from 1 to 4096, got " + mib);
            if (!(writeMbps > 0) || writeMbps > 10_000) throw new IllegalArgumentException("--write-mbps must be above 0 and at most 10000, got " + writeMbps);
            if (downtimeMillis <= 0) throw new IllegalArgumentException("--downtime-ms must be positive, got " + downtimeMillis);
            if (timeLimitSeconds <= 0) throw new IllegalArgumentException("--time-limit-s must be positive, got " + timeLimitSeconds);
            long maxKeys = OffHeapKvStore.slotsIn((long) mib << 20) / 4;
            if (keys == null) keys = (int) Math.min(DEFAULT_KEYS, maxKeys);
            if (keys < 1 || keys > maxKeys) throw new IllegalArgumentException("--keys must be between 1 and " + maxKeys + " for --mib " + mib + ", got " + keys);
            if (!(serveSeconds > 0)) throw new IllegalArgumentException("--serve-seconds must be positive, got " + serveSeconds);
            for (int port : new int[] {dataPort, controlPort}) {
                if (port != -1 && (port < 1 || port > 65535)) throw new IllegalArgumentException("--data-port and --control-port must be UDP ports (1..65535), got " + port);
            }
            if (!mode.equals("demo") && (dataPort < 0 || controlPort < 0)) throw new IllegalArgumentException(mode + " needs --data-port P and --control-port Q");
        }

        Options withPorts(int data, int control) {
            Options o = parse(arguments());
            o.dataPort = data;
            o.controlPort = control;
            return o;
        }

        List<String> arguments() {
            List<String> a = new ArrayList<>(List.of("--mib", String.valueOf(mib), "--write-mbps", String.valueOf(writeMbps),
                    "--downtime-ms", String.valueOf(downtimeMillis), "--time-limit-s", String.valueOf(timeLimitSeconds),
                    "--keys", String.valueOf(keys), "--seed", String.valueOf(seed), "--backend", backend.id(),
                    "--serve-seconds", String.valueOf(serveSeconds)));
            if (noAutoConverge) a.add("--no-auto-converge");
            if (dataPort > 0) a.addAll(List.of("--data-port", String.valueOf(dataPort), "--control-port", String.valueOf(controlPort)));
            return a;
        }
    }
}
