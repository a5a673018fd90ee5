package io.pagemark.agent;

/**
 * A bad agent option. Its message is the one line the agent prints: the option, the bad value,
 * what is wrong, and what is accepted.
 */
final class BadOptionException extends RuntimeException {
    BadOptionException(Option option, String value, String problem, String accepted) {
        super("bad option " + option.key + "=" + value + ": " + problem + "; accepted: " + accepted);
    }

    BadOptionException(String message) {
        super(message);
    }

    static BadOptionException missing(Option option) {
        return new BadOptionException("option " + option.key + " is missing; accepted: " + option.accepted);
    }

    static BadOptionException unknown(String key, String value) {
        return new BadOptionException("unknown option " + key + (value == null ? "" : "=" + value) + "; accepted options: " + Option.keys());
    }

    static BadOptionException invalid(Option option, String value, String problem) {
        return new BadOptionException(option, value, problem, option.accepted);
    }
}
