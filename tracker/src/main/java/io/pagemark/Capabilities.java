package io.pagemark;

import io.pagemark.linux.Kernel;
import io.pagemark.linux.Libc;
import io.pagemark.linux.Uffd;
import io.pagemark.nativelib.NativeLibrary;

import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * What this machine can do, found by trying (the capability probe). {@code ./pagemark probe} prints
 * it; {@link Backend#AUTO} resolves from it, never from the kernel version string.
 *
 * <pre>{@code
 * Capabilities caps = Capabilities.probe();
 * if (caps.backends().get(Backend.UFFD_ASYNC).usable()) { ... }
 * System.out.println(caps.autoChoice());   // uffd-async: the first usable of uffd-async, ...
 * }</pre>
 *
 * @param kernelRelease        as {@code uname -r} prints it
 * @param pageSize             the base page size in bytes
 * @param transparentHugePages the THP mode (always, madvise, never)
 * @param maxMapCount          vm.max_map_count, or -1 if unreadable
 * @param userfaultfd          how a userfaultfd can be opened here: "syscall", "syscall+user-mode-only",
 *                             "/dev/userfaultfd", or null when it cannot
 * @param userfaultfdLimitation what that way costs, or null when nothing (user-mode-only: kernel-mode writes fail)
 * @param userfaultfdAttempts  the outcome of each way tried, in order
 * @param userfaultfdFeatures  the UFFDIO_API feature bits offered, by name
 * @param pagemapScan          whether the PAGEMAP_SCAN ioctl works
 * @param softDirty            whether soft-dirty works (self-test: clear_refs, write, pagemap bit 55)
 * @param softDirtyDetail      why soft-dirty does not work, or null
 * @param nativeLibrary        whether pagemark's native library is loaded
 * @param nativeLibraryDetail  where it was loaded from, or why not
 * @param backends             per backend: usable here, and if not, why
 */
public record Capabilities(String kernelRelease, long pageSize, String transparentHugePages, long maxMapCount,
                           String userfaultfd, String userfaultfdLimitation, List<String> userfaultfdAttempts,
                           List<String> userfaultfdFeatures,
                           boolean pagemapScan, boolean softDirty, String softDirtyDetail,
                           boolean nativeLibrary, String nativeLibraryDetail, Map<Backend, Support> backends) {

    /** Whether a backend can run here; {@code reason} says why not (null when usable). */
    public record Support(boolean usable, String reason) {
        static Support of(String unusableReason) {
            return new Support(unusableReason == null, unusableReason);
        }
    }

    /** {@link Backend#AUTO}'s resolution: the backend chosen and why. */
    public record Choice(Backend backend, String why) {
        @Override
        public String toString() {
            return backend + ": " + why;
        }
    }

    /** Probes this machine now (opens and closes a userfaultfd, runs the soft-dirty self-test, ...). */
    public static Capabilities probe() {
        Uffd.Access access = Kernel.userfaultfdAccess();
        String softDirtyMissing = Kernel.softDirtyMissing();
        NativeLibrary.Status nativeLibrary = NativeLibrary.status();
        Map<Backend, Support> backends = new EnumMap<>(Backend.class);
        for (Backend b : Backend.values()) {
            if (b != Backend.AUTO) backends.put(b, Support.of(b.unusableReason()));
        }
        return new Capabilities(Kernel.release(), Libc.pageSize(), Kernel.transparentHugePages(), Kernel.maxMapCount(),
                access.available() ? access.mode().label() : null, access.available() ? access.mode().limitation() : null,
                List.copyOf(access.attempts()),
                Uffd.featureList(Kernel.userfaultfdFeatures()), Kernel.pagemapScanMissing() == null,
                softDirtyMissing == null, softDirtyMissing,
                nativeLibrary.loaded(), nativeLibrary.detail(),
                Collections.unmodifiableMap(backends));
    }

    /**
     * What {@link Backend#AUTO} picks here: the first usable backend of uffd-async (no fault path in
     * user space at all), uffd-sync, uffd-sigbus, mprotect. Soft-dirty (needs stopped writers) and
     * card-table (sees only writes through the write API) are never picked.
     *
     * @throws PagemarkException when none is usable, with each one's reason
     */
    public static Choice autoChoice() {
        StringBuilder reasons = new StringBuilder();
        for (Backend b : Backend.autoPreference()) {
            String why = b.unusableReason();
            if (why == null) {
                return new Choice(b, reasons.isEmpty()
                        ? "the best backend, usable here"
                        : "the best usable here (" + reasons + ")");
            }
            if (!reasons.isEmpty()) reasons.append("; ");
            reasons.append(b).append(": ").append(why);
        }
        throw new PagemarkException("no hardware backend is usable here (" + reasons
                + "); the card-table backend needs no kernel support: choose it explicitly");
    }
}
