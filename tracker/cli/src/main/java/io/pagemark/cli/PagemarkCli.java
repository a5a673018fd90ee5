package io.pagemark.cli;

import io.pagemark.PagemarkException;
import io.pagemark.Version;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/**
 * The command line behind the {@code ./pagemark} launcher's tracker commands: {@code probe},
 * {@code verify} and {@code tour}, each with {@code --help}. Exit status: 0 ok, 1 the check failed (a
 * lost write, a write not caught), 2 bad input (a usage error, a backend not usable here). Every
 * error is one line starting {@code pagemark <command>:}.
 *
 * <pre>{@code
 * int status = PagemarkCli.run(new String[] {"verify", "--backend", "uffd-sync", "--seconds", "5"}, System.out, System.err);
 * }</pre>
 */
@Command(name = "pagemark", description = "pagemark's tracker commands.",
        subcommands = {ProbeCommand.class, VerifyCommand.class, TourCommand.class}, versionProvider = PagemarkCli.TrackerVersion.class)
public final class PagemarkCli implements Runnable {
    /** {@code --version}: "pagemark VERSION", the tracker's {@link Version}. */
    static final class TrackerVersion implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"pagemark " + Version.current()};
        }
    }

    @CommandLine.Option(names = "--version", versionHelp = true, description = "the version, then exit")
    private boolean version;

    /** A check failed. */
    static final int FAILED = 1;
    /** Bad input: a usage error, or a backend not usable here. */
    static final int BAD_INPUT = 2;

    @CommandLine.Mixin
    private HelpOption help;

    @CommandLine.Spec
    private CommandSpec spec;

    public static void main(String[] argv) {
        System.exit(run(argv, System.out, System.err));
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is needed: probe, verify or tour");
    }

    /** Runs one command line; returns its exit status. */
    static int run(String[] argv, PrintStream out, PrintStream err) {
        CommandLine cli = new CommandLine(new PagemarkCli());
        cli.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        cli.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        cli.setExitCodeExceptionMapper(e -> e instanceof CommandLine.ParameterException ? BAD_INPUT : FAILED);
        cli.setParameterExceptionHandler((e, args) -> {
            CommandLine command = e.getCommandLine();
            command.getErr().println(prefix(command) + lowerFirst(e.getMessage()) + "; usage: "
                    + command.getHelp().synopsis(0).strip().replaceAll("\\s*\n\\s*", " ") + " (--help says more)");
            return BAD_INPUT;
        });
        cli.setExecutionExceptionHandler((e, command, parsed) -> {
            if (!(e instanceof PagemarkException)) throw e;
            command.getErr().println(prefix(command) + e.getMessage());
            return BAD_INPUT;
        });
        return cli.execute(argv);
    }

    /** "pagemark verify: " for the verify command, "pagemark: " for the top level. */
    static String prefix(CommandLine command) {
        String name = command.getCommandSpec().qualifiedName(" ");
        return name + ": ";
    }

    private static String lowerFirst(String message) {
        return message.isEmpty() ? message : Character.toLowerCase(message.charAt(0)) + message.substring(1);
    }
}
