package io.pagemark.samples.runtime;

/**
 * How a {@link ManagedRuntime} is sized and what its mutators do.
 *
 * @param heapBytes         heap capacity (rounded up to 32 KiB blocks)
 * @param mutators          mutator threads
 * @param rootsPerMutator   root slots each mutator owns (its stack and locals, in a real runtime)
 * @param hotRoots          the first this many of them are the hot ones (see {@link Workload#coldOneIn()});
 *                          the others hold the long-lived bulk of the live data
 * @param sharedRoots       root slots shared by all mutators (their globals)
 * @param cyclePercent      a cycle starts once the mutators allocated this percentage of the heap's
 *                          capacity since the previous one ended (or at once when one runs out)
 * @param oracle            check the heap after every cycle (an extra pause, reported apart)
 * @param seed              seed of the mutators' random choices
 * @param workload          the mix of operations
 */
public record RuntimeConfig(long heapBytes, int mutators, int rootsPerMutator, int hotRoots, int sharedRoots,
                            int cyclePercent, boolean oracle, long seed, Workload workload) {
    public RuntimeConfig {
        if (mutators < 1 || mutators > 255) throw new IllegalArgumentException("mutators must be 1..255 (object ids hold the mutator in 8 bits), got " + mutators);
        if (rootsPerMutator < 1) throw new IllegalArgumentException("rootsPerMutator must be at least 1, got " + rootsPerMutator);
        if (hotRoots < 1 || hotRoots > rootsPerMutator) {
            throw new IllegalArgumentException("hotRoots must be 1..rootsPerMutator (" + rootsPerMutator + "), got " + hotRoots);
        }
        if (sharedRoots < 1) throw new IllegalArgumentException("sharedRoots must be at least 1, got " + sharedRoots);
        long minimum = minimumHeapBytes(mutators);
        if (heapBytes < minimum) {
            throw new IllegalArgumentException("a heap of " + heapBytes / 1024 + " KiB is too small for " + mutators + " mutators: each may hold a "
                    + Heap.BLOCK_BYTES / 1024 + " KiB block of each of the " + Heap.SLOT_SIZES.length + " size classes; give at least "
                    + ((minimum + (1 << 20) - 1) >> 20) + " MiB, or fewer mutators");
        }
        if (cyclePercent < 1 || cyclePercent > 100) {
            throw new IllegalArgumentException("cyclePercent must be 1..100, got " + cyclePercent);
        }
    }

    /**
     * The smallest heap for {@code mutators}: twice the blocks they may hold at once (one per size
     * class each), so that the blocks being filled never take the heap the live data needs.
     */
    public static long minimumHeapBytes(int mutators) {
        return 2L * mutators * Heap.SLOT_SIZES.length * Heap.BLOCK_BYTES;
    }

    /** Roots of all mutators together per MiB of heap in {@link #sized}: the defaults' 65536 roots on 64 MiB. */
    private static final long ROOTS_PER_MIB = 1024;

    /** 64 MiB, 2 mutators with 32768 roots of which 1024 hot, the mixed workload, oracle on. */
    public static RuntimeConfig defaults() {
        return new RuntimeConfig(64L << 20, 2, 32768, 1024, 64, 25, true, 42, Workload.MIXED);
    }

    /**
     * The {@link #defaults()} on a heap of {@code heapBytes} shared by {@code mutators}: the roots,
     * which hold the data the mutators load at start, scale with the heap and are split among the
     * mutators, so that data fills the same share of any heap (a fixed root count would overflow a
     * small heap). Up to 1024 of each mutator's roots are hot. {@code sized(64 MiB, 2)} equals the defaults.
     */
    public static RuntimeConfig sized(long heapBytes, int mutators) {
        // The constructor rejects a bad mutator count or a heap too small for it: here only no division by zero.
        int roots = (int) Math.max(1, Math.min(1 << 24, ROOTS_PER_MIB * (heapBytes >>> 20) / Math.max(1, mutators)));
        RuntimeConfig d = defaults();
        return new RuntimeConfig(heapBytes, mutators, roots, Math.min(d.hotRoots, roots), d.sharedRoots, d.cyclePercent, d.oracle, d.seed, d.workload);
    }

    public RuntimeConfig withHeapBytes(long bytes) {
        return new RuntimeConfig(bytes, mutators, rootsPerMutator, hotRoots, sharedRoots, cyclePercent, oracle, seed, workload);
    }

    public RuntimeConfig withMutators(int count) {
        return new RuntimeConfig(heapBytes, count, rootsPerMutator, hotRoots, sharedRoots, cyclePercent, oracle, seed, workload);
    }

    public RuntimeConfig withCyclePercent(int percent) {
        return new RuntimeConfig(heapBytes, mutators, rootsPerMutator, hotRoots, sharedRoots, percent, oracle, seed, workload);
    }

    public RuntimeConfig withOracle(boolean on) {
        return new RuntimeConfig(heapBytes, mutators, rootsPerMutator, hotRoots, sharedRoots, cyclePercent, on, seed, workload);
    }

    public RuntimeConfig withSeed(long value) {
        return new RuntimeConfig(heapBytes, mutators, rootsPerMutator, hotRoots, sharedRoots, cyclePercent, oracle, value, workload);
    }

    public RuntimeConfig withWorkload(Workload mix) {
        return new RuntimeConfig(heapBytes, mutators, rootsPerMutator, hotRoots, sharedRoots, cyclePercent, oracle, seed, mix);
    }
}
