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
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The agent jar's command line ({@code java -jar pagemark-agent.jar ...}, which {@code ./pagemark attach} runs):
 * <pre>
 * attach &lt;pid&gt; &lt;options&gt;   load the agent into a running JVM; prints its outcome and its heaps, exit 0 when it
 *                           started and a heap is tracked (or none is known yet), 1 when it did not start or every
 *                           heap it met was allocated before the attach
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
     * 0 when the agent tracks, 1 when it does not (the reason is printed: the agent's problems, or
     * "0 tracked, N untracked heaps" when every heap a card scan met was allocated before the attach),
     * 2 for bad input.
     */
    static int attach(String pid, String options, Path agentJar, PrintStream out, PrintStream err) {
        if (!pid.matches("\\d+")) {
            err.println("pagemark attach: bad pid '" + pid + "'; accepted: the decimal process id of a running JVM");
            return 2;
        }
        try {
            AgentOptions.parse(options);
        } catch (BadOptionException e) {
            for (String line : e.problems()) err.println("pagemark agent: " + line);
            if (!e.options().isEmpty()) err.println("pagemark agent: the options line to start from: " + AgentOptions.template(options, e));
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
            String outcome = vm.getSystemProperties().getProperty(PagemarkAgent.ATTACH_PROPERTY, "error: no outcome from the agent");
            if (!outcome.startsWith("ok: ")) {
                err.println("pagemark agent in " + pid + ": " + outcome);
                return 1;
            }
            Heaps heaps = heaps(vm);
            if (heaps.tracked() == 0 && heaps.untracked() > 0) {
                err.println("pagemark agent in " + pid + ": " + outcome + "; 0 tracked, " + heaps.untracked() + " untracked heaps: allocated"
                        + " before the attach, they stay untracked (their collectors rescan every card, the barrier calls being gone)"
                        + " until they are gone; a heap allocated from now on is tracked");
                return 1;
            }
            out.println("pagemark agent in " + pid + ": " + outcome + "; " + heaps.tracked() + " tracked, " + heaps.untracked()
                    + " untracked heaps" + (heaps.scans() == 0 ? " (no card scan within " + HEAPS_WAIT_MILLIS + " ms)" : ""));
            return 0;
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

    /** How long the attach waits for the target's first card scan, which tells a tracked heap from one allocated before. */
    static final long HEAPS_WAIT_MILLIS = 3000;

    /** The target's heaps, as {@link PagemarkAgent#HEAPS_PROPERTY} says them. */
    private record Heaps(long tracked, long untracked, long scans) {}

    /** The target's heaps once a card scan ran there, or as they are after {@link #HEAPS_WAIT_MILLIS}. */
    private static Heaps heaps(VirtualMachine vm) throws IOException {
        long deadline = System.nanoTime() + HEAPS_WAIT_MILLIS * 1_000_000;
        while (true) {
            String status = vm.getSystemProperties().getProperty(PagemarkAgent.HEAPS_PROPERTY, "0 tracked, 0 untracked heaps, 0 card scans");
            Matcher m = HEAPS.matcher(status);
            if (!m.matches()) throw new IOException("unexpected heaps status from the agent: " + status);
            Heaps heaps = new Heaps(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Long.parseLong(m.group(3)));
            if (heaps.scans() > 0 || System.nanoTime() > deadline) return heaps;
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return heaps;
            }
        }
    }

    private static final Pattern HEAPS = Pattern.compile("(\\d+) tracked, (\\d+) untracked heaps, (\\d+) card scans");

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
