package io.pagemark.samples.runtime;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Checks the heap after a cycle, with every mutator stopped, independently of the collector's marks:
 * <ul>
 * <li>every object reachable from the roots is allocated, is the object its reference names (its id
 *     matches the reference's tag, so a freed and reused slot is caught) and is intact (checksum);</li>
 * <li>nothing unreachable survives more than one extra cycle: an object that was allocated and
 *     unreachable at the previous check must have been freed by now.</li>
 * </ul>
 */
final class Oracle {
    private static final int MAX_REPORTED = 5;

    private final Heap heap;
    /** One bit per 16-byte granule: every slot starts on one. */
    private final long[] visited;
    private long[] stack = new long[1024];
    private int depth;
    /** Offsets and ids of the objects found allocated but unreachable at the previous check. */
    private long[] garbageOffsets = new long[0];
    private long[] garbageIds = new long[0];

    Oracle(Heap heap) {
        this.heap = heap;
        this.visited = new long[(int) (((heap.capacity() >>> 4) + 63) >>> 6)];
    }

    /** The outcome of one check: reachable and unreachable-but-allocated objects, and what is wrong. */
    record Check(long reachable, long garbage, long problems, List<String> firstProblems) {
        boolean ok() {
            return problems == 0;
        }
    }

    /** What a check found wrong: the first few descriptions and the total. */
    private static final class Findings {
        final List<String> first = new ArrayList<>();
        long count;

        void add(String problem) {
            if (count++ < MAX_REPORTED) first.add(problem);
        }
    }

    Check check(Iterable<long[]> rootSets) {
        Arrays.fill(visited, 0);
        depth = 0;
        Findings findings = new Findings();
        long reachable = 0;
        for (long[] roots : rootSets) {
            for (long ref : roots) if (ref != 0) reachable += visit(ref, 0, -1, findings);
        }
        while (depth > 0) {
            long obj = stack[--depth];
            int refs = heap.refCount(obj);
            for (int i = 0; i < refs; i++) {
                long ref = heap.loadRef(obj, i);
                if (ref != 0) reachable += visit(ref, obj, i, findings);
            }
        }
        long garbage = checkGarbage(findings);
        return new Check(reachable, garbage, findings.count, List.copyOf(findings.first));
    }

    /**
     * Checks one reference, found in field {@code field} of {@code holder} (-1: in a root); returns 1
     * if it leads to an intact object not seen before (which is then scanned).
     */
    private int visit(long ref, long holder, int field, Findings findings) {
        long offset = Heap.offsetOf(ref);
        if (!heap.isAllocatedSlot(offset)) {
            findings.add("a reachable object at offset " + offset + " (from " + from(holder, field) + ") is not allocated: freed while live");
            return 0;
        }
        long id = heap.idOf(offset);
        if (Heap.tagOf(id) != Heap.tagOfRef(ref)) {
            findings.add("the reference to offset " + offset + " (from " + from(holder, field) + ") names another object than the one there (id "
                    + id + "): its object was freed while live and the slot reused");
            return 0;
        }
        if (!markVisited(offset)) return 0;
        String damage = heap.damage(offset);
        if (damage != null) {
            findings.add("the reachable object at offset " + offset + " (id " + id + ") is damaged: " + damage);
            return 0;
        }
        if (depth == stack.length) stack = Arrays.copyOf(stack, depth * 2);
        stack[depth++] = ref;
        return 1;
    }

    private static String from(long holder, int field) {
        return field < 0 ? "a root" : "field " + field + " of the object at " + Heap.offsetOf(holder);
    }

    private boolean markVisited(long offset) {
        long granule = offset >>> 4;
        int word = (int) (granule >>> 6);
        long bit = 1L << granule;
        if ((visited[word] & bit) != 0) return false;
        visited[word] |= bit;
        return true;
    }

    private boolean isVisited(long offset) {
        long granule = offset >>> 4;
        return (visited[(int) (granule >>> 6)] & (1L << granule)) != 0;
    }

    /** Checks last time's garbage is gone and records this time's. Returns how many unreachable objects are allocated. */
    private long checkGarbage(Findings findings) {
        for (int i = 0; i < garbageOffsets.length; i++) {
            long offset = garbageOffsets[i];
            if (heap.isAllocatedSlot(offset) && heap.idOf(offset) == garbageIds[i]) {
                findings.add("the object at offset " + offset + " (id " + garbageIds[i]
                        + ") was unreachable at the previous check and is still allocated after a whole cycle");
            }
        }
        LongList garbage = new LongList();
        heap.forEachAllocated(offset -> {
            if (!isVisited(offset)) garbage.add(offset);
        });
        garbageOffsets = garbage.toArray();
        garbageIds = new long[garbageOffsets.length];
        for (int i = 0; i < garbageOffsets.length; i++) garbageIds[i] = heap.idOf(garbageOffsets[i]);
        return garbageOffsets.length;
    }

    /** A growable list of longs. */
    private static final class LongList {
        private long[] values = new long[256];
        private int size;

        void add(long value) {
            if (size == values.length) values = Arrays.copyOf(values, size * 2);
            values[size++] = value;
        }

        long[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }
}
