package io.pagemark.agent;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The agent's options ({@code -javaagent:pagemark-agent.jar=name=value,name=value,...}): each one's
 * name, default, and the accepted values as the one-line error message states them.
 */
enum Option {
    BACKEND("backend", "auto", "auto", "auto or a hardware backend usable here"),
    BULK_PAGES("bulk-pages", "window", "window", "window (an adaptive window) or a power of two: the pages each fault unprotects and"
            + " reports, on the backends with a native fault path (uffd-sync, uffd-sigbus, mprotect)"),
    BARRIER("barrier", null, "<class>#<method>",
            "<class>#<method> or @<annotation class> of the write barrier, e.g. com.example.CardTable#mark"),
    BARRIER_SCOPE("barrier-scope", "the barrier's package", "<package>:<package>",
            "package prefixes separated by ':' whose classes get the barrier calls removed, e.g. com.example.rt:com.example.vm"),
    HEAP("heap", null, "<class>#<method>", "<class>#<method> of the runtime's heap allocation: returns java.lang.foreign.MemorySegment,"
            + " takes the size as its one long parameter (and optionally the java.lang.foreign.Arena that owns it)"),
    CARD_SCAN("card-scan", null, "<class>#<method>",
            "<class>#<method> of the instance method the collector calls, mutators stopped, before it reads its card table"),
    CARD_CLEAR("card-clear", "none", "<class>#<method>",
            "<class>#<method> of the instance method the collector calls to clear its card table"),
    CARD_PRECLEAN("card-preclean", "none", "<class>#<method>",
            "<class>#<method> of the instance method the collector calls, mutators running, before it reads its card table"
            + " concurrently ahead of the card scan (a preclean)"),
    SCAN_STYLE("scan-style", "read", "read", "read (the card scan reads the cards; a card-clear wipes them, and tracking pauses from"
            + " a scan to the next clear) or drain (the card scan clears the cards it reads, and may run several times a cycle:"
            + " tracking never pauses)"),
    CARDS("cards", null, "<field path>", "a field path from the card-scan receiver to the card table, a byte[] or a java.lang.foreign.MemorySegment,"
            + " e.g. cards or table.bytes"),
    COVERS("covers", null, "<field path>", "a field path from the card-scan (and card-clear) receiver to the java.lang.foreign.MemorySegment"
            + " the card table covers, card 0 being its first bytes"),
    CARD_SHIFT("card-shift", "9", "9", "an integer 0..30: a card covers 2^n bytes"),
    DIRTY_CARD("dirty-card", "1", "1", "an integer 0..255: the byte value the barrier stores into a dirty card"),
    REPORT_INTERVAL("report-interval", "1s", "1s", "0 (off) or a duration of whole ms, s or m, e.g. 500ms, 1s, 2m"),
    JFR("jfr", "on", "on", "on or off"),
    ON_ERROR("on-error", "fail", "fail", "fail (a bad option or an unusable backend stops the JVM start) or continue (the JVM runs untracked)");

    final String key;
    /** The default as documented, or null for a required option. */
    final String defaultValue;
    /** What the template of the options line shows where a value is missing or bad. */
    final String placeholder;
    final String accepted;

    Option(String key, String defaultValue, String placeholder, String accepted) {
        this.key = key;
        this.defaultValue = defaultValue;
        this.placeholder = placeholder;
        this.accepted = accepted;
    }

    boolean required() {
        return defaultValue == null;
    }

    static Option byKey(String key) {
        String normalized = key.trim().toLowerCase(Locale.ROOT);
        for (Option o : values()) if (o.key.equals(normalized)) return o;
        return null;
    }

    static String keys() {
        return Arrays.stream(values()).map(o -> o.key).collect(Collectors.joining(", "));
    }
}
