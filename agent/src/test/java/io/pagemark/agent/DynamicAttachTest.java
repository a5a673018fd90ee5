package io.pagemark.agent;

import io.pagemark.Backend;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The agent attached late ({@code pagemark attach <pid> <options>}) to a JVM whose runtime is
 * already running, its classes loaded and compiled: they are retransformed in place. The running
 * runtime's heap was allocated before the attach, so it stays untracked and its collector gets
 * every card marked (its barrier calls are gone); a runtime started afterwards gets a tracked heap.
 * Both oracles must pass, and the barrier must not run after the attach.
 */
class DynamicAttachTest {
    private static final String SECONDS = "1";

    @TempDir
    Path dir;

    @TestFactory
    Stream<DynamicTest> attachedLateTheAgentRewritesLoadedClassesAndTheOraclesHold() {
        return AgentRuns.usableBackends().stream().map(backend -> DynamicTest.dynamicTest(backend.id(), () -> attachLate(backend)));
    }

    private void attachLate(Backend backend) throws Exception {
        Path recording = dir.resolve(backend.id() + ".jfr");
        AgentJvm child = AgentJvm.start(null, List.of("-XX:+EnableDynamicAgentLoading"), AgentTestTarget.class,
                recording.toString(), SECONDS, "attach");
        assertEquals("ready", child.readLine());

        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int exit = AgentCommand.attach(String.valueOf(child.pid()), AgentRuns.options(backend), AgentJvm.agentJar(),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, exit, err::toString);
        assertEquals("pagemark agent in " + child.pid() + ": ok: card marking of io.pagemark.samples.runtime.CardTable#mark replaced by "
                + backend.id() + " (requested)", out.toString(StandardCharsets.UTF_8).strip());
        child.writeLine("go");

        AgentJvm.Result r = child.await(60);
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals("true", r.value("before.ok"), () -> "the runtime running across the attach: " + r);
        assertEquals("true", r.value("after.ok"), () -> "the runtime started after the attach: " + r);
        assertTrue(Integer.parseInt(r.value("after.cycles")) >= 2, r::toString);
        assertEquals(0, AgentRuns.barrierInvocations(recording), "no store may call the barrier after the attach");
        assertTrue(Long.parseLong(r.value("mbean.UntrackedCardScans")) > 0, "the heap allocated before the attach: every card marked");
        assertTrue(Long.parseLong(r.value("mbean.CardsMarked")) > 0, r::toString);
        assertTrue(Long.parseLong(r.value("mbean.Collects")) >= 4, "the heap allocated after the attach is tracked: " + r);
        assertTrue(Long.parseLong(r.value("mbean.RewrittenClasses")) > 0, r::toString);
        assertEquals("0", r.value("mbean.TrackedHeaps"), r::toString);
    }

    @Test
    void aBadOptionIsReportedBeforeAttachingAndTheTargetIsNotTouched() throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = AgentCommand.attach(String.valueOf(ProcessHandle.current().pid()), AgentRuns.options(Backend.AUTO) + ",jfr=maybe",
                AgentJvm.agentJar(),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(2, exit);
        assertEquals("pagemark agent: bad option jfr=maybe: neither on nor off; accepted: on or off", err.toString(StandardCharsets.UTF_8).strip());
    }

    @Test
    void aClassPathProblemFoundInTheTargetComesBackAsOneLine() throws Exception {
        AgentJvm child = AgentJvm.start(null, List.of("-XX:+EnableDynamicAgentLoading"), AgentTestTarget.class,
                dir.resolve("unused.jfr").toString(), "0.5", "attach");
        assertEquals("ready", child.readLine());
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String options = AgentRuns.options(AgentRuns.usableBackends().getFirst())
                .replace("Heap#reserveMemory", "Heap#allocate");
        int exit = AgentCommand.attach(String.valueOf(child.pid()), options, AgentJvm.agentJar(),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        child.writeLine("go");
        AgentJvm.Result r = child.await(60);
        assertEquals(1, exit);
        String line = "bad option heap=io.pagemark.samples.runtime.Heap#allocate: io.pagemark.samples.runtime.Heap declares no method allocate;"
                + " accepted: " + Option.HEAP.accepted;
        assertEquals("pagemark agent in " + child.pid() + ": error: " + line, err.toString(StandardCharsets.UTF_8).strip());
        assertEquals(List.of("pagemark agent: " + line), r.agentLines(), "the target prints the same one line");
        assertEquals("true", r.value("before.ok"), "the target runs on untracked, with its own barrier: " + r);
        assertEquals("absent", r.value("mbean"));
    }
}
