package io.pagemark.samples.cli;

import io.pagemark.Backend;
import picocli.CommandLine;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.TypeConversionException;

import java.util.List;
import java.util.function.Supplier;

/**
 * The samples' command lines, on picocli: an options class declares its {@code @Option}s (and a
 * {@code -h/--help} option with {@code usageHelp = true}) under {@code @Command(name = "pagemark
 * <command>")}, and implements {@link Checked} for what picocli cannot check alone. Bad input is one
 * line, {@code pagemark <command>: what was wrong; usage: ...}, exit status 2; {@code --help} prints
 * the usage, exit status 0; the program's own status is 0 ok, 1 failed.
 *
 * <pre>{@code
 * public static void main(String[] args) {
 *     CommandLines.exit(args, Options::new, options -> run(options) ? 0 : 1);
 * }
 * }</pre>
 */
public final class CommandLines {
    private CommandLines() {}

    /** Options with checks of their own, run after parsing: throw IllegalArgumentException naming the option. */
    public interface Checked {
        void check();
    }

    /** A program run on parsed options: its exit status. */
    @FunctionalInterface
    public interface Program<T> {
        int run(T options) throws Exception;
    }

    /** Converts a backend name (Backend.parse), saying which names are accepted. */
    public static final class BackendName implements ITypeConverter<Backend> {
        @Override
        public Backend convert(String value) {
            try {
                return Backend.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    /**
     * Fills {@code options} from {@code args} and checks them.
     *
     * @throws IllegalArgumentException one line: what was wrong, and the usage
     */
    public static <T> T parse(T options, List<String> args) {
        parse(new CommandLine(options), options, args.toArray(String[]::new), false);
        return options;
    }

    /** Parses {@code args} into fresh options, runs {@code program} on them and exits with its status (see the class comment). */
    public static <T> void exit(String[] args, Supplier<T> fresh, Program<T> program) throws Exception {
        T options = fresh.get();
        CommandLine commandLine = new CommandLine(options);
        boolean help;
        try {
            help = parse(commandLine, options, args, true);
        } catch (IllegalArgumentException e) {
            System.err.println(commandLine.getCommandName() + ": " + e.getMessage());
            System.exit(2);
            return;
        }
        if (help) {
            commandLine.usage(System.out);
            System.exit(0);
            return;
        }
        System.exit(program.run(options));
    }

    /** True if help was asked for (then nothing is checked, when {@code helpWins}). */
    private static boolean parse(CommandLine commandLine, Object options, String[] args, boolean helpWins) {
        try {
            boolean help = commandLine.parseArgs(args).isUsageHelpRequested();
            if (help && helpWins) return true;
            if (options instanceof Checked checked) checked.check();
            return help;
        } catch (ParameterException | IllegalArgumentException e) {
            throw new IllegalArgumentException(lowerFirst(e.getMessage()) + "; usage: " + synopsis(commandLine), e);
        }
    }

    private static String synopsis(CommandLine commandLine) {
        return commandLine.getHelp().synopsis(0).strip().replaceAll("\\s*\n\\s*", " ") + " (--help says more)";
    }

    private static String lowerFirst(String message) {
        return message == null || message.isEmpty() ? String.valueOf(message) : Character.toLowerCase(message.charAt(0)) + message.substring(1);
    }
}
