package io.pagemark.samples.kv;

import io.pagemark.Backend;
import io.pagemark.TrackedArena;
import io.pagemark.WriterGate;
import io.pagemark.replication.AeronTransport;
import io.pagemark.replication.ArenaDigest;
import io.pagemark.replication.Replica;
import io.pagemark.replication.Replicator;
import io.pagemark.samples.cli.CommandLines;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Writer;
import java.lang.management.ManagementFactory;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The off-heap key-value store replicated to a hot standby over Aeron (UDP on loopback), its primary
 * killed with SIGKILL while it writes, the standby promoted and checked key by key.
 *
 * <pre>
 * KvReplicationDemo [--seconds S] [--interval-ms N] [--keys K] [--seed X] [--backend NAME]
 *     the whole story: a replica process and a primary process; S seconds after the replica applied its
 *     first epoch the primary is killed (SIGKILL), the replica is promoted and checked; a table at the end
 * KvReplicationDemo primary --data-port P --control-port Q --log FILE [options]
 *     the writer: puts forever, replicating every N ms; appends each epoch's arena digest to FILE
 * KvReplicationDemo replica --data-port P --control-port Q [options]
 *     the standby; reads commands on stdin: "check FILE" (is the state one of the primary's cuts?),
 *     "promote FILE" (take over: check the digest and every key, print the table, exit)
 * </pre>
 *
 * The workload is KvCheckpointDemo's: put i writes key {@code keyOf(i)} with {@code valueOf(key, i)},
 * and the store counts its puts in its own header. The writer enters a {@link WriterGate} around each
 * batch of puts and the replicator cuts with that gate, so every epoch is a state between two batches:
 * replaying the promoted store's put count must give exactly its contents.
 */
public final class KvReplicationDemo {
    private static final long CAPACITY = 1L << 18;            // 16 MiB of slots
    private static final int BATCH = 16;
    private static final int STREAM = 1001;

    private KvReplicationDemo() {}

    public static void main(String[] args) throws Exception {
        CommandLines.exit(args, Options::new, options -> switch (options.mode) {
            case "primary" -> {
                primary(options);
                yield 0;
            }
            case "replica" -> replica(options, System.in, System.out);
            default -> demo(options);
        });
    }

    /** A UDP channel on loopback (AeronTransport.udpChannel: one frame per page record, a socket buffer twice the receiver window). */
    static String udp(int port) {
        return AeronTransport.udpChannel("127.0.0.1:" + port);
    }

    // ---- the primary ----

    static void primary(Options options) throws IOException {
        KvCheckpointDemo.Workload workload = options.workload();
        WriterGate gate = new WriterGate();
        try (Writer log = Files.newBufferedWriter(options.log, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
             TrackedArena arena = TrackedArena.builder().size(OffHeapKvStore.bytesFor(CAPACITY)).backend(options.backend).writerPause(gate).open();
             AeronTransport transport = AeronTransport.embedded()) {
            OffHeapKvStore store = OffHeapKvStore.create(arena);
            AtomicLong epochs = new AtomicLong(), pages = new AtomicLong();
            try (Replicator replicator = Replicator.builder().arena(arena).writerPause(gate).transport(transport)
                    .channel(udp(options.dataPort)).controlChannel(udp(options.controlPort)).streamId(STREAM)
                    .epochInterval(Duration.ofMillis(options.intervalMillis))
                    .onPublished(p -> {
                        try {
                            // Before the epoch's end goes out: no replica can hold an epoch missing here.
                            log.write(Long.toHexString(p.identity()) + " " + p.epoch() + " " + Long.toHexString(p.stateDigest()) + "\n");
                            log.flush();
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                        epochs.set(p.epoch());
                        pages.addAndGet(p.pageRecords());
                    }).start()) {
                System.out.printf("primary: a %d MiB store on %s, %d keys, an epoch every %d ms to 127.0.0.1:%d (stream %x)%n",
                        arena.size() >> 20, arena.backend(), workload.keys(), options.intervalMillis, options.dataPort, replicator.identity());
                long nextReport = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500), lastPuts = 0, lastTime = System.nanoTime();
                for (long put = 0; ; ) {
                    gate.enter();
                    try {
                        for (int i = 0; i < BATCH; i++, put++) {
                            long key = workload.keyOf(put);
                            store.put(key, workload.valueOf(key, put));
                        }
                    } finally {
                        gate.exit();
                    }
                    long now = System.nanoTime();
                    if (now >= nextReport) {
                        System.out.printf("primary: epoch %d, %,d puts (%,.0f/s), %,d pages replicated, replica acked epoch %d%n",
                                epochs.get(), put, (put - lastPuts) / ((now - lastTime) / 1e9), pages.get(), replicator.ackedEpoch());
                        lastPuts = put;
                        lastTime = now;
                        nextReport = now + TimeUnit.MILLISECONDS.toNanos(500);
                    }
                }
            }
        }
    }

    // ---- the replica ----

    static int replica(Options options, InputStream commands, PrintStream out) throws Exception {
        try (AeronTransport transport = AeronTransport.embedded();
             Replica replica = Replica.builder().transport(transport).channel(udp(options.dataPort))
                     .controlChannel(udp(options.controlPort)).streamId(STREAM).backend(options.backend).start()) {
            out.printf("replica: listening on 127.0.0.1:%d (stream %d)%n", options.dataPort, STREAM);
            Thread progress = Thread.ofPlatform().daemon().start(() -> {
                long last = -2;
                while (true) {
                    try {
                        Thread.sleep(500);
                    } catch (InterruptedException e) {
                        return;
                    }
                    Replica.Lag lag = replica.lag();
                    if (replica.epoch() != last) {
                        out.printf("replica: epoch %d of stream %x, %d behind, last lag %.1f ms%n",
                                replica.epoch(), replica.streamIdentity(), lag.epochs(), lag.lastMillis());
                    }
                    last = replica.epoch();
                }
            });
            BufferedReader in = new BufferedReader(new InputStreamReader(commands, StandardCharsets.UTF_8));
            String line;
            while ((line = in.readLine()) != null) {
                String[] words = line.trim().split("\\s+", 2);
                if (words.length == 2 && words[0].equals("check")) {
                    Path log = Path.of(words[1]);
                    String verdict = replica.read((state, epoch) -> checkDigest(replica.streamIdentity(), epoch, ArenaDigest.of(state, 4096), log));
                    out.println("check: " + verdict);
                } else if (words.length == 2 && words[0].equals("promote")) {
                    progress.interrupt();
                    return promote(replica, options, Path.of(words[1]), out);
                } else {
                    out.println("replica: unknown command '" + line + "'; accepted: check FILE, promote FILE");
                }
            }
            return 0;
        }
    }

    /** "epoch E of stream X equals the primary's cut" if FILE has that epoch with the state's digest; else what differs. */
    static String checkDigest(long identity, long epoch, long digest, Path log) {
        List<String> lines;
        try {
            lines = Files.readAllLines(log);
        } catch (IOException e) {
            return "FAILED: cannot read the primary's digests " + log + ": " + e.getMessage();
        }
        String prefix = Long.toHexString(identity) + " " + epoch + " ";
        for (String l : lines) {
            if (!l.startsWith(prefix)) continue;
            String theirs = l.substring(prefix.length()).trim();
            return theirs.equals(Long.toHexString(digest))
                    ? "PASSED: epoch " + epoch + " of stream " + Long.toHexString(identity) + " equals the primary's cut (arena digest " + theirs + ")"
                    : "FAILED: epoch " + epoch + " has digest " + Long.toHexString(digest) + ", the primary's cut " + theirs;
        }
        return "FAILED: the primary recorded no epoch " + epoch + " of stream " + Long.toHexString(identity) + " (" + lines.size() + " epochs in " + log + ")";
    }

    private static int promote(Replica replica, Options options, Path log, PrintStream out) {
        Replica.Lag lag = replica.lag();
        Replica.Stats stats = replica.stats();
        double p50 = replica.lagPercentile(0.5), p99 = replica.lagPercentile(0.99);
        long identity = replica.streamIdentity();
        long start = System.nanoTime();
        try (TrackedArena arena = replica.promote()) {
            double promoteMillis = (System.nanoTime() - start) / 1e6;
            String digest = checkDigest(identity, stats.epoch(), ArenaDigest.of(arena.segment(), arena.pageSize()), log);
            OffHeapKvStore store = OffHeapKvStore.attach(arena);
            out.printf("replica: promoted in %.1f ms at epoch %d: %s, writable and tracked on %s%s%n", promoteMillis, stats.epoch(), store,
                    arena.backend(), lag.bytes() > 0 ? "; a partial epoch (" + lag.bytes() / 1024 + " KiB received) was dropped" : "");
            out.println("check: " + digest);
            boolean keys = KvCheckpointDemo.matchesReplay(store, options.workload());
            boolean ok = digest.startsWith("PASSED") && keys;
            out.println();
            out.println("| epochs applied | pages applied | MB applied | lag p50 | lag p99 | epochs rejected | partial epoch at the kill | check |");
            out.println("|---:|---:|---:|---:|---:|---:|---|---|");
            out.printf("| %d | %,d | %.1f | %.2f ms | %.2f ms | %d | %s | %s |%n", stats.epochsApplied(), stats.pagesApplied(),
                    stats.pagesApplied() * arena.pageSize() / 1e6, p50, p99, stats.rejected(),
                    lag.bytes() > 0 ? "dropped (" + lag.bytes() / 1024 + " KiB)" : "none (between epochs)",
                    ok ? "PASSED: digest and every key" : "FAILED");
            return ok ? 0 : 1;
        }
    }

    // ---- the whole story ----

    static int demo(Options options) throws Exception {
        int dataPort = freePort(), controlPort = freePort();
        Path log = Files.createTempFile("pagemark-replicate-", ".digests");
        try {
            Options children = options.withPorts(dataPort, controlPort, log);
            Process replica = start("replica", children);
            Process primary = start("primary", children);
            Writer toReplica = new OutputStreamWriter(replica.getOutputStream(), StandardCharsets.UTF_8);
            AtomicLong firstEpochAt = new AtomicLong();
            Thread primaryEcho = echo(primary.getInputStream(), l -> {});
            Thread replicaEcho = echo(replica.getInputStream(), l -> {
                if (firstEpochAt.get() == 0 && l.startsWith("replica: epoch ") && !l.startsWith("replica: epoch -1")) firstEpochAt.set(System.nanoTime());
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (firstEpochAt.get() == 0) {
                if (!primary.isAlive() || !replica.isAlive() || System.nanoTime() > deadline) {
                    System.out.println("demo: FAILED: the replica applied no epoch (primary " + (primary.isAlive() ? "running" : "exited")
                            + ", replica " + (replica.isAlive() ? "running" : "exited") + ")");
                    primary.toHandle().destroyForcibly();
                    replica.toHandle().destroyForcibly();
                    primary.waitFor();
                    replica.waitFor();
                    AeronTransport.removeAbandonedDirectories();
                    return 1;
                }
                Thread.sleep(10);
            }
            // A random point: the primary is most likely in the middle of sending an epoch.
            Thread.sleep((long) (options.seconds * 1000) + ThreadLocalRandom.current().nextInt(100));
            System.out.println("demo: killing the primary (SIGKILL) " + options.seconds + " s after the replica's first epoch");
            primary.toHandle().destroyForcibly();
            primary.waitFor();
            primaryEcho.join();
            AeronTransport.removeAbandonedDirectories();   // the killed primary's driver directory
            Thread.sleep(200);
            System.out.println("demo: promoting the replica");
            toReplica.write("promote " + log + "\n");
            toReplica.flush();
            toReplica.close();
            int status = replica.waitFor();
            replicaEcho.join();
            return status;
        } finally {
            Files.deleteIfExists(log);
        }
    }

    static Process start(String mode, Options o) throws IOException {
        List<String> command = new ArrayList<>(javaCommand(KvReplicationDemo.class, mode));
        command.addAll(o.arguments());
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    /** This JVM's java, its flags and class path, running {@code main}'s class with {@code mode}: a child process of the same build. */
    static List<String> javaCommand(Class<?> main, String mode) {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName(), mode));
        return command;
    }

    private static Thread echo(InputStream stream, java.util.function.Consumer<String> watch) {
        return Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    synchronized (System.out) {
                        System.out.println(line);
                    }
                    watch.accept(line);
                }
            } catch (IOException ended) {
                // the process is gone
            }
        });
    }

    static int freePort() throws IOException {
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Command-line options (picocli, through CommandLines): a bad one is one line naming it and the usage. */
    @Command(name = "pagemark replicate", description = "The key-value store replicated over Aeron (UDP on loopback), the primary"
            + " killed with SIGKILL, the replica promoted and checked.")
    static final class Options implements CommandLines.Checked {
        @Parameters(arity = "0..1", paramLabel = "MODE", description = "primary, replica, or none: the whole demo")
        String mode = "demo";
        @Option(names = "--seconds", paramLabel = "S", description = "kill the primary S seconds after the replica's first epoch (default 2)")
        double seconds = 2;
        @Option(names = "--interval-ms", paramLabel = "N", description = "an epoch every N ms (default 10)")
        long intervalMillis = 10;
        @Option(names = "--keys", paramLabel = "K", description = "keys in the store (default 100000)")
        int keys = 100_000;
        @Option(names = "--seed", paramLabel = "X", description = "the workload's seed (default 1)")
        long seed = 1;
        @Option(names = "--backend", paramLabel = "NAME", converter = CommandLines.BackendName.class, description = "the backend (default auto)")
        Backend backend = Backend.AUTO;
        @Option(names = "--data-port", paramLabel = "P", description = "primary and replica: the UDP port the epochs go to")
        int dataPort = -1;
        @Option(names = "--control-port", paramLabel = "Q", description = "primary and replica: the UDP port joins and acks go to")
        int controlPort = -1;
        @Option(names = "--log", paramLabel = "FILE", description = "primary: the file each epoch's arena digest is appended to")
        Path log;
        @Option(names = {"-h", "--help"}, usageHelp = true, description = "this help")
        boolean help;

        static Options parse(List<String> args) {
            return CommandLines.parse(new Options(), args);
        }

        @Override
        public void check() {
            if (!List.of("demo", "primary", "replica").contains(mode)) {
                throw new IllegalArgumentException("unknown mode '" + mode + "'; accepted: primary, replica, or none (the whole demo)");
            }
            if (!(seconds > 0)) throw new IllegalArgumentException("--seconds must be positive, got " + seconds);
            if (intervalMillis <= 0) throw new IllegalArgumentException("--interval-ms must be positive, got " + intervalMillis);
            if (keys < 1 || keys > CAPACITY / 2) throw new IllegalArgumentException("--keys must be between 1 and " + CAPACITY / 2 + ", got " + keys);
            checkPort("--data-port", dataPort);
            checkPort("--control-port", controlPort);
            if (!mode.equals("demo") && (dataPort < 0 || controlPort < 0)) {
                throw new IllegalArgumentException(mode + " needs --data-port P and --control-port Q");
            }
            if (mode.equals("primary") && log == null) throw new IllegalArgumentException("primary needs --log FILE");
        }

        private static void checkPort(String name, int port) {
            if (port != -1 && (port < 1 || port > 65535)) throw new IllegalArgumentException(name + " must be a UDP port (1..65535), got " + port);
        }

        Options withPorts(int data, int control, Path digests) {
            Options o = parse(arguments());
            o.dataPort = data;
            o.controlPort = control;
            o.log = digests;
            return o;
        }

        List<String> arguments() {
            List<String> a = new ArrayList<>(List.of("--seconds", String.valueOf(seconds), "--interval-ms", String.valueOf(intervalMillis),
                    "--keys", String.valueOf(keys), "--seed", String.valueOf(seed), "--backend", backend.id()));
            if (dataPort > 0) a.addAll(List.of("--data-port", String.valueOf(dataPort), "--control-port", String.valueOf(controlPort)));
            if (log != null) a.addAll(List.of("--log", log.toString()));
            return a;
        }

        KvCheckpointDemo.Workload workload() {
            return new KvCheckpointDemo.Workload(seed, keys);
        }
    }
}
