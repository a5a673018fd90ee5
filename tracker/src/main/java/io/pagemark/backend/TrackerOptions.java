package io.pagemark.backend;

import io.pagemark.nativelib.FaultPaths;

/**
 * Settings a tracker is opened with, gathered by {@code TrackedArena.Builder}.
 *
 * @param forcePopulate   populate every page before each arm even where the kernel offers
 *                        UFFD_FEATURE_WP_UNPOPULATED (the path kernels before 6.4 take)
 * @param handlerThreads  uffd-sync: native handler threads reading the userfaultfd (1 to {@link #MAX_HANDLER_THREADS})
 * @param pinHandlerThreads uffd-sync: pin handler thread i to the i-th CPU this process may run on, so that with one per
 *                        CPU a faulting writer's own CPU always has a handler to wake: a local wake-up instead of a
 *                        cross-CPU one
 * @param handlerSpinMicros uffd-sync: how long an idle handler keeps polling the userfaultfd before it blocks
 *                        (0 to {@link #MAX_HANDLER_SPIN_MICROS}; 0: block at once)
 * @param bulkPages       mprotect, uffd-sync, uffd-sigbus: pages unprotected (and reported) per fault, an aligned
 *                        block; a power of two from 1 to {@link #MAX_BULK_PAGES}. More pages, fewer faults, less precision.
 *                        {@link #ADAPTIVE} (the default): an adaptive window instead, one page from the faulting one,
 *                        doubling up to {@link #WINDOW_MAX_PAGES} while a stream of faults continues (each right
 *                        after the previous window): sequential writers take few faults, random ones are reported exactly
 * @param ringCapacity    mprotect, uffd-sync, uffd-sigbus: bytes of the fault-record ring, a power of two from
 *                        {@link FaultRing#MIN_CAPACITY} to {@link FaultRing#MAX_CAPACITY}, or 0 for the default
 *                        (sized so that one epoch cannot fill it, see {@link FaultRing})
 */
public record TrackerOptions(boolean forcePopulate, int handlerThreads, boolean pinHandlerThreads, int handlerSpinMicros,
                             int bulkPages, int ringCapacity) {
    public static final int MAX_HANDLER_THREADS = FaultPaths.MAX_HANDLER_THREADS;
    /** The largest block a fault may unprotect: 4096 pages, 16 MiB of 4 KiB pages. */
    public static final int MAX_BULK_PAGES = 4096;
    public static final int MAX_HANDLER_SPIN_MICROS = 10_000;
    /** {@link #bulkPages} for the adaptive window (native tracker: pm_tracker_new's PM_BLOCK_ADAPTIVE). */
    public static final int ADAPTIVE = 0;
    /** The adaptive window's largest size, in pages (the native library's, checked when it loads). */
    public static final int WINDOW_MAX_PAGES = FaultPaths.WINDOW_MAX_PAGES;
    public static final TrackerOptions DEFAULTS = new TrackerOptions(false, 1, false, 0, ADAPTIVE, 0);

    /** @throws IllegalArgumentException naming the bad value and what is accepted */
    public TrackerOptions {
        checkHandlerThreads(handlerThreads);
        checkHandlerSpinMicros(handlerSpinMicros);
        if (bulkPages != ADAPTIVE) checkBulkPages(bulkPages);
        checkRingCapacity(ringCapacity);
    }

    public static void checkHandlerThreads(int handlerThreads) {
        if (handlerThreads < 1 || handlerThreads > MAX_HANDLER_THREADS) {
            throw new IllegalArgumentException("handlerThreads must be between 1 and " + MAX_HANDLER_THREADS + ", got " + handlerThreads);
        }
    }

    public static void checkHandlerSpinMicros(int micros) {
        if (micros < 0 || micros > MAX_HANDLER_SPIN_MICROS) {
            throw new IllegalArgumentException("handlerSpinMicros must be between 0 and " + MAX_HANDLER_SPIN_MICROS + ", got " + micros);
        }
    }

    public static void checkBulkPages(int bulkPages) {
        if (bulkPages < 1 || bulkPages > MAX_BULK_PAGES || Integer.bitCount(bulkPages) != 1) {
            throw new IllegalArgumentException("bulkPages must be a power of two from 1 to " + MAX_BULK_PAGES + ", got " + bulkPages);
        }
    }

    public static void checkRingCapacity(int ringCapacity) {
        if (ringCapacity != 0 && (Integer.bitCount(ringCapacity) != 1
                || ringCapacity < FaultRing.MIN_CAPACITY || ringCapacity > FaultRing.MAX_CAPACITY)) {
            throw new IllegalArgumentException("ringCapacity must be 0 (sized to the arena) or a power of two from "
                    + FaultRing.MIN_CAPACITY + " to " + FaultRing.MAX_CAPACITY + " bytes, got " + ringCapacity);
        }
    }

    /** log2 of the block a fault unprotects ({@link #bulkPages} pages), or {@link FaultPaths#BLOCK_ADAPTIVE}. */
    public int blockLog2() {
        return bulkPages == ADAPTIVE ? FaultPaths.BLOCK_ADAPTIVE : Integer.numberOfTrailingZeros(bulkPages);
    }

    /** The ring capacity for a region of {@code pageCount} pages: the configured one, or the default. */
    public int ringCapacityFor(long pageCount) {
        return ringCapacity != 0 ? ringCapacity : FaultRing.defaultCapacity(pageCount);
    }
}
