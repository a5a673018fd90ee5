package io.pagemark.agent;

import io.pagemark.Backend;
import io.pagemark.samples.demo.Demo;
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
        String ok = "ok: card marking of io.pagemark.samples.runtime.CardTable#mark replaced by " + backend.id() + " (requested)";
        assertEquals(1, exit, "the one heap was allocated before the attach: not ok; " + out + err);
        assertEquals("pagemark agent in " + child.pid() + ": " + ok + "; 0 tracked, 1 untracked heaps: allocated before the attach,"
                + " they stay untracked (their collectors rescan every card, the barrier calls being gone) until they are gone;"
                + " a heap allocated from now on is tracked", err.toString(StandardCharsets.UTF_8).strip());

        // A second attach is refused and leaves the running agent's status alone.
        ByteArrayOutputStream again = new ByteArrayOutputStream();
        assertEquals(1, AgentCommand.attach(String.valueOf(child.pid()), AgentRuns.options(backend) + ",jfr=off", AgentJvm.agentJar(),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), new PrintStream(again, true, StandardCharsets.UTF_8)));
        assertTrue(again.toString(StandardCharsets.UTF_8).contains(": error: the pagemark agent is already running in this JVM (" + ok
                + "); accepted: one agent per JVM"), again::toString);
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
        assertEquals(ok, r.value("status"), "the second attach did not overwrite the running agent's status");
    }

    @Test
    void aBadOptionIsReportedBeforeAttachingAndTheTargetIsNotTouched() throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = AgentCommand.attach(String.valueOf(ProcessHandle.current().pid()), AgentRuns.options(Backend.AUTO) + ",jfr=maybe",
                AgentJvm.agentJar(),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(2, exit);
        assertEquals("pagemark agent: bad option jfr=maybe: neither on nor off; accepted: on or off\n"
                + "pagemark agent: the options line to start from: backend=auto," + Demo.AGENT_OPTIONS + ",report-interval=200ms,jfr=on",
                err.toString(StandardCharsets.UTF_8).strip());
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
        String template = "the options line to start from: backend=" + AgentRuns.usableBackends().getFirst().id() + ","
                + Demo.AGENT_OPTIONS.replace("io.pagemark.samples.runtime.Heap#reserveMemory", "<class>#<method>") + ",report-interval=200ms";
        assertEquals("pagemark agent in " + child.pid() + ": error: " + line + "\n" + template, err.toString(StandardCharsets.UTF_8).strip());
        assertEquals(List.of("pagemark agent: " + line, "pagemark agent: " + template), r.agentLines(), "the target prints the same lines");
        assertEquals("true", r.value("before.ok"), "the target runs on untracked, with its own barrier: " + r);
        assertEquals("absent", r.value("mbean"));
    }
}
