package io.pagemark.agent;

import com.sun.tools.attach.AgentInitializationException;
import com.sun.tools.attach.AgentLoadException;
import com.sun.tools.attach.AttachNotSupportedException;
import com.sun.tools.attach.VirtualMachine;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The agent jar's command line ({@code java -jar pagemark-agent.jar ...}, which {@code ./pagemark attach} runs):
 * <pre>
 * attach &lt;pid&gt; &lt;options&gt;   load the agent into a running JVM; prints its outcome, exit 0 when it tracks
 * backends                  the hardware backends usable here, best first, one per line
 * </pre>
 */
public final class AgentCommand {
    private AgentCommand() {}

    public static void main(String[] args) {
        int exit;
        if (args.length == 3 && args[0].equals("attach")) {
            exit = attach(args[1], args[2], ownJar(), System.out, System.err);
        } else if (args.length == 1 && args[0].equals("backends")) {
            PagemarkAgent.usableHardwareBackends().forEach(b -> System.out.println(b.id()));
            exit = 0;
        } else {
            System.err.println("usage: attach <pid> <options> | backends   (options: " + Option.keys() + ")");
            exit = 2;
        }
        System.exit(exit);
    }

    /**
     * Loads {@code agentJar} into the JVM {@code pid} with {@code options}. The options are checked
     * here first (all but the class path, which only the target can check). Returns the exit code:
     * 0 when the agent tracks, 1 when it does not (the one-line reason is printed), 2 for bad input.
     */
    static int attach(String pid, String options, Path agentJar, PrintStream out, PrintStream err) {
        if (!pid.matches("\\d+")) {
            err.println("pagemark attach: bad pid '" + pid + "'; accepted: the decimal process id of a running JVM");
            return 2;
        }
        try {
            AgentOptions.parse(options);
        } catch (BadOptionException e) {
            err.println("pagemark agent: " + e.getMessage());
            return 2;
        }
        VirtualMachine vm;
        try {
            vm = VirtualMachine.attach(pid);
        } catch (AttachNotSupportedException | IOException e) {
            err.println("pagemark attach: cannot attach to " + pid + ": " + e.getMessage()
                    + " (is it a JVM of this user? a JVM started with -XX:+DisableAttachMechanism refuses)");
            return 1;
        }
        try {
            try {
                vm.loadAgent(agentJar.toString(), options);
            } catch (AgentLoadException | AgentInitializationException e) {
                err.println("pagemark attach: the agent did not start in " + pid + ": " + e.getMessage());
            }
            String status = vm.getSystemProperties().getProperty(PagemarkAgent.STATUS_PROPERTY, "error: no status from the agent");
            boolean ok = status.startsWith("ok: ");
            (ok ? out : err).println("pagemark agent in " + pid + ": " + status);
            return ok ? 0 : 1;
        } catch (IOException e) {
            err.println("pagemark attach: the connection to " + pid + " closed before the agent reported (did that JVM exit?): "
                    + e.getMessage());
            return 1;
        } finally {
            try {
                vm.detach();
            } catch (IOException ignored) {
                // the target went away: nothing left to release
            }
        }
    }

    /** The jar this class was loaded from: the agent jar to load into the target. */
    private static Path ownJar() {
        try {
            Path path = Path.of(AgentCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (!Files.isRegularFile(path)) throw new IllegalStateException("run this from pagemark-agent.jar, not from " + path);
            return path;
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
