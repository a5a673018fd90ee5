package io.pagemark;

import io.pagemark.testing.ModulePathChild;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tracker as a named module: it exports the API packages only, and a program with it on the
 * module path runs with the module-path run flags that docs/embedding.md gives.
 */
class ModulePathTest {
    /** The module-path run flags (docs/embedding.md). */
    static final List<String> MODULE_PATH_RUN_FLAGS = List.of("--enable-native-access=io.pagemark.tracker",
            "--add-exports", "java.base/jdk.internal.misc=org.agrona");

    private static Path trackerClasses() throws URISyntaxException {
        return Path.of(TrackedArena.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    @Test
    void theModuleExportsTheApiPackagesOnly() throws URISyntaxException {
        ModuleDescriptor descriptor = ModuleFinder.of(trackerClasses()).find("io.pagemark.tracker").orElseThrow().descriptor();
        Set<String> exported = descriptor.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet());
        assertEquals(Set.of("io.pagemark", "io.pagemark.checkpoint", "io.pagemark.cut", "io.pagemark.snapshot"), exported);
        assertTrue(descriptor.exports().stream().noneMatch(ModuleDescriptor.Exports::isQualified), "no qualified exports");
        assertTrue(descriptor.packages().containsAll(Set.of("io.pagemark.backend", "io.pagemark.linux", "io.pagemark.nativelib")));
    }

    @Test
    void aProgramOnTheModulePathTracksWithTheDocumentedFlags() throws Exception {
        String agrona = Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(entry -> Path.of(entry).getFileName().toString().startsWith("agrona")).findFirst().orElseThrow();
        String testClasses = Path.of(ModulePathChild.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(MODULE_PATH_RUN_FLAGS);
        command.addAll(List.of("--module-path", trackerClasses() + File.pathSeparator + agrona, "--add-modules", "io.pagemark.tracker",
                "-cp", testClasses, ModulePathChild.class.getName()));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, child.exitValue(), output);
        assertFalse(output.contains("WARNING"), "no warning (restricted methods, Unsafe): " + output);
        List<String> lines = output.lines().toList();
        assertFalse(lines.isEmpty(), output);
        for (String line : lines) assertTrue(line.matches("[a-z-]+ 1"), "one page written, one reported: " + output);
    }
}
