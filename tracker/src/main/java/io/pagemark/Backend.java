package io.pagemark;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * How writes are caught. Pick one explicitly, or {@link #AUTO} to take the best one that works on
 * the running kernel (decided by a runtime probe, see {@link Capabilities}).
 *
 * <pre>{@code
 * Backend b = Backend.parse("uffd-async");   // the names used by the CLI, the agent and the probe
 * }</pre>
 */
public enum Backend {
    /** The best hardware backend usable here (see {@link Capabilities#autoChoice()}). */
    AUTO("auto"),
    /** userfaultfd write-protect, faults resolved by the kernel (WP_ASYNC), collected with PAGEMAP_SCAN. Linux 6.7+. */
    UFFD_ASYNC("uffd-async"),
    /** userfaultfd write-protect, faults resolved by a native handler thread. */
    UFFD_SYNC("uffd-sync"),
    /** userfaultfd write-protect with SIGBUS delivery, resolved on the faulting thread by a native signal handler. */
    UFFD_SIGBUS("uffd-sigbus"),
    /** PROT_READ plus a native SIGSEGV handler. */
    MPROTECT("mprotect"),
    /**
     * The kernel's soft-dirty PTE bits: collect reads pagemap bit 55, then clears the bits of the whole
     * process through /proc/self/clear_refs. Collects only while the arena's writers are stopped (a
     * {@link WriterPause} is required); at most one open soft-dirty arena per process.
     */
    SOFT_DIRTY("soft-dirty"),
    /** A software card table marked by the arena's write API: the baseline pagemark replaces. */
    CARD_TABLE("card-table");

    private final String id;

    Backend(String id) {
        this.id = id;
    }

    /** The backend's name as the CLI, the agent options and the probe spell it. */
    public String id() {
        return id;
    }

    /** True for the backends that catch writes in hardware (every one but {@link #CARD_TABLE}; {@link #AUTO} resolves to one). */
    public boolean isHardware() {
        return this != CARD_TABLE;
    }

    /**
     * True if this backend's collect is only correct while the arena's writers are stopped, so the
     * arena must be given a {@link WriterPause} ({@link TrackedArena.Builder#writerPause}). Only
     * {@link #SOFT_DIRTY}: reading and clearing its bits are two steps, and a write between them is lost.
     */
    public boolean needsWriterPause() {
        return this == SOFT_DIRTY;
    }

    /**
     * True for the backends whose fault path runs in user space before the faulting store completes
     * ({@link #UFFD_SYNC}, {@link #UFFD_SIGBUS}, {@link #MPROTECT}): only they can copy a page before
     * its first write lands ({@link TrackedArena#copyBeforeWrite}, live snapshots). uffd-async's faults
     * are resolved inside the kernel, soft-dirty and card-table only notice a write after it landed.
     */
    public boolean canCopyBeforeWrite() {
        return this == UFFD_SYNC || this == UFFD_SIGBUS || this == MPROTECT;
    }

    /** The backends that {@linkplain #canCopyBeforeWrite() can copy before write}, comma separated. */
    public static String copyBeforeWriteNames() {
        return Arrays.stream(values()).filter(Backend::canCopyBeforeWrite).map(Backend::id).collect(Collectors.joining(", "));
    }

    /**
     * The backend named {@code name} (case-insensitive; {@code _} and {@code -} are interchangeable).
     *
     * @throws IllegalArgumentException naming the bad value and the accepted names
     */
    public static Backend parse(String name) {
        if (name != null) {
            String normalized = name.trim().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
            for (Backend b : values()) if (b.id.equals(normalized)) return b;
        }
        throw new IllegalArgumentException("unknown backend '" + name + "'; accepted: " + acceptedNames());
    }

    /** The accepted backend names, comma separated. */
    public static String acceptedNames() {
        return Arrays.stream(values()).map(Backend::id).collect(Collectors.joining(", "));
    }

    @Override
    public String toString() {
        return id;
    }
}
