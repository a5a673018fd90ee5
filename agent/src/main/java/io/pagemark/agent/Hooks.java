package io.pagemark.agent;

import java.lang.foreign.MemorySegment;

/**
 * The entry points of the code the agent weaves into the runtime's classes (see {@link Advices}).
 * Public only because woven code runs in the runtime's classes; not an API.
 */
public final class Hooks {
    private static volatile CardMarkingReplacement active;

    private Hooks() {}

    static void activate(CardMarkingReplacement replacement) {
        active = replacement;
    }

    /** The runtime allocates its heap: tracked memory, or null to let the original method run. */
    public static MemorySegment reserveHeap(Object[] arguments) {
        CardMarkingReplacement r = active;
        return r == null ? null : r.reserve(arguments);
    }

    /** The collector is about to read its card table (mutators stopped). */
    public static void beforeCardScan(Object cardTableOwner) {
        CardMarkingReplacement r = active;
        if (r != null) r.beforeCardScan(cardTableOwner);
    }

    /** The collector is about to preclean its card table (mutators running). */
    public static void beforeCardPreclean(Object cardTableOwner) {
        CardMarkingReplacement r = active;
        if (r != null) r.beforeCardPreclean(cardTableOwner);
    }

    /** The collector is about to clear its card table (mutators stopped). */
    public static void beforeCardClear(Object cardTableOwner) {
        CardMarkingReplacement r = active;
        if (r != null) r.beforeCardClear(cardTableOwner);
    }
}
