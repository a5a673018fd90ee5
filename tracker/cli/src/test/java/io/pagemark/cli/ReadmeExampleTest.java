package io.pagemark.cli;

import io.pagemark.TrackedArena;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.ToolProvider;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's Java example, extracted from README.md, compiled against the tracker the build made
 * (its jar in a full build) and run with the flags the README gives, so it cannot rot; without them
 * it gets the one-line error naming the flags.
 */
class ReadmeExampleTest {
    @TempDir
    Path dir;

    private static Path location(Class<?> c) throws Exception {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    private static String readme() throws Exception {
        for (Path d = location(ReadmeExampleTest.class); d != null; d = d.getParent()) {
            if (Files.exists(d.resolve("README.md")) && Files.exists(d.resolve("mvnw"))) return Files.readString(d.resolve("README.md"));
        }
        throw new AssertionError("no README.md above " + location(ReadmeExampleTest.class));
    }

    private static String classPath() throws Exception {
        return location(TrackedArena.class) + File.pathSeparator + location(UnsafeBuffer.class);
    }

    private record Run(int exit, String output) {}

    private Run run(List<String> flags, Path classes) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(flags);
        command.addAll(List.of("-cp", classPath() + File.pathSeparator + classes, "Example"));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), out);
        return new Run(p.exitValue(), out);
    }

    @Test
    void theReadmesExampleCompilesAndRunsWithTheReadmesFlags() throws Exception {
        String readme = readme();
        Matcher java = Pattern.compile("```java\n(.*?)```", Pattern.DOTALL).matcher(readme);
        assertTrue(java.find(), "README.md has a ```java block");
        Path source = dir.resolve("src").resolve("Example.java");
        Files.createDirectories(source.getParent());
        Files.writeString(source, java.group(1));
        Path classes = Files.createDirectories(dir.resolve("classes"));
        int compiled = ToolProvider.getSystemJavaCompiler().run(null, null, null, "-d", classes.toString(), "-cp", classPath(), source.toString());
        assertEquals(0, compiled, "the README's example compiles against the tracker");

        Matcher line = Pattern.compile("\njava (.*?) -cp <class path> Example\n").matcher(readme);
        assertTrue(line.find(), "README.md gives the java command line with its flags");
        List<String> flags = List.of(line.group(1).trim().split("\\s+"));
        Run ok = run(flags, classes);
        assertEquals(0, ok.exit(), ok.output());
        assertFalse(ok.output().contains("WARNING"), ok.output());
        assertTrue(ok.output().lines().anyMatch(l -> l.endsWith(": 1 page(s) at 7")), ok.output());
        assertTrue(ok.output().lines().anyMatch(l -> l.endsWith(": 1 page(s) at 9")), ok.output());

        Run refused = run(List.of(), classes);
        assertNotEquals(0, refused.exit(), refused.output());
        String first = refused.output().lines().findFirst().orElse("");
        assertTrue(first.contains("io.pagemark.PagemarkException: pagemark: this JVM was started without " + String.join(" ", flags) + " ("),
                "the one line names the README's flags: " + first);
        assertFalse(refused.output().contains("IllegalAccessError") || refused.output().contains("WARNING"), refused.output());
    }
}
