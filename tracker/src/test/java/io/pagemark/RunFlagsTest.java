package io.pagemark;

import io.pagemark.testing.RunFlagsChild;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A JVM started without the run flags gets one line from open() naming the missing flag as that JVM
 * needs it spelled (class path and module path), before anything is mapped: no JVM warning about a
 * restricted method (the first FFM call would print one), no IllegalAccessError from Agrona.
 */
class RunFlagsTest {
    private static final String NATIVE_ACCESS = "--enable-native-access=ALL-UNNAMED";
    private static final String EXPORT = "--add-exports java.base/jdk.internal.misc=ALL-UNNAMED";

    private record Run(int exit, String output) {}

    private static String location(Class<?> c) throws URISyntaxException {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }

    private static String agrona() {
        return Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(entry -> Path.of(entry).getFileName().toString().startsWith("agrona")).findFirst().orElseThrow();
    }

    /** The child on the class path (tracker, Agrona, the test classes) with {@code flags} only. */
    private static Run classPath(List<String> flags, String backend) throws Exception {
        List<String> command = new ArrayList<>(flags);
        command.addAll(List.of("-cp", String.join(File.pathSeparator, location(TrackedArena.class), agrona(), location(RunFlagsChild.class)),
                RunFlagsChild.class.getName(), backend));
        return run(command);
    }

    /** The child with the tracker and Agrona on the module path, with {@code flags} only. */
    private static Run modulePath(List<String> flags, String backend) throws Exception {
        List<String> command = new ArrayList<>(flags);
        command.addAll(List.of("--module-path", location(TrackedArena.class) + File.pathSeparator + agrona(), "--add-modules", "io.pagemark.tracker",
                "-cp", location(RunFlagsChild.class), RunFlagsChild.class.getName(), backend));
        return run(command);
    }

    private static Run run(List<String> arguments) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String a : arguments) command.addAll(a.startsWith("--add-exports ") ? List.of(a.split(" ")) : List.of(a));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child did not exit: " + output);
        return new Run(child.exitValue(), output);
    }

    /** A usable backend whose faults are recorded in Agrona's ring (it needs the export). */
    private static Backend ringBackend() {
        Capabilities capabilities = Capabilities.probe();
        Backend found = Backend.with(Backend.Trait.NATIVE_FAULT_PATH).stream()
                .filter(b -> capabilities.backends().get(b).usable()).findFirst().orElse(null);
        assumeTrue(found != null, "no backend with a native fault path is usable here");
        return found;
    }

    /** The child refused with exactly one line, naming {@code flags} in that order and nothing else. */
    private static void refusedNaming(Run run, String... flags) {
        assertEquals(3, run.exit(), run.output());
        List<String> lines = run.output().lines().toList();
        assertEquals(1, lines.size(), "one line, no JVM warning (nothing was called through FFM, nothing mapped): " + run.output());
        String line = lines.getFirst();
        assertTrue(line.startsWith("error: pagemark: this JVM was started without " + String.join(" ", flags) + " ("), line);
        assertTrue(line.contains("add " + (flags.length == 1 ? "it" : "them") + " to the java command"), "says where: " + line);
        assertFalse(line.contains("IllegalAccessError"), line);
    }

    @Test
    void withoutAnyFlagEveryFlagTheBackendMayNeedIsNamed() throws Exception {
        refusedNaming(classPath(List.of(), "auto"), NATIVE_ACCESS, EXPORT);   // auto may pick a ring backend
        refusedNaming(classPath(List.of(), ringBackend().id()), NATIVE_ACCESS, EXPORT);
        refusedNaming(classPath(List.of(), "card-table"), NATIVE_ACCESS);
    }

    @Test
    void aRingBackendWithoutTheExportNamesTheExport() throws Exception {
        Backend ring = ringBackend();
        refusedNaming(classPath(List.of(NATIVE_ACCESS), ring.id()), EXPORT);
    }

    @Test
    void backendsWithoutTheRingNeedNativeAccessOnly() throws Exception {
        Run cardTable = classPath(List.of(NATIVE_ACCESS), "card-table");
        assertEquals(0, cardTable.exit(), cardTable.output());
        assertEquals("ok card-table 1", cardTable.output().strip());
        assumeTrue(Capabilities.probe().backends().get(Backend.UFFD_ASYNC).usable(), "uffd-async is not usable here");
        Run async = classPath(List.of(NATIVE_ACCESS), "uffd-async");
        assertEquals(0, async.exit(), async.output());
        assertEquals("ok uffd-async 1", async.output().strip());
    }

    @Test
    void withBothFlagsTheRingBackendTracks() throws Exception {
        Backend ring = ringBackend();
        Run run = classPath(List.of(NATIVE_ACCESS, EXPORT), ring.id());
        assertEquals(0, run.exit(), run.output());
        assertEquals("ok " + ring.id() + " 1", run.output().strip());
    }

    @Test
    void onTheModulePathTheFlagsNameTheModules() throws Exception {
        Backend ring = ringBackend();
        refusedNaming(modulePath(List.of(), ring.id()), "--enable-native-access=io.pagemark.tracker",
                "--add-exports java.base/jdk.internal.misc=org.agrona");
        refusedNaming(modulePath(List.of("--enable-native-access=io.pagemark.tracker"), ring.id()),
                "--add-exports java.base/jdk.internal.misc=org.agrona");
    }
}
