package io.pagemark;

import io.pagemark.backend.CardTableTracker;
import io.pagemark.backend.CopiesBeforeWrite;
import io.pagemark.backend.MappedRegion;
import io.pagemark.backend.MprotectTracker;
import io.pagemark.backend.NativeFaultTracker;
import io.pagemark.backend.PageTracker;
import io.pagemark.backend.SoftDirtyTracker;
import io.pagemark.backend.TrackerOptions;
import io.pagemark.backend.UffdAsyncTracker;
import io.pagemark.backend.UffdSigbusTracker;
import io.pagemark.backend.UffdSyncTracker;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * How writes are caught. Pick one explicitly, or {@link #AUTO} to take the best one that works on
 * the running kernel (decided by a runtime probe, see {@link Capabilities}).
 * <p>
 * This enum is the one table of the backends: each constant says its name, its {@link Trait}s,
 * which builder options apply to it, how it is probed and how it is opened; everything else (auto's
 * preference, the arena's checks, the probe, the test matrix) is derived from it. The traits that a
 * tracker's type encodes (copy-before-write, native fault path) are read off that type.
 *
 * <pre>{@code
 * Backend b = Backend.parse("uffd-async");   // the names used by the CLI, the agent and the probe
 * List<Backend> snapshotCapable = Backend.with(Backend.Trait.COPY_BEFORE_WRITE);
 * }</pre>
 */
public enum Backend {
    /** The best hardware backend usable here (see {@link Capabilities#autoChoice()}). */
    AUTO("auto", null, null, null, Set.of(), Set.of()),
    /** userfaultfd write-protect, faults resolved by the kernel (WP_ASYNC), collected with PAGEMAP_SCAN. Linux 6.7+. */
    UFFD_ASYNC("uffd-async", UffdAsyncTracker.class, UffdAsyncTracker::unusableReason, UffdAsyncTracker::open,
            Set.of(Trait.HARDWARE, Trait.USERFAULTFD, Trait.SEES_DISCARDS), Set.of()),
    /** userfaultfd write-protect, faults resolved by a native handler thread. */
    UFFD_SYNC("uffd-sync", UffdSyncTracker.class, UffdSyncTracker::unusableReason, UffdSyncTracker::open,
            Set.of(Trait.HARDWARE, Trait.USERFAULTFD, Trait.SEES_DISCARDS),
            Set.of(Option.HANDLER_THREADS, Option.PIN_HANDLER_THREADS, Option.HANDLER_SPIN_MICROS, Option.BULK_PAGES,
                    Option.RING_CAPACITY)),
    /** userfaultfd write-protect with SIGBUS delivery, resolved on the faulting thread by a native signal handler. */
    UFFD_SIGBUS("uffd-sigbus", UffdSigbusTracker.class, UffdSigbusTracker::unusableReason, UffdSigbusTracker::open,
            Set.of(Trait.HARDWARE, Trait.USERFAULTFD, Trait.SIGNAL_HANDLER, Trait.SEES_DISCARDS),
            Set.of(Option.BULK_PAGES, Option.RING_CAPACITY)),
    /** PROT_READ plus a native SIGSEGV handler. */
    MPROTECT("mprotect", MprotectTracker.class, MprotectTracker::unusableReason, MprotectTracker::open,
            Set.of(Trait.HARDWARE, Trait.SIGNAL_HANDLER), Set.of(Option.BULK_PAGES, Option.RING_CAPACITY)),
    /**
     * The kernel's soft-dirty PTE bits: collect reads pagemap bit 55, then clears the bits of the whole
     * process through /proc/self/clear_refs. Collects only while the arena's writers are stopped (a
     * {@link WriterPause} is required); at most one open soft-dirty arena per process.
     */
    SOFT_DIRTY("soft-dirty", SoftDirtyTracker.class, SoftDirtyTracker::unusableReason, SoftDirtyTracker::open,
            Set.of(Trait.HARDWARE, Trait.NEEDS_WRITER_PAUSE), Set.of()),
    /** A software card table marked by the arena's write API: the baseline pagemark replaces. */
    CARD_TABLE("card-table", CardTableTracker.class, () -> null, CardTableTracker::open, Set.of(), Set.of());

    /**
     * What a backend is and can do, for choosing one and for filtering the test matrix
     * ({@link #with}). A trait is a fact of the table, or of the tracker's type where the type
     * encodes it.
     */
    public enum Trait {
        /** Catches writes in hardware (the MMU), whatever code makes them; every backend but card-table. */
        HARDWARE,
        /**
         * Its fault path runs in user space before the faulting store completes, so it can copy a page
         * before its first write lands ({@link TrackedArena#copyBeforeWrite}, live snapshots). uffd-async's
         * faults are resolved inside the kernel, soft-dirty and card-table only notice a write after it
         * landed. Read off the tracker's type.
         */
        COPY_BEFORE_WRITE,
        /** Its faults are resolved by pagemark's native fault paths (C) and recorded in a ring. Read off the tracker's type. */
        NATIVE_FAULT_PATH,
        /** It tracks through a userfaultfd registration. */
        USERFAULTFD,
        /**
         * Its write faults are resolved in a signal handler on the writing thread (SIGSEGV, SIGBUS): a
         * kernel-mode write into a protected page (read(2) into the arena) fails with EFAULT instead.
         */
        SIGNAL_HANDLER,
        /** Its collect is only correct while the arena's writers are stopped: the arena needs a {@link WriterPause}. */
        NEEDS_WRITER_PAUSE,
        /**
         * It sees memory the kernel empties by itself: a page emptied by a plain madvise
         * (MADV_DONTNEED, MADV_FREE once the kernel reclaims the page) is reported, and so is every
         * later write to it. The others see the later writes (card-table: through the write API) but
         * not the emptying: discard through {@link TrackedArena#discard} there (docs/discards.md).
         */
        SEES_DISCARDS
    }

    /** The builder options that apply to some backends only, by their builder method's name. */
    enum Option {
        HANDLER_THREADS("handlerThreads"),
        PIN_HANDLER_THREADS("pinHandlerThreads"),
        HANDLER_SPIN_MICROS("handlerSpinMicros"),
        BULK_PAGES("bulkPages"),
        RING_CAPACITY("ringCapacity");

        final String builderMethod;

        Option(String builderMethod) {
            this.builderMethod = builderMethod;
        }
    }

    private final String id;
    private final Set<Trait> traits;
    private final Set<Option> options;
    /** Null if the backend can run here, else why not (AUTO: null, it is resolved, not probed). */
    private final Supplier<String> probe;
    private final BiFunction<MappedRegion, TrackerOptions, PageTracker> opener;

    Backend(String id, Class<? extends PageTracker> tracker, Supplier<String> probe,
            BiFunction<MappedRegion, TrackerOptions, PageTracker> opener, Set<Trait> traits, Set<Option> options) {
        this.id = id;
        EnumSet<Trait> all = EnumSet.noneOf(Trait.class);
        all.addAll(traits);
        if (tracker != null && CopiesBeforeWrite.class.isAssignableFrom(tracker)) all.add(Trait.COPY_BEFORE_WRITE);
        if (tracker != null && NativeFaultTracker.class.isAssignableFrom(tracker)) all.add(Trait.NATIVE_FAULT_PATH);
        this.traits = Set.copyOf(all);
        this.options = options;
        this.probe = probe;
        this.opener = opener;
    }

    /** The backend's name as the CLI, the agent options and the probe spell it. */
    public String id() {
        return id;
    }

    /** This backend's traits (none for {@link #AUTO}, which resolves to a backend). */
    public Set<Trait> traits() {
        return traits;
    }

    /** Whether this backend has {@code trait}. */
    public boolean has(Trait trait) {
        return traits.contains(trait);
    }

    /** True for the backends that catch writes in hardware (every one but {@link #CARD_TABLE}; {@link #AUTO} resolves to one). */
    public boolean isHardware() {
        return this == AUTO || has(Trait.HARDWARE);
    }

    /** {@link Trait#NEEDS_WRITER_PAUSE}: the arena must be given a {@link WriterPause} ({@link TrackedArena.Builder#writerPause}). */
    public boolean needsWriterPause() {
        return has(Trait.NEEDS_WRITER_PAUSE);
    }

    /** {@link Trait#COPY_BEFORE_WRITE}: {@link TrackedArena#copyBeforeWrite} and live snapshots work on it. */
    public boolean canCopyBeforeWrite() {
        return has(Trait.COPY_BEFORE_WRITE);
    }

    /** {@link Trait#SEES_DISCARDS}, in words: how a discard of this backend's arena is reported (describe(), the probe). */
    public String discards() {
        if (this == AUTO) throw new IllegalArgumentException("auto is resolved to a backend first");
        return has(Trait.SEES_DISCARDS)
                ? "discards seen (MADV_DONTNEED, a reclaimed MADV_FREE page: reported with every later write)"
                : "discards reported through discard() only (a plain MADV_DONTNEED or MADV_FREE is not seen; later writes are)";
    }

    /** The backends (never {@link #AUTO}) that have every trait given, in this table's order. */
    public static List<Backend> with(Trait... traits) {
        return Arrays.stream(values()).filter(b -> b != AUTO && b.traits.containsAll(List.of(traits))).toList();
    }

    /** The backends that {@linkplain #canCopyBeforeWrite() can copy before write}, comma separated. */
    public static String copyBeforeWriteNames() {
        return names(with(Trait.COPY_BEFORE_WRITE));
    }

    /**
     * The order {@link #AUTO} tries: the hardware backends that need nothing of the caller (no
     * writer pause), in this table's order, which is best first.
     */
    static List<Backend> autoPreference() {
        return with(Trait.HARDWARE).stream().filter(b -> !b.needsWriterPause()).toList();
    }

    /** Whether builder option {@code option} applies to this backend. */
    boolean accepts(Option option) {
        return options.contains(option);
    }

    /** The backends {@code option} applies to, comma separated. */
    static String acceptingNames(Option option) {
        return names(Arrays.stream(values()).filter(b -> b.accepts(option)).toList());
    }

    /** Null if this backend can run here, else why not. */
    String unusableReason() {
        if (this == AUTO) throw new IllegalArgumentException("auto is resolved, not probed");
        return probe.get();
    }

    /** Opens this backend's tracker on {@code region} (the caller probed it: {@link #unusableReason()}). */
    PageTracker open(MappedRegion region, TrackerOptions trackerOptions) {
        if (this == AUTO) throw new IllegalArgumentException("auto is resolved to a backend before one is opened");
        return opener.apply(region, trackerOptions);
    }

    /**
     * The backend named {@code name} (case-insensitive; {@code _} and {@code -} are interchangeable).
     *
     * @throws IllegalArgumentException naming the bad value and the accepted names
     */
    public static Backend parse(String name) {
        if (name != null) {
            String normalized = name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
            for (Backend b : values()) if (b.id.equals(normalized)) return b;
        }
        throw new IllegalArgumentException("unknown backend '" + name + "'; accepted: " + acceptedNames());
    }

    /** The accepted backend names, comma separated. */
    public static String acceptedNames() {
        return names(List.of(values()));
    }

    private static String names(List<Backend> backends) {
        return backends.stream().map(Backend::id).collect(Collectors.joining(", "));
    }

    @Override
    public String toString() {
        return id;
    }
}
