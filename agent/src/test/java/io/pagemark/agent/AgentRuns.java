package io.pagemark.agent;

import io.pagemark.Backend;
import io.pagemark.samples.demo.Demo;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedMethod;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** What the child-JVM tests share: the backends to run on, the options, reading a child's recording. */
final class AgentRuns {
    private AgentRuns() {}

    /** The sample runtime's options on {@code backend}, with reports every 200 ms so that a short run has some. */
    static String options(Backend backend) {
        return Demo.AGENT_OPTIONS + ",backend=" + backend.id() + ",report-interval=200ms";
    }

    /** Every hardware backend usable here; aborts the calling test, with the reason, when there is none. */
    static List<Backend> usableBackends() {
        List<Backend> usable = PagemarkAgent.usableHardwareBackends();
        Assumptions.assumeFalse(usable.isEmpty(), "no hardware backend is usable on this machine (see ./pagemark probe)");
        return usable;
    }

    static List<RecordedEvent> events(Path recording, String name) throws IOException {
        return RecordingFile.readAllEvents(recording).stream().filter(e -> e.getEventType().getName().equals(name)).toList();
    }

    /**
     * How often the JVM saw the sample runtime's barrier run while the recording was on (JFR method
     * timing instruments the method itself: the count does not depend on the agent's cooperation).
     */
    static long barrierInvocations(Path recording) throws IOException {
        List<RecordedEvent> timings = events(recording, "jdk.MethodTiming").stream().filter(e -> {
            RecordedMethod m = e.getValue("method");
            return (m.getType().getName() + "::" + m.getName()).equals(AgentTestTarget.BARRIER);
        }).toList();
        if (timings.isEmpty()) throw new AssertionError("the recording has no method timing of " + AgentTestTarget.BARRIER);
        return timings.getLast().getLong("invocations");
    }
}
