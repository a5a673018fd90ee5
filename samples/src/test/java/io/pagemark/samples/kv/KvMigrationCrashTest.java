package io.pagemark.samples.kv;

import io.pagemark.replication.AeronTransport;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * SIGKILL, for real, of either side of a live migration at a random moment (during the rounds,
 * around the switch, or after it), six times: the survivor is consistent, and never do both serve.
 * Source killed: the destination either discarded the migration and never served, or it had taken
 * over (the source had committed) and its store is right key by key. Destination killed: the source
 * either aborted and serves on (its store right key by key after more puts), or it had switched
 * (the destination had said SERVING) or is in doubt, and does not serve.
 */
class KvMigrationCrashTest {
    private static final long T0 = System.nanoTime();
    private final List<Process> processes = new ArrayList<>();

    @Test
    void eitherSideKilledAtARandomMomentLeavesTheSurvivorConsistentAndNeverTwoServing() throws Exception {
        try {
            for (int round = 1; round <= 6; round++) {
                boolean killSource = round % 2 == 1;
                KvMigrationDemo.Options options = KvMigrationDemo.Options.parse(List.of("--mib", "32", "--keys", "100000", "--write-mbps", "20",
                        "--downtime-ms", "5", "--time-limit-s", "20", "--serve-seconds", "0.3"))
                        .withPorts(KvReplicationDemo.freePort(), KvReplicationDemo.freePort());
                // Both JVMs start at once (their start-up is most of a round's time); the source waits for the destination's hello.
                Child destination = new Child("destination", options);
                Child source = new Child("source", options);
                destination.await(l -> l.startsWith("destination: listening"), 30);
                source.await(l -> l.startsWith("source: migrating live"), 60);
                int delay = ThreadLocalRandom.current().nextInt(1500);
                Thread.sleep(delay);
                String what = "round " + round + ", " + (killSource ? "source" : "destination") + " killed " + delay + " ms into the migration";
                log(what);
                if (killSource) {
                    source.kill();
                    boolean sourceCommitted = source.saw(l -> l.contains("outcome=SWITCHED") || l.startsWith("source: switched"));
                    // Discarded after its peer timeout (1 s), or serving; or nothing at all if the source died before round 0 began.
                    String fate = destination.poll(l -> l.startsWith("destination: discarded") || l.startsWith("destination: serving"), 10);
                    if (fate != null && fate.startsWith("destination: serving")) {
                        destination.await(l -> l.startsWith("RESULT migration=served"), 60);
                        assertEquals(0, destination.exitCode(60), what + ": the destination's checks: " + destination.lines);
                        assertTrue(destination.lines.stream().filter(l -> l.startsWith("check: ")).allMatch(l -> l.startsWith("check: PASSED")), what);
                    } else {
                        assertFalse(sourceCommitted, what + ": the source switched, but the destination discarded");
                        destination.send("quit");
                        destination.await(l -> l.startsWith("destination: never served"), 30);
                        assertEquals(0, destination.exitCode(30));
                    }
                } else {
                    destination.kill();
                    boolean destinationServed = destination.saw(l -> l.startsWith("destination: serving"));
                    String outcome = source.await(l -> l.startsWith("RESULT migration=pre-copy"), 60);
                    if (outcome.contains("outcome=ABORTED")) {
                        assertFalse(destinationServed, what + ": the destination served, and the source serves on");
                        source.await(l -> l.startsWith("source: aborted"), 30);
                        Thread.sleep(200);   // the source's writer goes on putting
                        source.send("verify");
                        String check = source.await(l -> l.startsWith("check: "), 60);
                        assertTrue(check.startsWith("check: PASSED"), what + ": " + check);
                        assertEquals(0, source.exitCode(30));
                    } else if (outcome.contains("outcome=SWITCHED")) {
                        assertTrue(destinationServed, what + ": the source switched, but the destination never said it served");
                        assertEquals(0, source.exitCode(30));
                    } else {
                        assertTrue(outcome.contains("outcome=IN_DOUBT"), outcome);
                        assertEquals(3, source.exitCode(30), what + ": in doubt, the source must not serve");
                    }
                }
                for (Process p : processes) p.toHandle().destroyForcibly();
                processes.clear();
                AeronTransport.removeAbandonedDirectories();
            }
        } finally {
            for (Process p : processes) {
                p.toHandle().destroyForcibly();
                p.waitFor();
            }
            AeronTransport.removeAbandonedDirectories();
        }
    }

    private static void log(String line) {
        System.out.printf("%6.2f %s%n", (System.nanoTime() - T0) / 1e9, line);
    }

    /** A child process of the demo; its output lines kept. */
    private final class Child {
        final Process process;
        final List<String> lines = java.util.Collections.synchronizedList(new ArrayList<>());
        final Thread reader;
        private int next;

        Child(String mode, KvMigrationDemo.Options options) throws IOException {
            process = KvMigrationDemo.start(mode, options, List.of());
            processes.add(process);
            reader = Thread.ofPlatform().daemon().start(() -> {
                try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = out.readLine()) != null; ) {
                        lines.add(line);
                        if (!line.startsWith("verified every key")) log(mode + "> " + line);
                    }
                } catch (IOException ended) {
                    // killed
                }
            });
        }

        /** The next line (after those already matched) that matches, within {@code seconds}. */
        String await(Predicate<String> wanted, long seconds) throws InterruptedException {
            String l = poll(wanted, seconds);
            return l != null ? l : fail("no matching line within " + seconds + " s; its lines: " + lines);
        }

        /** Like {@link #await}, but null when no line matched within {@code seconds}. */
        String poll(Predicate<String> wanted, long seconds) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (System.nanoTime() < deadline) {
                synchronized (lines) {
                    while (next < lines.size()) {
                        String l = lines.get(next++);
                        if (wanted.test(l)) return l;
                    }
                }
                if (!reader.isAlive() && next >= lines.size()) break;
                Thread.sleep(5);
            }
            return null;
        }

        /** Whether it printed such a line at all (read to the end of its output first if it has exited). */
        boolean saw(Predicate<String> wanted) throws InterruptedException {
            if (!process.isAlive()) reader.join(10_000);
            synchronized (lines) {
                return lines.stream().anyMatch(wanted);
            }
        }

        void send(String command) throws IOException {
            process.getOutputStream().write((command + "\n").getBytes(StandardCharsets.UTF_8));
            process.getOutputStream().flush();
        }

        int exitCode(long seconds) throws InterruptedException {
            if (!process.waitFor(seconds, TimeUnit.SECONDS)) fail("the " + process.info().commandLine().orElse("child") + " did not exit");
            reader.join(10_000);
            return process.exitValue();
        }

        void kill() throws InterruptedException {
            process.toHandle().destroyForcibly();   // SIGKILL
            process.waitFor();
            reader.join(10_000);
        }
    }
}
