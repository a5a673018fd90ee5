package io.pagemark.agent;

import io.pagemark.Backend;
import io.pagemark.Capabilities;
import io.pagemark.PagemarkException;
import io.pagemark.agent.events.AgentEvents;
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
 * <p>Options are checked first, all of them, against the class path too; then the backend is
 * chosen; only then is anything installed. On a bad option or an unusable backend the agent prints
 * one line naming the option, the bad value and the accepted values, and then, by
 * {@code on-error}: {@code fail} ends the JVM start with exit code 1; {@code continue} lets the JVM
 * run untracked (nothing is woven, the runtime keeps its own barrier). A late attach never stops
 * the running JVM: it stays untracked either way, and {@link AgentCommand} reports the line.
 *
 * <p>The outcome is left in the system property {@value #STATUS_PROPERTY}: {@code ok: ...},
 * {@code untracked: ...} or {@code error: ...}, which the attach command reads back.
 */
public final class PagemarkAgent {
    /** Where the agent leaves its outcome for the attach command. */
    public static final String STATUS_PROPERTY = "pagemark.agent.status";
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
        boolean continueOnError = AgentOptions.continueOnError(argument);
        System.setProperty(STATUS_PROPERTY, "starting");
        try {
            if (started) throw new BadOptionException("the pagemark agent is already running in this JVM; accepted: one agent per JVM");
            AgentOptions options = AgentOptions.parse(argument);
            options.checkClassPath(TypePool.Default.of(ClassFileLocator.ForClassLoader.ofSystemLoader()));
            Capabilities.Choice choice = chooseBackend(options.backend());
            install(options, choice, instrumentation);
            started = true;
            String summary = "card marking of " + (options.barrierMethod() != null ? options.barrierMethod() : "@" + options.barrierAnnotation())
                    + " replaced by " + choice.backend() + " (" + choice.why() + ")";
            System.setProperty(STATUS_PROPERTY, "ok: " + summary);
            System.err.println("pagemark agent: " + summary);
        } catch (RuntimeException e) {
            String reason = e instanceof BadOptionException || e instanceof PagemarkException ? e.getMessage() : "could not start: " + e;
            String line = "pagemark agent: " + reason;
            if (continueOnError || !jvmStart) {
                System.setProperty(STATUS_PROPERTY, (continueOnError ? "untracked: " : "error: ") + reason);
                System.err.println(line + (continueOnError ? " (on-error=continue: running untracked)" : ""));
                return;
            }
            System.setProperty(STATUS_PROPERTY, "error: " + reason);
            System.err.println(line);
            System.err.flush();
            // The JVM has not started the application yet: stop it without the stack trace a thrown exception would print.
            Runtime.getRuntime().halt(1);
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
        try {
            ManagementFactory.getPlatformMBeanServer().registerMBean(statistics, new ObjectName(MBEAN_NAME));
        } catch (javax.management.JMException e) {
            throw new IllegalStateException("cannot register the MBean " + MBEAN_NAME + ": " + e, e);
        }
        if (options.jfr()) AgentEvents.registerBackend(options.backend().id(), choice.backend().id(), choice.why());
        Reporter.start(statistics, options.reportInterval(), options.jfr(), replacement::trackedHeaps);
        Instrumenter.install(instrumentation, options, statistics);
    }
}
