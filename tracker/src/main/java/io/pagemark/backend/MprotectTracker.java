package io.pagemark.backend;

import io.pagemark.linux.Kernel;
import io.pagemark.linux.Libc;
import io.pagemark.nativelib.FaultPaths;
import io.pagemark.nativelib.NativeLibrary;

import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * mprotect: the region is made PROT_READ; a write raises SIGSEGV on the writing thread, and the
 * chained native handler (C) takes only write faults inside tracked regions (everything else goes
 * to the JVM's handler: implicit null checks, safepoint polls, stack banging): it makes the block
 * writable with mprotect, records it and returns, and the store is retried.
 * <p>
 * Every writable run inside the read-only region is a VMA of its own, and a process may hold at
 * most vm.max_map_count VMAs. The native side keeps a bit per writable page and counts exactly the VMA
 * boundaries they make; a fault whose page would pass the budget (refreshed by an arm at most once a
 * second: vm.max_map_count minus the mappings in use, minus headroom) unprotects a page more instead, one
 * that joins two writable runs, and records it too, which {@link #describe()} reports. Kernel-mode writes
 * (read(2) into the arena) into a read-only page fail with EFAULT. Each fault takes the mm's
 * mmap_lock for writing, so writers on several threads serialize.
 */
public final class MprotectTracker extends NativeFaultTracker {
    private MprotectTracker(MappedRegion region, TrackerOptions options) {
        super(region, options, "mprotect", -1); // mprotect.c
    }

    /** Creates the tracker and adds the region to the SIGSEGV handler's signal ranges. */
    public static MprotectTracker open(MappedRegion region, TrackerOptions options) {
        giveTheMappingItsAnonVma(region);
        return handlingFaultsInSignalHandlers(new MprotectTracker(region, options));
    }

    /**
     * Writes one page before the first arm splits the mapping, so that its VMA gets an anon_vma which
     * every piece split from it shares. Otherwise each writable run faulted in later gets one of its
     * own, the kernel cannot merge runs with different anon_vmas when the page between them becomes
     * writable, and the process holds more VMAs than the handler's boundary count (tracker/README.md,
     * "mprotect and vm.max_map_count"), unseen by the vm.max_map_count budget. The write adds 0 atomically:
     * the contents stay, and the JIT cannot drop it as a store of the value just loaded.
     */
    private static void giveTheMappingItsAnonVma(MappedRegion region) {
        FIRST_WORD.getAndAdd(region.memory(), 0L, 0L);
    }

    private static final VarHandle FIRST_WORD = ValueLayout.JAVA_LONG.varHandle();

    /** Why mprotect cannot run here, or null if it can. */
    public static String unusableReason() {
        NativeLibrary.Status status = NativeLibrary.status();
        return status.loaded() ? null : "the native library is not loaded: " + status.detail();
    }

    /** The VMAs the handler may still create: vm.max_map_count minus what is mapped now, minus headroom for everyone else. */
    private static long vmaBudget() {
        long max = Kernel.maxMapCount();
        if (max <= 0) return Long.MAX_VALUE / 4; // unreadable: rely on the ENOMEM fallback alone
        long headroom = Math.max(1024, max / 16);
        return Math.max(64, max - Kernel.mappingCount() - headroom);
    }

    /**
     * How often arming refreshes the budget at most. Counting the mappings reads /proc/self/maps, which
     * costs O(the process's VMAs): milliseconds inside a cut's or an arm's pause once an arena is split
     * into thousands of writable runs (docs/cuts.md). The budget is an estimate (an ENOMEM the estimate
     * missed protects the whole range instead), so one a second old does as well.
     */
    private static final long BUDGET_REFRESH_NANOS = 1_000_000_000L;
    /** When the budget was last set (System.nanoTime), or 0 before the first arm of this process; guarded by the class. */
    private static long budgetSetAt;

    @Override
    protected void beforeProtectingAll() {
        synchronized (MprotectTracker.class) {
            long now = System.nanoTime();
            if (budgetSetAt == 0 || now - budgetSetAt >= BUDGET_REFRESH_NANOS) refreshVmaBudget();
        }
    }

    /** Sets the budget now, however recently it was set (a test that set its own puts the real one back with this). */
    static synchronized void refreshVmaBudget() {
        FaultPaths.setVmaBudget(vmaBudget());
        long now = System.nanoTime();
        budgetSetAt = now == 0 ? 1 : now;
    }

    @Override
    public boolean resolvesKernelFaults() {
        return false; // the page is read-only to the kernel too: EFAULT
    }

    @Override
    public String describe() {
        StringBuilder sb = new StringBuilder("mprotect (PROT_READ + chained SIGSEGV handler, ").append(describeCommon());
        long degradations = counter(FaultPaths.Counter.DEGRADATIONS);
        if (degradations > 0) {
            sb.append("; near vm.max_map_count (").append(Kernel.maxMapCount()).append(") degraded ").append(degradations)
                    .append(degradations == 1 ? " time" : " times").append(", joining ").append(counter(FaultPaths.Counter.JOINED_PAGES))
                    .append(" more pages to writable neighbours");
            long largestBlock = 1L << counter(FaultPaths.Counter.LARGEST_BLOCK_LOG2);
            if (largestBlock > Math.max(1, options.bulkPages())) sb.append(", and blocks of up to ").append(largestBlock).append(" pages after ENOMEM");
        }
        long fallbacks = wholeRegionFallbacks();
        if (fallbacks > 0) sb.append("; re-protected the whole region ").append(fallbacks).append(" times on ENOMEM");
        return sb.append(')').toString();
    }

    /** Already writable, normally: stopping the signal range unprotected it; this covers that unprotect having failed. */
    @Override
    protected void stopTracking() {
        Libc.mprotect(region.address(), region.size(), Libc.PROT_READ | Libc.PROT_WRITE, Libc.NO_HINT);
    }
}
