package io.pagemark.agent;

import io.pagemark.Backend;
import io.pagemark.Capabilities;
import io.pagemark.PagemarkException;
import net.bytebuddy.dynamic.ClassFileLocator;
import net.bytebuddy.pool.TypePool;

import javax.management.ObjectName;
import java.lang.instrument.Instrumentation;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The java agent: {@code -javaagent:pagemark-agent.jar=<options>} at JVM start ({@link #premain})
 * or {@code pagemark attach <pid> <options>} into a running JVM ({@link #agentmain}).
 *
 * <p>Everything is checked first and every problem reported at once: the options on their own, the
 * run flags the tracker needs (the agent grants them itself: {@link RunFlagGrants}), the options
 * against the class path, the backend. Only then is anything installed. On problems the agent
 * prints one line per problem and a template of the options line, and then, by {@code on-error}:
 * {@code fail} ends the JVM start with exit code 1; {@code continue} lets the JVM run untracked
 * (nothing is woven, the runtime keeps its own barrier). A late attach never stops the running
 * JVM: it stays untracked either way, and {@link AgentCommand} reports the lines.
 *
 * <p>The running agent's outcome is in the system property {@value #STATUS_PROPERTY}: {@code ok: ...},
 * {@code untracked: ...} or {@code error: ...}; the outcome of the latest start (a second attach
 * included, which never changes the running agent's status) in {@value #ATTACH_PROPERTY}; the heaps
 * in {@value #HEAPS_PROPERTY} ({@link CardMarkingReplacement#heapsStatus}). The attach command reads them back.
 */
public final class PagemarkAgent {
    /** The running agent's outcome, for the attach command. */
    public static final String STATUS_PROPERTY = "pagemark.agent.status";
    /** The outcome of the latest start of the agent in this JVM (a refused second attach included). */
    public static final String ATTACH_PROPERTY = "pagemark.agent.attach";
    /** The heaps the running agent knows: {@code T tracked, U untracked heaps, S card scans}. */
    public static final String HEAPS_PROPERTY = "pagemark.agent.heaps";
    static final String MBEAN_NAME = "io.pagemark:type=Agent";
    private static boolean started;

    private PagemarkAgent() {}

    public static void premain(String argument, Instrumentation instrumentation) {
        start(argument, instrumentation, true);
    }

    public static void agentmain(String argument, Instrumentation instrumentation) {
        start(argument, instrumentation, false);
    }

    private static synchronized void start(String argument, Instrumentation instrumentation, boolean jvmStart) {
        if (started) {
            // The running agent's status stays as it is: only this attach's outcome is reported.
            System.setProperty(ATTACH_PROPERTY, "error: the pagemark agent is already running in this JVM ("
                    + System.getProperty(STATUS_PROPERTY) + "); accepted: one agent per JVM");
            System.err.println("pagemark agent: a second agent start refused: the pagemark agent is already running in this JVM");
            return;
        }
        boolean continueOnError = AgentOptions.continueOnError(argument);
        System.setProperty(STATUS_PROPERTY, "starting");
        List<String> lines;
        try {
            Checked checked = check(argument, instrumentation);
            AgentOptions options = checked.options();
            Capabilities.Choice choice = checked.choice();
            install(options, choice, instrumentation);
            started = true;
            String summary = "card marking of " + (options.barrierMethod() != null ? options.barrierMethod() : "@" + options.barrierAnnotation())
                    + " replaced by " + choice.backend() + " (" + choice.why() + ")";
            System.setProperty(STATUS_PROPERTY, "ok: " + summary);
            System.setProperty(ATTACH_PROPERTY, "ok: " + summary);
            System.err.println("pagemark agent: " + summary);
            return;
        } catch (BadOptionException e) {
            lines = new ArrayList<>(e.problems());
            if (!e.options().isEmpty()) lines.add("the options line to start from: " + AgentOptions.template(argument, e));
        } catch (PagemarkException e) {
            lines = List.of(e.getMessage());
        } catch (RuntimeException e) {
            lines = List.of("could not start: " + e);
        }
        String outcome = (continueOnError ? "untracked: " : "error: ") + String.join("\n", lines);
        System.setProperty(STATUS_PROPERTY, outcome);
        System.setProperty(ATTACH_PROPERTY, outcome);
        for (int i = 0; i < lines.size(); i++) {
            System.err.println("pagemark agent: " + lines.get(i) + (continueOnError && i == lines.size() - 1 ? " (on-error=continue: running untracked)" : ""));
        }
        if (continueOnError || !jvmStart) return;
        System.err.flush();
        // The JVM has not started the application yet: stop it without the stack trace a thrown exception would print.
        Runtime.getRuntime().halt(1);
    }

    /** Options that passed every check, and the backend they chose. */
    private record Checked(AgentOptions options, Capabilities.Choice choice) {}

    /**
     * The options checked on their own, the run flags granted (the backend probe needs them), the
     * options checked against the class path, the backend chosen.
     *
     * @throws BadOptionException with every problem found
     */
    private static Checked check(String argument, Instrumentation instrumentation) {
        List<BadOptionException> problems = new ArrayList<>();
        AgentOptions options = null;
        Capabilities.Choice choice = null;
        try {
            options = AgentOptions.parse(argument);
        } catch (BadOptionException e) {
            problems.add(e);
        }
        List<String> flags = RunFlagGrants.grant(instrumentation);
        for (String flag : flags) problems.add(new BadOptionException(null, flag));
        if (options != null) {
            try {
                options.checkClassPath(TypePool.Default.of(ClassFileLocator.ForClassLoader.ofSystemLoader()));
            } catch (BadOptionException e) {
                problems.add(e);
            }
            if (flags.isEmpty()) {
                try {
                    choice = chooseBackend(options.backend());
                    checkBulkPages(options.bulkPages(), choice.backend());
                } catch (BadOptionException e) {
                    problems.add(e);
                }
            }
        }
        BadOptionException bad = BadOptionException.of(problems);
        if (bad != null) throw bad;
        return new Checked(options, choice);
    }

    /**
     * A fixed {@code bulk-pages} block needs a backend with a native fault path.
     *
     * @throws BadOptionException when {@code backend} has none
     */
    static void checkBulkPages(Integer bulkPages, Backend backend) {
        if (bulkPages != null && !backend.has(Backend.Trait.NATIVE_FAULT_PATH)) {
            throw BadOptionException.invalid(Option.BULK_PAGES, String.valueOf(bulkPages), "the backend is " + backend + ", which has no native fault path");
        }
    }

    /**
     * The backend to track with: auto's choice, or the requested one if it is usable here.
     *
     * @throws BadOptionException naming the backends usable here when it is not
     */
    static Capabilities.Choice chooseBackend(Backend requested) {
        if (requested == Backend.AUTO) {
            try {
                return Capabilities.autoChoice();
            } catch (PagemarkException e) {
                throw new BadOptionException(Option.BACKEND, "auto", e.getMessage(), "a hardware backend usable here, and none is");
            }
        }
        Capabilities.Support support = Capabilities.probe().backends().get(requested);
        if (!support.usable()) {
            throw new BadOptionException(Option.BACKEND, requested.id(), "not usable here: " + support.reason(),
                    "auto" + usableHardwareBackends().stream().map(b -> ", " + b.id()).collect(Collectors.joining()));
        }
        return new Capabilities.Choice(requested, "requested");
    }

    /** The hardware backends usable on this machine, auto's choice first. */
    static List<Backend> usableHardwareBackends() {
        Capabilities capabilities = Capabilities.probe();
        List<Backend> usable = new ArrayList<>();
        try {
            usable.add(Capabilities.autoChoice().backend());
        } catch (PagemarkException none) {
            return usable;
        }
        capabilities.backends().forEach((backend, support) -> {
            if (backend.isHardware() && support.usable() && !usable.contains(backend)) usable.add(backend);
        });
        return usable;
    }

    private static void install(AgentOptions options, Capabilities.Choice choice, Instrumentation instrumentation) {
        if (!instrumentation.isRetransformClassesSupported()) {
            throw new IllegalStateException("this JVM cannot retransform classes (the agent jar's manifest says Can-Retransform-Classes: true)");
        }
        AgentStatistics statistics = new AgentStatistics(choice.backend().id(), choice.why());
        CardMarkingReplacement replacement = new CardMarkingReplacement(options, choice.backend(), statistics);
        Hooks.activate(replacement);
        System.setProperty(HEAPS_PROPERTY, replacement.heapsStatus());
        try {
            ManagementFactory.getPlatformMBeanServer().registerMBean(statistics, new ObjectName(MBEAN_NAME));
        } catch (javax.management.JMException e) {
            throw new IllegalStateException("cannot register the MBean " + MBEAN_NAME + ": " + e, e);
        }
        Reporter.start(statistics, options.reportInterval());
        Instrumenter.install(instrumentation, options, statistics);
    }
}
