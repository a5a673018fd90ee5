package io.pagemark.agent;

import io.pagemark.Backend;
import jdk.jfr.consumer.RecordedEvent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shaded agent jar (run in the package phase, after the shade): everything it shades is relocated
 * under io.pagemark.agent, its published POM names none of what it shades, and it runs under
 * -javaagent alone beside an application that has its own (unshaded) tracker and Agrona on the class
 * path, as this test's class path has.
 */
class AgentJarTest {
    /** The build directory: the parent of this class's test-classes. */
    private static final Path TARGET = target();
    private static final Path JAR = TARGET.resolve("pagemark-agent.jar");

    private static Path target() {
        try {
            return Path.of(AgentJarTest.class.getProtectionDomain().getCodeSource().getLocation().toURI()).getParent();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @TempDir
    Path dir;

    @Test
    void nothingShadedIsLeftOutsideTheAgentsOwnPackage() throws Exception {
        try (JarFile jar = new JarFile(JAR.toFile())) {
            List<String> outside = jar.stream().map(ZipEntry::getName).filter(name -> !name.endsWith("/"))
                    .filter(name -> name.startsWith("org/agrona/") || name.startsWith("net/bytebuddy/")
                            || (name.startsWith("io/pagemark/") && !name.startsWith("io/pagemark/agent/")))
                    .toList();
            assertEquals(List.of(), outside, "unrelocated classes or resources in " + JAR);
            for (String relocated : List.of("io/pagemark/agent/shaded/pagemark/TrackedArena.class",
                    "io/pagemark/agent/shaded/agrona/concurrent/UnsafeBuffer.class",
                    "io/pagemark/agent/shaded/bytebuddy/ByteBuddy.class",
                    "io/pagemark/agent/shaded/pagemark/nativelib/linux-x86_64/libpagemark.so",
                    "io/pagemark/agent/shaded/pagemark/version.properties")) {
                assertTrue(jar.getEntry(relocated) != null, relocated + " missing from " + JAR);
            }
        }
    }

    @Test
    void theDependencyReducedPomNamesNothingTheJarHolds() throws Exception {
        String pom = Files.readString(TARGET.resolve("dependency-reduced-pom.xml"));
        Matcher dependency = Pattern.compile("<dependency>(.*?)</dependency>", Pattern.DOTALL).matcher(pom);
        while (dependency.find()) {
            String d = dependency.group(1);
            assertTrue(d.contains("<scope>test</scope>"), "only test dependencies are left: " + d);
            for (String shaded : List.of("pagemark-tracker", "agrona", "byte-buddy</")) assertFalse(d.contains(shaded), d);
        }
    }

    @Test
    void theJarAloneTracksBesideTheApplicationsOwnTrackerAndAgrona() throws Exception {
        Backend backend = AgentRuns.usableBackends().stream().filter(b -> b.has(Backend.Trait.NATIVE_FAULT_PATH)).findFirst()
                .orElse(AgentRuns.usableBackends().getFirst());
        Path recording = dir.resolve("jar.jfr");
        AgentJvm.Result r = AgentJvm.startWithoutRunFlags(JAR, AgentRuns.options(backend), List.of(), AgentTestTarget.class,
                recording.toString(), "1").await(60);
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals(List.of("pagemark agent: card marking of io.pagemark.samples.runtime.CardTable#mark replaced by "
                + backend.id() + " (requested)"), r.agentLines());
        assertEquals(List.of(), r.stderr().stream().filter(l -> !l.startsWith("pagemark agent:")).toList(), r::toString);
        assertEquals("true", r.value("runtime.ok"), r::toString);
        assertEquals(0, AgentRuns.barrierInvocations(recording));
        List<RecordedEvent> collects = AgentRuns.events(recording, "io.pagemark.Collect");
        assertTrue(collects.stream().anyMatch(e -> e.getString("arena").startsWith(CardMarkingReplacement.HEAP_NAME)), collects::toString);
        assertFalse(AgentRuns.events(recording, "io.pagemark.agent.CardMarking").isEmpty());
    }
}
