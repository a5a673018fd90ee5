package io.pagemark.agent;

import io.pagemark.Backend;
import io.pagemark.Capabilities;
import io.pagemark.samples.demo.Demo;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a bad option or an unusable backend does to the JVM start: {@code on-error=fail} (the
 * default) stops it with exit code 1 and one line; {@code on-error=continue} prints the same line
 * and the application runs untracked, with its own barrier.
 */
class OnErrorTest {
    @TempDir
    Path dir;

    @Test
    void failStopsTheJvmStartWithOneLineAndNothingElse() throws Exception {
        AgentJvm.Result r = AgentJvm.start(AgentRuns.options(Backend.AUTO).replace("backend=auto", "backend=bogus"), List.of(),
                AgentTestTarget.class, dir.resolve("unused.jfr").toString(), "1").await(60);
        assertEquals(1, r.exitCode(), r::toString);
        assertEquals(List.of("pagemark agent: bad option backend=bogus: unknown backend; accepted: auto, "
                + AgentOptions.hardwareBackendNames(), "pagemark agent: the options line to start from: backend=auto,"
                + Demo.AGENT_OPTIONS + ",report-interval=200ms"), r.stderr(), "the problem and the template, no stack trace");
        assertEquals(List.of(), r.stdout(), "the application never started");
    }

    @Test
    void continueRunsTheApplicationUntrackedWithItsOwnBarrier() throws Exception {
        Path recording = dir.resolve("untracked.jfr");
        AgentJvm.Result r = AgentJvm.start(AgentRuns.options(Backend.AUTO) + ",card-shift=99,on-error=continue", List.of(),
                AgentTestTarget.class, recording.toString(), "1.5").await(60);
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals(List.of("pagemark agent: bad option card-shift=99: out of range; accepted: " + Option.CARD_SHIFT.accepted,
                "pagemark agent: the options line to start from: backend=auto," + Demo.AGENT_OPTIONS
                        + ",card-shift=9,report-interval=200ms,on-error=continue (on-error=continue: running untracked)"), r.agentLines());
        assertEquals("true", r.value("runtime.ok"), r::toString);
        assertTrue(AgentRuns.barrierInvocations(recording) > 0, "untracked: the runtime's own barrier still runs");
        assertEquals("absent", r.value("mbean"));
    }

    @Test
    void anUnusableBackendIsABadOptionNamingTheUsableOnes() throws Exception {
        Map.Entry<Backend, Capabilities.Support> unusable = Capabilities.probe().backends().entrySet().stream()
                .filter(e -> e.getKey().isHardware() && !e.getValue().usable()).findFirst().orElse(null);
        Assumptions.assumeTrue(unusable != null, "every hardware backend is usable on this machine: none to refuse");
        Backend backend = unusable.getKey();
        AgentJvm.Result r = AgentJvm.start(AgentRuns.options(backend), List.of(), AgentTestTarget.class,
                dir.resolve("unused.jfr").toString(), "1").await(60);
        assertEquals(1, r.exitCode(), r::toString);
        StringBuilder usable = new StringBuilder("auto");
        PagemarkAgent.usableHardwareBackends().forEach(b -> usable.append(", ").append(b.id()));
        assertEquals(List.of("pagemark agent: bad option backend=" + backend.id() + ": not usable here: " + unusable.getValue().reason()
                + "; accepted: " + usable, "pagemark agent: the options line to start from: backend=auto," + Demo.AGENT_OPTIONS
                + ",report-interval=200ms"), r.stderr());
    }
}
