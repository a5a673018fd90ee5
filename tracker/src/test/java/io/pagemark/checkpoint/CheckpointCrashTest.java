package io.pagemark.checkpoint;

import io.pagemark.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Kills (SIGKILL) a child JVM that checkpoints continuously, at random moments, many times over the
 * same directory, and after every kill requires the chain to restore to exactly the state of the last
 * checkpoint published — or of the one in flight, if its manifest rename happened before the kill.
 * Each new child continues the chain it finds, so crashes also land in restore, reopening,
 * compaction and the first base of a continued chain.
 */
class CheckpointCrashTest {
    private static final int MAX_KILLS = 24;
    private static final long BUDGET_NANOS = TimeUnit.SECONDS.toNanos(35);

    @TempDir
    Path work;

    @Test
    void aKillAtAnyMomentLeavesTheLastPublishedCheckpointRestorable() throws Exception {
        Path dir = work.resolve("ckpt");
        Path log = work.resolve("child.log");
        Random random = new Random(7);
        int kills = 0, midCheckpoint = 0, midCompaction = 0, restores = 0;
        long start = System.nanoTime();
        while (kills < MAX_KILLS && System.nanoTime() - start < BUDGET_NANOS) {
            Process child = startChild(dir, log, random.nextLong());
            TimeUnit.MILLISECONDS.sleep(20 + random.nextInt(300));
            child.destroyForcibly();
            assertTrue(child.waitFor(30, TimeUnit.SECONDS), "the child did not die");
            kills++;

            List<String> lines = Files.readAllLines(log);
            String last = lines.isEmpty() ? "" : lines.getLast();
            if (last.startsWith("intent")) midCheckpoint++;
            if (last.equals("compacting")) midCompaction++;
            if (verifyRestore(dir, log, lines)) restores++;
        }
        System.out.printf("crash test: %d kills (%d mid-checkpoint, %d mid-compaction), %d restores verified, %.1f s%n",
                kills, midCheckpoint, midCompaction, restores, (System.nanoTime() - start) / 1e9);
        assertTrue(kills >= 8, "only " + kills + " kills in the time budget");
        assertTrue(midCheckpoint >= 3, "only " + midCheckpoint + " of " + kills + " kills landed in a checkpoint");
        // A kill before the first publish leaves nothing to restore (verifyRestore checks that nothing was
        // published then); on a loaded machine the first few children may not get that far.
        assertTrue(restores >= kills / 2, "only " + restores + " of " + kills + " kills left a chain to restore");
    }

    private static Process startChild(Path dir, Path log, long seed) throws IOException {
        List<String> command = ChildJvm.command(List.of(), List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx128m"),
                ChildJvm.classPath(), CheckpointCrashChild.class, dir.toString(), log.toString(), Long.toString(seed));
        Process child = new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.appendTo(log.resolveSibling("child.stderr").toFile()))
                .start();
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.US_ASCII));
        String ready = out.readLine();
        if (!"ready".equals(ready)) {
            child.destroyForcibly();
            fail("the child did not start (" + ready + "): " + Files.readString(log.resolveSibling("child.stderr")));
        }
        return child;
    }

    /**
     * The chain must restore to the digest logged with the last "published" line, or, when the kill
     * came after an "intent" that followed it, possibly to that intent's digest (a newer sequence).
     * A verified restore is logged as "restored": an in-flight checkpoint found published counts as
     * published from then on. Returns false when nothing was ever published.
     */
    private static boolean verifyRestore(Path dir, Path log, List<String> lines) throws IOException {
        long publishedSequence = -1;
        String publishedDigest = null, pendingDigest = null;
        for (String line : lines) {
            String[] f = line.split(" ");
            switch (f[0]) {
                case "intent" -> pendingDigest = f[1];
                case "published", "restored" -> {
                    publishedSequence = Long.parseLong(f[1]);
                    publishedDigest = f[2];
                    pendingDigest = null;
                }
                default -> { }
            }
        }
        Chain chain;
        try {
            chain = Checkpointer.chain(dir);
        } catch (NoSuchFileException nothingYet) {
            assertEquals(-1, publishedSequence, "the child published " + publishedSequence + " but the directory has no manifest");
            return false;
        }
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment restored = scratch.allocate(chain.arenaSize());
            chain = Checkpointer.restore(dir, restored);
            String digest = CheckpointCrashChild.digest(restored);
            if (chain.sequence() == publishedSequence) {
                assertEquals(publishedDigest, digest, "restored checkpoint " + chain.sequence() + " differs from the arena it was taken of");
            } else {
                assertNotNull(pendingDigest, "restored checkpoint " + chain.sequence() + ", but the last published was " + publishedSequence);
                assertTrue(chain.sequence() > publishedSequence, "restored " + chain.sequence() + ", older than the published " + publishedSequence);
                assertEquals(pendingDigest, digest, "restored checkpoint " + chain.sequence() + " (published just before the kill) is wrong");
            }
            Files.writeString(log, "restored " + chain.sequence() + " " + digest + "\n", StandardOpenOption.APPEND);
        }
        return true;
    }
}
