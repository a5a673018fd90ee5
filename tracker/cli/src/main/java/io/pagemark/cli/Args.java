package io.pagemark.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A subcommand's options: {@code --flag} and {@code --name VALUE}. Anything else is a usage error
 * naming the bad argument and what the subcommand accepts.
 */
final class Args {
    private final Map<String, String> values = new LinkedHashMap<>();

    private Args() {}

    /**
     * Parses {@code args} against the {@code flags} (no value) and {@code options} (one value) the
     * subcommand accepts; {@code usage} is the accepted form, shown in errors.
     */
    static Args parse(String command, List<String> args, Set<String> flags, Set<String> options, String usage) {
        Args parsed = new Args();
        List<String> rest = new ArrayList<>(args);
        while (!rest.isEmpty()) {
            String arg = rest.removeFirst();
            if (flags.contains(arg)) {
                parsed.values.put(arg, "true");
            } else if (options.contains(arg)) {
                if (rest.isEmpty() || rest.getFirst().startsWith("--")) {
                    throw new UsageError("pagemark " + command + ": " + arg + " needs a value; usage: pagemark " + command + " " + usage);
                }
                parsed.values.put(arg, rest.removeFirst());
            } else {
                throw new UsageError("pagemark " + command + ": unknown argument '" + arg + "'; usage: pagemark " + command + " " + usage);
            }
        }
        return parsed;
    }

    boolean has(String flag) {
        return values.containsKey(flag);
    }

    String get(String option, String fallback) {
        return values.getOrDefault(option, fallback);
    }

    /** A positive whole number, or a usage error naming the option and the value. */
    long positiveLong(String command, String option, long fallback) {
        String v = values.get(option);
        if (v == null) return fallback;
        try {
            long n = Long.parseLong(v);
            if (n > 0) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new UsageError("pagemark " + command + ": " + option + " must be a positive whole number, got '" + v + "'");
    }

    /** A command-line mistake: printed as one line, exit status 2. */
    static final class UsageError extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageError(String message) {
            super(message);
        }
    }
}
