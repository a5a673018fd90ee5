package io.pagemark.agent;

import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Bad agent options, every one found in a run: one line per problem (the option, the bad value,
 * what is wrong, and what is accepted), and the options they are about, for the template of the
 * options line ({@link AgentOptions#template}). The message is those lines, one per line.
 */
final class BadOptionException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final List<String> problems;
    private final transient Set<Option> options;

    private BadOptionException(List<String> problems, Set<Option> options) {
        super(String.join("\n", problems));
        this.problems = List.copyOf(problems);
        this.options = options.isEmpty() ? Set.of() : EnumSet.copyOf(options);
    }

    BadOptionException(Option option, String value, String problem, String accepted) {
        this(List.of("bad option " + option.key + "=" + value + ": " + problem + "; accepted: " + accepted), Set.of(option));
    }

    /** A problem about {@code option} (null: about no option in particular) in words of its own. */
    BadOptionException(Option option, String line) {
        this(List.of(line), option == null ? Set.of() : Set.of(option));
    }

    static BadOptionException missing(Option option) {
        return new BadOptionException(option, "option " + option.key + " is missing; accepted: " + option.accepted);
    }

    static BadOptionException unknown(String key, String value) {
        return new BadOptionException(null, "unknown option " + key + (value == null ? "" : "=" + value) + "; accepted options: " + Option.keys());
    }

    static BadOptionException invalid(Option option, String value, String problem) {
        return new BadOptionException(option, value, problem, option.accepted);
    }

    /** Every problem of {@code all}, in order; null when there is none. */
    static BadOptionException of(List<BadOptionException> all) {
        if (all.isEmpty()) return null;
        Set<String> lines = new LinkedHashSet<>();   // card-scan's and card-clear's receivers can find the same covers problem
        Set<Option> about = EnumSet.noneOf(Option.class);
        for (BadOptionException e : all) {
            lines.addAll(e.problems);
            about.addAll(e.options);
        }
        return new BadOptionException(List.copyOf(lines), about);
    }

    /** One line per problem. */
    List<String> problems() {
        return problems;
    }

    /** The options the problems are about (an unknown option is about none). */
    Set<Option> options() {
        return options;
    }
}
