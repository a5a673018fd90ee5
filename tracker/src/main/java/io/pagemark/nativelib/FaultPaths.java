package io.pagemark.nativelib;

import io.pagemark.linux.Errno;
import io.pagemark.linux.LinuxException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * FFM bindings to the native fault paths ({@code tracker/src/main/c/pagemark.h}): one native
 * tracker per tracked region, the signal ranges (the ranges the SIGSEGV/SIGBUS handlers handle, for
 * mprotect and uffd-sigbus) and the uffd-sync handler threads. The constants mirror pagemark.h;
 * {@link NativeLibrary} refuses a library built for another {@link #ABI_VERSION}, whose constants
 * differ ({@link #checkConstants}) or whose ring layout does ({@link RingLayout}).
 * <p>
 * Calls that may wait (joining handler threads, waiting for signal handlers to leave a range) are
 * ordinary downcalls: the calling Java thread is "in native" meanwhile and does not hold up safepoints.
 */
public final class FaultPaths {
    /** PM_ABI_VERSION of the library this class was written against. */
    public static final int ABI_VERSION = 10;

    /** Counters a native tracker keeps (PM_COUNTER_*, by explicit code). */
    public enum Counter {
        /** Faults resolved: one per unprotected run (block or window). */
        FAULTS(0),
        /** Ring entries that went to the spill bitmap because the ring stayed full. */
        SPILLED_ENTRIES(1),
        /** Records that found the ring full at first. */
        FULL_RING_WAITS(2),
        /** mprotect: faults that unprotected more than their run to stay under vm.max_map_count. */
        DEGRADATIONS(3),
        /** log2 of the largest block (fixed, or the whole region after mprotect's ENOMEM) a fault has used; adaptive windows aside. */
        LARGEST_BLOCK_LOG2(4),
        /** mprotect: unprotects retried at the largest block (ENOMEM). */
        UNPROTECT_RETRIES(5),
        /** mprotect: the VMA boundaries its writable pages make inside the region now, counted exactly by the fault paths. */
        VMA_BOUNDARIES(6),
        /** Copy-before-write: pages a fault path copied into the image. */
        PAGES_COPIED(7),
        /** mprotect: pages unprotected (and so reported) beyond the faults' runs, to join VMAs near vm.max_map_count. */
        JOINED_PAGES(8);

        final int code;

        Counter(int code) {
            this.code = code;
        }
    }

    /**
     * Copy-before-write page states (PM_PAGE_*): one int per page, CAS'd by the fault paths and
     * by the Java caller; see pagemark.h and {@code io.pagemark.CopyBeforeWrite}.
     */
    public static final int PAGE_UNCOPIED = 0;
    /** A fault path is copying the page into the image. */
    public static final int PAGE_COPYING = 1;
    /** A fault path copied the page into the image (published with release). */
    public static final int PAGE_COPIED_BY_FAULT = 2;
    /** The Java caller took the page: the copy it made before its CAS is the page as it was at the start. */
    public static final int PAGE_TAKEN_BY_CALLER = 3;

    private static final VarHandle ERRNO = Linker.Option.captureStateLayout()
            .varHandle(MemoryLayout.PathElement.groupElement("errno"));

    /** PM_MAX_HANDLERS. */
    public static final int MAX_HANDLER_THREADS = 16;
    /** PM_MAX_SIGNAL_RANGES: mprotect and uffd-sigbus arenas open at once. */
    public static final int MAX_SIGNAL_RANGES = 64;
    /** PM_CONSTANT_WINDOW_MAX_PAGES: the most pages an adaptive window unprotects at once. */
    public static final int WINDOW_MAX_PAGES = 64;
    /** PM_BLOCK_ADAPTIVE: the block log2 that asks {@link #newTracker} for an adaptive window. */
    public static final int BLOCK_ADAPTIVE = -1;

    private static final class Handles {
        static final MethodHandle TRACKER_NEW = bind("pm_tracker_new", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG,
                JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS), true);
        static final MethodHandle COUNTER = bind("pm_counter", FunctionDescriptor.of(JAVA_LONG, ADDRESS, JAVA_INT), false);
        static final MethodHandle WINDOW_RECORD_SHORT = bind("pm_window_record_short", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT), false);
        static final MethodHandle TRACKER_FREE = bind("pm_tracker_free", FunctionDescriptor.ofVoid(ADDRESS), false);
        static final MethodHandle SIGNAL_RANGE_ADD = bind("pm_signal_range_add", FunctionDescriptor.of(JAVA_INT, ADDRESS), false);
        static final MethodHandle SIGNAL_RANGE_STOP = bind("pm_signal_range_stop", FunctionDescriptor.ofVoid(JAVA_INT), false);
        static final MethodHandle SIGNAL_RANGE_IDLE = bind("pm_signal_range_idle", FunctionDescriptor.of(JAVA_INT, JAVA_INT), false);
        static final MethodHandle SIGNAL_RANGE_REMOVE = bind("pm_signal_range_remove", FunctionDescriptor.ofVoid(JAVA_INT), false);
        static final MethodHandle SIGNAL_RANGES = bind("pm_signal_ranges", FunctionDescriptor.of(JAVA_INT), false);
        static final MethodHandle SET_VMA_BUDGET = bind("pm_set_vma_budget", FunctionDescriptor.ofVoid(JAVA_LONG), false);
        static final MethodHandle SET_RECORDING = bind("pm_set_recording", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT), false);
        static final MethodHandle PROTECT_PAGES = bind("pm_protect_pages", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), false);
        static final MethodHandle REARM = bind("pm_rearm", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), false);
        static final MethodHandle TEST_REARM_SKIPS = bind("pm_test_rearm_skips_one_page", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT), false);
        static final MethodHandle COPY_START = bind("pm_copy_before_write_start",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS), false);
        static final MethodHandle COPY_STOP = bind("pm_copy_before_write_stop", FunctionDescriptor.ofVoid(ADDRESS), false);
        static final MethodHandle UNPROTECT = bind("pm_unprotect", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG), false);
        static final MethodHandle HANDLERS_START = bind("pm_handlers_start",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS), false);
        static final MethodHandle HANDLERS_STOP = bind("pm_handlers_stop", FunctionDescriptor.ofVoid(ADDRESS), false);
        static final MethodHandle HANDLERS_SNAPSHOT = bind("pm_handlers_snapshot", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS), false);
        static final MethodHandle HANDLERS_PASSED = bind("pm_handlers_passed", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), false);

        private static MethodHandle bind(String name, FunctionDescriptor descriptor, boolean captureErrno) {
            var symbol = NativeLibrary.lookup().find(name)
                    .orElseThrow(() -> new IllegalStateException("the native library lacks " + name));
            return captureErrno
                    ? Linker.nativeLinker().downcallHandle(symbol, descriptor, Linker.Option.captureCallState("errno"))
                    : Linker.nativeLinker().downcallHandle(symbol, descriptor);
        }
    }

    private FaultPaths() {}

    /** Refuses a library whose constants (pm_constant) differ from those mirrored here. */
    static void checkConstants(SymbolLookup lookup) {
        MethodHandle constant = Linker.nativeLinker().downcallHandle(
                lookup.find("pm_constant").orElseThrow(() -> new IllegalStateException("the native library lacks pm_constant")),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        // In PM_CONSTANT_* order.
        int[] mirrored = {Counter.values().length, PAGE_UNCOPIED, PAGE_COPYING, PAGE_COPIED_BY_FAULT, PAGE_TAKEN_BY_CALLER,
                MAX_HANDLER_THREADS, MAX_SIGNAL_RANGES, WINDOW_MAX_PAGES, BLOCK_ADAPTIVE};
        String[] names = {"PM_COUNTER_COUNT", "PM_PAGE_UNCOPIED", "PM_PAGE_COPYING", "PM_PAGE_COPIED_BY_FAULT",
                "PM_PAGE_TAKEN_BY_CALLER", "PM_MAX_HANDLERS", "PM_MAX_SIGNAL_RANGES", "1 << WINDOW_MAX_LOG2", "PM_BLOCK_ADAPTIVE"};
        for (int i = 0; i < mirrored.length; i++) {
            int found;
            try {
                found = (int) constant.invokeExact(i);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
            if (found != mirrored[i]) {
                throw new IllegalStateException("the native library's " + names[i] + " is " + found + ", this code mirrors "
                        + mirrored[i] + " (pagemark.h and io.pagemark.nativelib.FaultPaths disagree)");
            }
        }
    }

    /** Refuses a library whose PM_ABI_VERSION differs from {@link #ABI_VERSION}. */
    static void checkAbi(SymbolLookup lookup) {
        MethodHandle version = Linker.nativeLinker().downcallHandle(
                lookup.find("pm_abi_version").orElseThrow(() -> new IllegalStateException("the native library lacks pm_abi_version")),
                FunctionDescriptor.of(JAVA_INT));
        int found;
        try {
            found = (int) version.invokeExact();
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        if (found != ABI_VERSION) {
            throw new IllegalStateException("the native library has ABI version " + found + ", this code needs " + ABI_VERSION
                    + ": the jar and its native library come from different builds");
        }
    }

    /**
     * A native tracker of {@code pages} pages at {@code start}: faults unprotect aligned blocks of
     * {@code 2^blockLog2} pages, or with {@link #BLOCK_ADAPTIVE} an adaptive window from the faulting
     * page (one page, doubling up to {@link #WINDOW_MAX_PAGES} while a stream of faults continues); records go to the ring in {@code ringBuffer} (capacity plus
     * trailer, zeroed) or, when it stays full, to the spill bitmap. Both must outlive the tracker.
     *
     * @param backend the C backend that resolves its faults, by the name its file registers
     *                ({@code "mprotect"}, {@code "uffd-sigbus"}, {@code "uffd-sync"})
     * @param uffd    the registered userfaultfd, or -1 for mprotect
     */
    public static MemorySegment newTracker(String backend, long start, long pages, long pageSize, int uffd, int blockLog2,
                                           MemorySegment ringBuffer, int ringCapacity, MemorySegment spillBitmap) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = arena.allocate(Linker.Option.captureStateLayout());
            MemorySegment tracker = (MemorySegment) Handles.TRACKER_NEW.invokeExact(capture, arena.allocateFrom(backend), start,
                    pages, pageSize,
                    uffd, blockLog2, ringBuffer, ringCapacity, spillBitmap);
            if (tracker.address() == 0) {
                throw new LinuxException("pm_tracker_new", (int) ERRNO.get(capture, 0L), "no native backend '" + backend
                        + "', bad tracker arguments or out of memory");
            }
            return tracker;
        } catch (LinuxException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * Tests only: every fault path of {@code tracker} records its run {@code pages} pages short from now
     * on (0 undoes it): the deliberate bug a teeth test injects to show the checks catch a short record.
     */
    public static void recordRunsShort(MemorySegment tracker, int pages) {
        try {
            Handles.WINDOW_RECORD_SHORT.invokeExact(tracker, pages);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    public static long counter(MemorySegment tracker, Counter counter) {
        try {
            return (long) Handles.COUNTER.invokeExact(tracker, counter.code);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Frees a native tracker whose handler threads are stopped and whose range is no longer handled. */
    public static void freeTracker(MemorySegment tracker) {
        try {
            Handles.TRACKER_FREE.invokeExact(tracker);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * Installs the chained SIGSEGV/SIGBUS handlers (once per process) and adds the tracker's range to
     * the signal ranges they handle. Returns the range's slot, which outlives the tracker: see
     * {@link #removeSignalRange}.
     */
    public static int addSignalRange(MemorySegment tracker) {
        int result;
        try {
            result = (int) Handles.SIGNAL_RANGE_ADD.invokeExact(tracker);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        if (result < 0) {
            throw new LinuxException("pm_signal_range_add", -result, -result == Errno.ENOSPC
                    ? "at most " + MAX_SIGNAL_RANGES + " mprotect and uffd-sigbus arenas can be open at once"
                    : "installing the SIGSEGV/SIGBUS handlers failed");
        }
        return result;
    }

    /**
     * The signal handlers stop handling the slot's range: afterwards a fault in it is only retried,
     * and no handler touches the tracker. Waits for handlers still inside, then makes the range
     * writable before returning (a retried store never reaches a safepoint poll: see signal_ranges.c).
     */
    public static void stopSignalRange(int slot) {
        try {
            Handles.SIGNAL_RANGE_STOP.invokeExact(slot);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * True if no signal handler is inside the slot's fault path at this instant: every fault path
     * that unprotected a page of the range before this call has recorded it.
     */
    public static boolean signalRangeIdle(int slot) {
        try {
            return (int) Handles.SIGNAL_RANGE_IDLE.invokeExact(slot) != 0;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * Forgets the slot's range. Until then a fault in it is retried rather than passed to the JVM,
     * so call it only once the memory is unmapped and no thread can still be on its way into a
     * handler for a fault that raced close (for Java threads: after the arena's close handshake).
     */
    public static void removeSignalRange(int slot) {
        try {
            Handles.SIGNAL_RANGE_REMOVE.invokeExact(slot);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Signal ranges now, live or stopped. */
    public static int signalRanges() {
        try {
            return (int) Handles.SIGNAL_RANGES.invokeExact();
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** mprotect: how many more VMAs the trackers may create (vm.max_map_count minus those in use, minus headroom). */
    public static void setVmaBudget(long vmas) {
        try {
            Handles.SET_VMA_BUDGET.invokeExact(vmas);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * Whether the tracker's fault paths record what they unprotect in the ring: on from an arm (before
     * its {@link #rearm}) until a disarm, since only a collector reads the records; a cut or a snapshot
     * of an arena nobody collects needs the re-arm's marks alone. Off for a new tracker.
     */
    public static void setRecording(MemorySegment tracker, boolean on) {
        try {
            Handles.SET_RECORDING.invokeExact(tracker, on ? 1 : 0);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * The collector's re-protect of the pages set in {@code words} (a bitmap of the region, one long
     * per 64 pages, unchanged by the call): run by run with adjacent runs merged, or the whole
     * region where that costs less; the fault paths keep running. Returns the times the whole region
     * was protected instead after ENOMEM (mprotect near vm.max_map_count).
     */
    public static int protectPages(MemorySegment tracker, MemorySegment words) {
        int result;
        try {
            result = (int) Handles.PROTECT_PAGES.invokeExact(tracker, words);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        if (result < 0) throw new LinuxException("pm_protect_pages", -result, "re-protecting the collected pages failed");
        return result;
    }

    /**
     * Arm's re-protect: with the fault paths paused (in this one downcall, as {@link #startCopyBeforeWrite}),
     * protects every page unprotected since the last re-arm, and those set in {@code also} (a bitmap
     * as {@link #protectPages} takes, unchanged by the call), so that afterwards the whole region is
     * protected; O(those pages), not O(region). Returns as {@link #protectPages}.
     */
    public static int rearm(MemorySegment tracker, MemorySegment also) {
        int result;
        try {
            result = (int) Handles.REARM.invokeExact(tracker, also);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        if (result < 0) throw new LinuxException("pm_rearm", -result, "write-protecting the region failed");
        return result;
    }

    /** Teeth for tests: while on, every re-protect of the tracker leaves one of its pages writable (a lost write). */
    public static void testRearmSkipsOnePage(MemorySegment tracker, boolean skip) {
        try {
            Handles.TEST_REARM_SKIPS.invokeExact(tracker, skip ? 1 : 0);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * Switches copy-before-write on: pauses the fault paths (those in flight finish, new ones
     * wait), write-protects what is writable (as {@link #rearm}: afterwards the whole region is
     * protected), then has every fault path copy each uncopied page of the block it is about to
     * unprotect into {@code image} at the same offset. The pause and the protect run in this one
     * downcall: the writers it pauses hold up safepoints, so no Java code may run between them.
     *
     * @param states one int per page; valid until {@link #stopCopyBeforeWrite}. A snapshot passes all
     *               {@link #PAGE_UNCOPIED}; a cut all {@link #PAGE_TAKEN_BY_CALLER}, and the call sets its pages uncopied
     * @param image  the region's size; valid until {@link #stopCopyBeforeWrite}
     * @param delta  {@code MemorySegment.NULL} for a snapshot; for a cut, a bitmap of the region (a long per 64 pages) that
     *               receives the pages unprotected since the previous cut (every page at the first)
     * @return as {@link #rearm}
     */
    public static int startCopyBeforeWrite(MemorySegment tracker, MemorySegment states, MemorySegment image, MemorySegment delta) {
        int result;
        try {
            result = (int) Handles.COPY_START.invokeExact(tracker, states, image, delta);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        if (result < 0) {
            throw new LinuxException("pm_copy_before_write_start", -result, -result == Errno.EBUSY
                    ? "copy-before-write is already on for this tracker" : "write-protecting the region failed");
        }
        return result;
    }

    /** Switches copy-before-write off; when this returns no fault path uses the states or the image. Idempotent. */
    public static void stopCopyBeforeWrite(MemorySegment tracker) {
        try {
            Handles.COPY_STOP.invokeExact(tracker);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Makes pages [firstPage, firstPage + pageCount) writable outside a fault (waking uffd-sync writers waiting on them); 0 or -errno. */
    public static int unprotect(MemorySegment tracker, long firstPage, long pageCount) {
        try {
            return (int) Handles.UNPROTECT.invokeExact(tracker, firstPage, pageCount);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * uffd-sync and uffd-sigbus: starts {@code count} native handler threads on the tracker's
     * userfaultfd. They resolve its page faults (uffd-sync) and read its UFFD_EVENT_REMOVE events,
     * setting the removed pages' bits in {@code discards}.
     *
     * @param spinNanos   how long a handler polls the idle userfaultfd before it blocks (0: block at once)
     * @param pinToCpus   pin handler i to the i-th CPU this process may run on (modulo their number)
     * @param discards    one bit per page of the range, zeroed, outliving the handlers
     */
    public static void startHandlers(MemorySegment tracker, int count, long spinNanos, boolean pinToCpus, MemorySegment discards) {
        int result;
        try {
            result = (int) Handles.HANDLERS_START.invokeExact(tracker, count, spinNanos, pinToCpus ? 1 : 0, discards);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        if (result < 0) throw new LinuxException("pm_handlers_start(" + count + " threads)", -result, null);
    }

    /** Stops and joins the handler threads. */
    public static void stopHandlers(MemorySegment tracker) {
        try {
            Handles.HANDLERS_STOP.invokeExact(tracker);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** uffd-sync: each handler's progress counter, into {@code snapshot} ({@link #MAX_HANDLER_THREADS} longs). */
    public static void snapshotHandlers(MemorySegment tracker, MemorySegment snapshot) {
        try {
            Handles.HANDLERS_SNAPSHOT.invokeExact(tracker, snapshot);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** uffd-sync: true once every handler that was mid-fault at the snapshot has committed that fault's record. */
    public static boolean handlersPassed(MemorySegment tracker, MemorySegment snapshot) {
        try {
            return (int) Handles.HANDLERS_PASSED.invokeExact(tracker, snapshot) != 0;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }
}
