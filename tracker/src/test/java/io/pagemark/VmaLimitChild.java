package io.pagemark;

import io.pagemark.nativelib.FaultPaths;

import java.util.BitSet;
import java.util.SplittableRandom;

/**
 * Writes {@code args[0]} random pages of a 1 GiB mprotect arena without collecting, then checks the
 * collect reports every one of them. With {@code args[1]} = "wrong-budget" the VMA budget is set far
 * above vm.max_map_count after arm, so the handler's estimate is no help and it meets the kernel's
 * ENOMEM for real. Run in a child JVM: at the limit, any other mmap of the process fails too.
 */
public final class VmaLimitChild {
    private VmaLimitChild() {}

    public static void main(String[] args) {
        int writes = Integer.parseInt(args[0]);
        boolean wrongBudget = args.length > 1 && args[1].equals("wrong-budget");
        long pages = (1L << 30) / 4096;
        try (TrackedArena arena = TrackedArena.builder().size(1L << 30).backend(Backend.MPROTECT).open()) {
            arena.arm();
            if (wrongBudget) FaultPaths.setVmaBudget(1L << 40);
            BitSet written = new BitSet();
            SplittableRandom random = new SplittableRandom(7);
            while (written.cardinality() < writes) {
                int page = (int) random.nextLong(pages);
                arena.putByte((long) page * 4096 + 17, (byte) 1);
                written.set(page);
            }
            BitSet reported = arena.collect().bitSet();
            BitSet missed = (BitSet) written.clone();
            missed.andNot(reported);
            System.out.println("written=" + written.cardinality() + " reported=" + reported.cardinality() + " missed=" + missed.cardinality());
            System.out.println("describe=" + arena.describe());
            arena.putByte(0, (byte) 2);
            System.out.println("afterCollect=" + arena.collect());
        }
    }
}
