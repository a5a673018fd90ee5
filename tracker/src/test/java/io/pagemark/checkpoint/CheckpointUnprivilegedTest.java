package io.pagemark.checkpoint;

import io.pagemark.TrackedArena;
import io.pagemark.testing.ChildJvm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The directory cases root's privileges would hide (root writes a directory whatever its mode says),
 * run in a child JVM as nobody ({@link CheckpointUnprivilegedChild}); this JVM, as root, sets the
 * scene and plays the other user.
 */
class CheckpointUnprivilegedTest {
    @TempDir
    static Path work;
    private static String classPath;

    @BeforeAll
    static void copyClassPath() throws IOException {
        String unavailable = ChildJvm.unprivilegedUnavailable();
        assumeTrue(unavailable == null, unavailable);
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        classPath = ChildJvm.classPathReadableByAll(Files.createDirectory(work.resolve("classpath")));
    }

    /** Runs the child as nobody on {@code operations} (operation, directory, ...); returns its line per operation. */
    private static List<String> asNobody(String... operations) throws Exception {
        List<String> cmd = ChildJvm.command(ChildJvm.AS_NOBODY, List.of("-XX:-UsePerfData", "-Djava.io.tmpdir=/tmp"), classPath,
                CheckpointUnprivilegedChild.class, operations);
        ChildJvm.Outcome outcome = ChildJvm.runWatched(cmd, line -> true, 60, 120);
        outcome.lines().forEach(line -> System.out.println("as nobody: " + line));
        assertEquals(0, outcome.exitCode(), outcome.output());
        List<String> results = outcome.lines().stream().filter(l -> l.startsWith("open ") || l.startsWith("checkpoint ")
                || l.startsWith("compact ")).toList();
        assertEquals(operations.length / 2, results.size(), outcome.output());
        return results;
    }

    /** A new directory under the shared work directory, owned by nobody with {@code mode}. */
    private static Path nobodys(String name, String mode) throws IOException {
        Path dir = Files.createDirectory(work.resolve(name));
        giveToNobody(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString(mode));
        return dir;
    }

    private static void giveToNobody(Path tree) throws IOException {
        try (Stream<Path> files = Files.walk(tree)) {
            for (Path p : files.toList()) Files.setAttribute(p, "unix:uid", ChildJvm.NOBODY, LinkOption.NOFOLLOW_LINKS);
        }
    }

    @Test
    void openFailsAtOnceInADirectoryItCannotWrite() throws Exception {
        Path dir = nobodys("read-only", "rwx------");
        Files.createFile(dir.resolve("pagemark.lock"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        giveToNobody(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("r-x------"));   // the lock file is there, nothing new can be
        List<String> said = asNobody("open", dir.toString());
        assertEquals("open " + dir + ": java.io.IOException: checkpoint directory " + dir + " is not usable: cannot create a file"
                + " in it (Permission denied); checkpoints need to create, write, fsync and rename files there", said.getFirst());
    }

    @Test
    void offlineCompactionFailsBeforeReadingTheChain() throws Exception {
        Path dir = work.resolve("compact");
        try (TrackedArena arena = TrackedArena.open(16 * 4096); Checkpointer checkpointer = Checkpointer.open(arena, dir)) {
            arena.putLong(0, 1L);
            checkpointer.checkpoint();
            arena.putLong(4096, 2L);
            checkpointer.checkpoint();
        }
        // Damage the delta: a compaction that reads the chain before it finds the directory unwritable reports the damage instead.
        Path delta = Checkpointer.chain(dir).head().file();
        byte[] bytes = Files.readAllBytes(delta);
        bytes[Format.HEADER_BYTES + 20] ^= 1;
        Files.write(delta, bytes);
        giveToNobody(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("r-x------"));
        List<String> said = asNobody("compact", dir.toString());
        assertEquals("compact " + dir + ": java.io.IOException: checkpoint directory " + dir + " is not usable: cannot create a file"
                + " in it (Permission denied); checkpoints need to create, write, fsync and rename files there", said.getFirst());
    }

    @Test
    void aLinkPlantedByAnotherUserIsNeverFollowed() throws Exception {
        Path victims = nobodys("victim", "rwx------");
        // A directory others can write (root's, here the other user), with the lock file a link into the victim's files.
        Path shared = Files.createDirectory(work.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path planted = victims.resolve("planted");
        Files.createSymbolicLink(shared.resolve("pagemark.lock"), planted);
        // The victim's own directory, with such a link in it (left by a mistake: no one else can write there).
        Path own = nobodys("own", "rwx------");
        Path plantedToo = victims.resolve("planted-too");
        Path link = Files.createSymbolicLink(own.resolve("pagemark.lock"), plantedToo);
        Files.setAttribute(link, "unix:uid", ChildJvm.NOBODY, LinkOption.NOFOLLOW_LINKS);

        List<String> said = asNobody("checkpoint", shared.toString(), "checkpoint", own.toString());
        assertEquals("checkpoint " + shared + ": java.io.IOException: checkpoint directory " + shared + " is writable by group and others"
                + " (mode 0777): anyone who can write it can replace the checkpoints; tighten it (chmod go-w " + shared
                + ", or Checkpointer.tightenPermissions) or use a directory of your own", said.get(0));
        assertEquals("checkpoint " + own + ": java.io.IOException: " + own.resolve("pagemark.lock") + " is a symbolic link:"
                + " pagemark follows no link inside a checkpoint directory; remove it", said.get(1));
        List<String> created = new ArrayList<>();
        for (Path p : List.of(planted, plantedToo)) if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) created.add(p.toString());
        assertEquals(List.of(), created, "files created through the links");
        assertFalse(Files.exists(own.resolve(ChainDirectory.MANIFEST)));
    }
}
