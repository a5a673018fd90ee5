package io.pagemark.agent;

import io.pagemark.Backend;
import jdk.jfr.consumer.RecordedEvent;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The sample runtime in a child JVM, its oracle checked after every cycle: as is, and under the
 * agent at JVM start ({@code -javaagent}) on every hardware backend usable here. Under the agent the
 * barrier never runs (JFR's method timing counts it), and the agent's JFR events and MBean report
 * what it did.
 */
class PremainTest {
    private static final String SECONDS = "2";

    @TempDir
    Path dir;

    @Test
    void withoutTheAgentTheRuntimesOwnBarrierRunsAndTheOracleHolds() throws Exception {
        Path recording = dir.resolve("plain.jfr");
        AgentJvm.Result r = AgentJvm.start(null, List.of(), AgentTestTarget.class, recording.toString(), SECONDS).await(60);
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals("true", r.value("runtime.ok"), r::toString);
        assertTrue(Integer.parseInt(r.value("runtime.cycles")) >= 2, r::toString);
        assertTrue(AgentRuns.barrierInvocations(recording) > 0, "the method timing must count the barrier when it runs");
        assertEquals("absent", r.value("mbean"));
    }

    @TestFactory
    Stream<DynamicTest> underTheAgentTheBarrierNeverRunsAndTheOracleHolds() {
        return AgentRuns.usableBackends().stream().map(backend -> DynamicTest.dynamicTest(backend.id(), () -> runUnderAgent(backend)));
    }

    @Test
    void theBarrierCanBeNamedByItsAnnotation() throws Exception {
        Backend backend = AgentRuns.usableBackends().getFirst();
        Path recording = dir.resolve("annotation.jfr");
        String options = AgentRuns.options(backend).replace("barrier=io.pagemark.samples.runtime.CardTable#mark",
                "barrier=@io.pagemark.samples.runtime.WriteBarrier");
        AgentJvm.Result r = AgentJvm.start(options, List.of(), AgentTestTarget.class, recording.toString(), SECONDS).await(60);
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals("true", r.value("runtime.ok"), r::toString);
        assertEquals(0, AgentRuns.barrierInvocations(recording), "the annotated barrier's calls are removed too");
        assertTrue(Long.parseLong(r.value("mbean.CardsMarked")) > 0, r::toString);
    }

    /** A JVM given -javaagent and nothing else: the agent grants the tracker the run flags itself. */
    @Test
    void theJavaagentAloneIsEnough() throws Exception {
        List<Backend> backends = AgentRuns.usableBackends();
        // A ring backend if there is one: the export Agrona needs is what a JVM without the flags lacks first.
        Backend backend = backends.stream().filter(b -> b.has(Backend.Trait.NATIVE_FAULT_PATH)).findFirst().orElse(backends.getFirst());
        Path recording = dir.resolve("alone.jfr");
        AgentJvm.Result r = AgentJvm.startWithoutRunFlags(AgentRuns.options(backend), List.of(), AgentTestTarget.class,
                recording.toString(), SECONDS).await(60);
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals(List.of("pagemark agent: card marking of io.pagemark.samples.runtime.CardTable#mark replaced by "
                + backend.id() + " (requested)"), r.agentLines());
        assertEquals(List.of(), r.stderr().stream().filter(l -> !l.startsWith("pagemark agent:")).toList(),
                "no JVM warning (restricted methods), no IllegalAccessError: " + r);
        assertEquals("true", r.value("runtime.ok"), r::toString);
        assertTrue(Long.parseLong(r.value("mbean.Collects")) >= 4, r::toString);
    }

    private void runUnderAgent(Backend backend) throws Exception {
        Path recording = dir.resolve(backend.id() + ".jfr");
        AgentJvm.Result r = AgentJvm.start(AgentRuns.options(backend), List.of(), AgentTestTarget.class, recording.toString(), SECONDS)
                .await(60);
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals(List.of("pagemark agent: card marking of io.pagemark.samples.runtime.CardTable#mark replaced by "
                + backend.id() + " (requested)"), r.agentLines());
        assertEquals("true", r.value("runtime.ok"), r::toString);
        assertTrue(Integer.parseInt(r.value("runtime.cycles")) >= 2, r::toString);
        assertEquals(0, AgentRuns.barrierInvocations(recording), "no store may call the barrier under the agent");

        // JMX: the MBean, read through the platform MBean server in the child.
        assertEquals(backend.id(), r.value("mbean.Backend"));
        assertEquals("requested", r.value("mbean.BackendReason"));
        assertTrue(Long.parseLong(r.value("mbean.Collects")) >= 4, r::toString);
        assertTrue(Long.parseLong(r.value("mbean.DirtyPages")) > 0, r::toString);
        assertTrue(Long.parseLong(r.value("mbean.CardsMarked")) > 0, r::toString);
        assertTrue(Long.parseLong(r.value("mbean.Faults")) > 0, r::toString);
        assertTrue(Long.parseLong(r.value("mbean.RewrittenClasses")) > 0, r::toString);
        assertEquals("0", r.value("mbean.UntrackedCardScans"), "every heap was tracked");
        assertEquals("0", r.value("mbean.TrackedHeaps"), "the runtime closed its heap: the tracked arena went with it");
        assertEquals("0", r.value("mbean.BytesTracked"));

        // JFR: the agent's card marking before card scans (cards marked) and at card clears; the tracker's own
        // events of the arenas the agent opened: collects, the backend, the fault rate.
        List<RecordedEvent> marking = AgentRuns.events(recording, "io.pagemark.agent.CardMarking");
        assertTrue(marking.stream().allMatch(e -> e.getString("backend").equals(backend.id())));
        assertTrue(marking.stream().anyMatch(e -> e.getString("hook").equals("card-scan") && e.getLong("pages") > 0
                && e.getLong("cardsMarked") >= e.getLong("pages")), marking::toString);
        List<RecordedEvent> clears = marking.stream().filter(e -> e.getString("hook").equals("card-clear")).toList();
        assertTrue(clears.size() >= 2, marking::toString);
        // Every clear after the first scan ends a pause (tracking stopped at the scan): nothing to collect and drop.
        assertTrue(clears.stream().skip(1).allMatch(e -> e.getLong("pages") == 0), clears::toString);
        List<RecordedEvent> collects = AgentRuns.events(recording, "io.pagemark.Collect");
        assertTrue(collects.size() >= 2 && collects.stream().allMatch(e -> e.getString("backend").equals(backend.id())
                && e.getString("arena").startsWith(CardMarkingReplacement.HEAP_NAME)), collects::toString);
        RecordedEvent chosen = AgentRuns.events(recording, "io.pagemark.BackendChosen").getFirst();
        assertEquals(backend.id(), chosen.getString("backend"));
        assertEquals("requested", chosen.getString("reason"));
        assertTrue(AgentRuns.events(recording, "io.pagemark.FaultRate").stream().anyMatch(e -> e.getLong("faults") > 0));

        // The same events as jfr print shows them.
        Process print = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jfr").toString(), "print",
                "--events", "io.pagemark.agent.CardMarking", recording.toString()).redirectErrorStream(true).start();
        String printed = new String(print.getInputStream().readAllBytes());
        assertEquals(0, print.waitFor(), printed);
        assertTrue(printed.contains("io.pagemark.agent.CardMarking {") && printed.contains("backend = \"" + backend.id() + "\""), printed);
    }
}
