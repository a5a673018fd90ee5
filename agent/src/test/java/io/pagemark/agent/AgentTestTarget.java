package io.pagemark.agent;

import io.pagemark.samples.runtime.ManagedRuntime;
import io.pagemark.samples.runtime.RunReport;
import io.pagemark.samples.runtime.RuntimeConfig;
import jdk.jfr.Recording;

import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Map;

/**
 * The program the agent tests run in a child JVM: the sample runtime, a JFR recording of the
 * agent's events and of the barrier's invocations (JFR method timing: the JVM counts them, not us),
 * and the agent's MBean read through the platform MBean server. Prints {@code key=value} lines.
 *
 * <pre>
 * AgentTestTarget &lt;recording.jfr&gt; &lt;seconds&gt;          one runtime, recorded from the start
 * AgentTestTarget &lt;recording.jfr&gt; &lt;seconds&gt; attach   a runtime runs, "ready" is printed, a line on stdin
 *                                                  (after the attach) resumes it; it runs on (untracked heap),
 *                                                  then a second runtime runs (its heap allocated after the attach);
 *                                                  recorded from the attach on
 * </pre>
 */
public final class AgentTestTarget {
    static final String BARRIER = "io.pagemark.samples.runtime.CardTable::mark";
    /** Cycles every phase runs at least: the tests check what the collector and the agent did in them. */
    private static final int CYCLES = 3;

    private AgentTestTarget() {}

    public static void main(String[] args) throws Exception {
        Path recordingFile = Path.of(args[0]);
        long millis = (long) (Double.parseDouble(args[1]) * 1000);
        // A small heap collected often: a short run still has several cycles, even with the barrier timed by JFR.
        RuntimeConfig config = RuntimeConfig.defaults().withHeapBytes(16L << 20).withCyclePercent(10);
        if (args.length > 2) {
            ManagedRuntime before = new ManagedRuntime(config);
            before.start();
            runFor(before, millis);
            System.out.println("ready");
            System.out.flush();
            new BufferedReader(new InputStreamReader(System.in)).readLine();
            try (Recording recording = recording()) {
                recording.start();
                runFor(before, millis);
                print("before", before.stop());
                before.close();
                print("after", run(config, millis));
                recording.dump(recordingFile);
            }
        } else {
            try (Recording recording = recording()) {
                recording.start();
                print("runtime", run(config, millis));
                recording.dump(recordingFile);
            }
        }
        printAgentMBean();
        System.out.println("status=" + System.getProperty(PagemarkAgent.STATUS_PROPERTY));
        System.exit(0);
    }

    private static Recording recording() {
        return new Recording(Map.of(
                "io.pagemark.Collect#enabled", "true",
                "io.pagemark.Collect#threshold", "0 ms",
                "io.pagemark.agent.CardMarking#enabled", "true",
                "io.pagemark.agent.CardMarking#threshold", "0 ms",
                "io.pagemark.FaultRate#enabled", "true",
                "io.pagemark.BackendChosen#enabled", "true",
                "jdk.MethodTiming#enabled", "true",
                "jdk.MethodTiming#filter", BARRIER,
                "jdk.MethodTiming#period", "endChunk"));
    }

    @SuppressWarnings("try") // ManagedRuntime.close() may throw InterruptedException, which this method declares
    private static RunReport run(RuntimeConfig config, long millis) throws InterruptedException {
        try (ManagedRuntime runtime = new ManagedRuntime(config)) {
            runtime.start();
            runFor(runtime, millis);
            return runtime.stop();
        }
    }

    /**
     * Lets {@code runtime} run for {@code millis}, and on until it completed {@value #CYCLES} cycles (a busy
     * machine may give it little CPU), 60 s at most.
     */
    private static void runFor(ManagedRuntime runtime, long millis) throws InterruptedException {
        int cyclesBefore = runtime.cyclesSoFar();
        long start = System.nanoTime(), end = start + millis * 1_000_000, limit = start + 60_000_000_000L;
        while (!runtime.failed() && System.nanoTime() < limit
                && (System.nanoTime() < end || runtime.cyclesSoFar() - cyclesBefore < CYCLES)) {
            Thread.sleep(20);
        }
    }

    private static void print(String name, RunReport report) {
        System.out.println(name + ".ok=" + report.ok());
        System.out.println(name + ".cycles=" + report.cycles().size());
        System.out.println(name + ".report=" + report);
    }

    /** Every attribute of io.pagemark:type=Agent as mbean.Name=value, or mbean=absent. */
    private static void printAgentMBean() throws Exception {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName name = new ObjectName(PagemarkAgent.MBEAN_NAME);
        if (!server.isRegistered(name)) {
            System.out.println("mbean=absent");
            return;
        }
        for (MBeanAttributeInfo attribute : server.getMBeanInfo(name).getAttributes()) {
            System.out.println("mbean." + attribute.getName() + "=" + server.getAttribute(name, attribute.getName()));
        }
    }
}
