package io.pagemark.samples.kv;

import io.pagemark.replication.AeronTransport;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * SIGKILL, for real, in separate processes: a replica process outlives four primaries, each killed
 * at a random moment while it writes and streams; after every kill the replica's state is exactly one
 * of that primary's cuts (its arena digest is the one the primary recorded for that epoch), never a
 * torn epoch. Then the replica itself is killed and restarted: it joins, catches up and converges.
 */
class KvReplicationCrashTest {
    private static final Pattern STREAM = Pattern.compile("\\(stream ([0-9a-f]+)\\)");
    private static final Pattern EPOCH = Pattern.compile("replica: epoch (\\d+) of stream ([0-9a-f]+)");

    private final List<Process> processes = new ArrayList<>();
    private static final long T0 = System.nanoTime();

    @Test
    void killedPrimariesNeverLeaveATornEpochAndAKilledReplicaConvergesAfterRestart() throws Exception {
        List<Path> logs = new ArrayList<>();
        try {
            KvReplicationDemo.Options options = KvReplicationDemo.Options.parse(List.of("--keys", "20000", "--interval-ms", "5"));
            int data = KvReplicationDemo.freePort(), control = KvReplicationDemo.freePort();
            Child replica = new Child("replica", options.withPorts(data, control, null));
            for (int round = 1; round <= 4; round++) {
                Path log = Files.createTempFile("pagemark-crash-", ".digests");
                logs.add(log);
                Child primary = new Child("primary", options.withPorts(data, control, log));
                String stream = primary.await(STREAM, 30).group(1);
                awaitEpoch(replica, stream, 3);
                Thread.sleep(ThreadLocalRandom.current().nextInt(150));
                primary.kill();
                Thread.sleep(100);
                String verdict = replica.ask("check " + log, "check: ");
                assertTrue(verdict.startsWith("check: PASSED") && verdict.contains("stream " + stream),
                        "round " + round + ", after the primary's SIGKILL: " + verdict);
            }
            replica.kill();
            Path log = Files.createTempFile("pagemark-crash-", ".digests");
            logs.add(log);
            Child primary = new Child("primary", options.withPorts(data, control, log));
            String stream = primary.await(STREAM, 30).group(1);
            Child restarted = new Child("replica", options.withPorts(data, control, null));
            awaitEpoch(restarted, stream, 3);
            String verdict = restarted.ask("check " + log, "check: ");
            assertTrue(verdict.startsWith("check: PASSED"), "the restarted replica, with the primary writing: " + verdict);
            primary.kill();
            restarted.kill();
        } finally {
            for (Process p : processes) {
                p.toHandle().destroyForcibly();
                p.waitFor();
            }
            AeronTransport.removeAbandonedDirectories();
            for (Path log : logs) Files.deleteIfExists(log);
        }
    }

    private static void awaitEpoch(Child replica, String stream, long epoch) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            Matcher m = replica.await(EPOCH, TimeUnit.NANOSECONDS.toSeconds(deadline - System.nanoTime()) + 1);
            if (m.group(2).equals(stream) && Long.parseLong(m.group(1)) >= epoch) return;
        }
    }

    /** A child process of the demo, its output lines queued. */
    private final class Child {
        final Process process;
        final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        final Writer in;
        final List<String> seen = new ArrayList<>();

        Child(String mode, KvReplicationDemo.Options options) throws IOException {
            process = KvReplicationDemo.start(mode, options);
            processes.add(process);
            in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            Thread.ofPlatform().daemon().start(() -> {
                try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = out.readLine()) != null) {
                        lines.add(line);
                        if (!line.startsWith("primary: epoch")) System.out.printf("%6.2f %s%n", (System.nanoTime() - T0) / 1e9, line);
                    }
                } catch (IOException ended) {
                    // killed
                }
            });
        }

        Matcher await(Pattern pattern, long seconds) throws InterruptedException {
            return match(l -> pattern.matcher(l).find(), seconds).map(l -> {
                Matcher m = pattern.matcher(l);
                m.find();
                return m;
            }).orElseThrow();
        }

        java.util.Optional<String> match(Predicate<String> wanted, long seconds) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (true) {
                String line = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (line == null) fail("no matching line within " + seconds + " s; the last lines: " + seen.subList(Math.max(0, seen.size() - 10), seen.size()));
                seen.add(line);
                if (wanted.test(line)) return java.util.Optional.of(line);
            }
        }

        String ask(String command, String answerPrefix) throws IOException, InterruptedException {
            in.write(command + "\n");
            in.flush();
            return match(l -> l.startsWith(answerPrefix), 30).orElseThrow();
        }

        void kill() throws InterruptedException {
            process.toHandle().destroyForcibly();   // SIGKILL
            process.waitFor();
        }
    }
}
