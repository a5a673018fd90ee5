package io.pagemark.samples.runtime;

import java.lang.invoke.MethodHandles;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.invoke.VarHandle;

/**
 * A mutator thread: random graph surgery on the heap through its root slots (see {@link Workload}).
 * References live only in roots and in the heap between operations; the safepoint poll sits
 * between operations, so the collector sees every reference a mutator holds.
 */
final class Mutator implements Runnable {
    /** Shared roots are written and read by different mutators: release publishes an initialized object. */
    static final VarHandle SHARED = MethodHandles.arrayElementVarHandle(long[].class);

    private final ManagedRuntime runtime;
    private final Heap heap;
    final int index;
    private final Workload mix;
    final long[] roots;
    private final int hotRoots;
    private final long[] shared;
    final Allocator allocator;
    private long random;
    private long nextSerial = 1;

    /** Read by the runtime after the thread ended or while it is stopped at a safepoint. */
    long operations;
    long referenceStores;
    long allocations;
    long allocatedBytes;
    /** CPU time (user and system: fault handling in the kernel counts) the thread spent, set when it ends. */
    long cpuNanos;
    /** Of which in the kernel (page faults, write-protect faults). */
    long systemNanos;

    Mutator(ManagedRuntime runtime, Heap heap, int index, RuntimeConfig config, long[] shared) {
        this.runtime = runtime;
        this.heap = heap;
        this.index = index;
        this.mix = config.workload();
        this.roots = new long[config.rootsPerMutator()];
        this.hotRoots = config.hotRoots();
        this.shared = shared;
        this.allocator = new Allocator(heap);
        this.random = Heap.mix(config.seed() * 0x9E3779B97F4A7C15L + index + 1) | 1;
    }

    @Override
    public void run() {
        Safepoints safepoints = runtime.safepoints();
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long cpuAtStart = threads.getCurrentThreadCpuTime(), userAtStart = threads.getCurrentThreadUserTime();
        try {
            // First the mutator's data: an object in every root, as an application loads its data at start.
            for (int slot = 0; slot < roots.length && !runtime.stopping(); slot++) {
                safepoints.poll(index);
                allocateInto(slot);
                operations++;
            }
            while (!runtime.stopping()) {
                safepoints.poll(index);
                step();
                operations++;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            runtime.fail("mutator " + index, t);
        } finally {
            cpuNanos = threads.getCurrentThreadCpuTime() - cpuAtStart;
            systemNanos = cpuNanos - (threads.getCurrentThreadUserTime() - userAtStart);
            safepoints.deregister(index);
        }
    }

    private void step() throws InterruptedException {
        int dice = nextInt(100);
        if ((dice -= mix.allocate()) < 0) allocateInto(randomSlot());
        else if ((dice -= mix.link()) < 0) link();
        else if ((dice -= mix.move()) < 0) move();
        else if ((dice -= mix.unlink()) < 0) unlink();
        else if ((dice -= mix.descend()) < 0) descend();
        else if ((dice -= mix.share()) < 0) share();
        else rotate();
    }

    private void allocateInto(int slot) throws InterruptedException {
        boolean array = nextInt(mix.arrayOneIn()) == 0;
        int refs = array ? mix.arrayMinRefs() + nextInt(mix.arrayMaxRefs() - mix.arrayMinRefs() + 1) : 1 + nextInt(4);
        int data = array ? 0 : nextInt(4);
        long obj = runtime.allocate(this, refs, data);
        if (obj == 0) return;
        // One reference to an existing object, half the time; the rest null. Every reference an
        // object holds when it leaves the roots keeps older objects alive: fewer than one on average
        // keeps the live set bounded, more makes it grow without end.
        heap.storeRef(obj, 0, nextInt(2) == 0 ? randomRoot() : 0);
        roots[slot] = obj;
        allocations++;
        referenceStores++;
    }

    private void link() {
        long from = randomRoot(), to = randomRoot();
        if (from == 0) return;
        heap.storeRef(from, nextInt(heap.refCount(from)), to);
        referenceStores++;
    }

    private void move() {
        long from = randomRoot(), to = randomRoot();
        if (from == 0 || to == 0) return;
        int field = nextInt(heap.refCount(from));
        heap.storeRef(to, nextInt(heap.refCount(to)), heap.loadRef(from, field));
        heap.storeRef(from, field, 0);
        referenceStores += 2;
    }

    /** Nulls a non-null reference field (the first from a random one on): links and unlinks must balance, arrays included. */
    private void unlink() {
        long obj = randomRoot();
        if (obj == 0) return;
        int n = heap.refCount(obj), start = nextInt(n);
        for (int i = 0; i < n; i++) {
            int field = (start + i) % n;
            if (heap.loadRef(obj, field) != 0) {
                heap.storeRef(obj, field, 0);
                referenceStores++;
                return;
            }
        }
    }

    private void descend() {
        int slot = randomSlot();
        long obj = roots[slot];
        if (obj != 0) roots[slot] = heap.loadRef(obj, nextInt(heap.refCount(obj)));
    }

    private void share() {
        int slot = nextInt(shared.length);
        if (nextInt(2) == 0) {
            SHARED.setRelease(shared, slot, randomRoot());
        } else {
            long obj = randomRoot();
            if (obj == 0) return;
            heap.storeRef(obj, nextInt(heap.refCount(obj)), (long) SHARED.getAcquire(shared, slot));
            referenceStores++;
        }
    }

    private void rotate() {
        long obj = randomRoot();
        if (obj == 0) return;
        int n = heap.refCount(obj);
        long first = heap.loadRef(obj, 0);
        for (int i = 0; i < n - 1; i++) heap.storeRef(obj, i, heap.loadRef(obj, i + 1));
        heap.storeRef(obj, n - 1, first);
        referenceStores += n;
    }

    private long randomRoot() {
        return roots[randomSlot()];
    }

    /** A root slot: a hot one, except one time in {@link Workload#coldOneIn()} any. */
    private int randomSlot() {
        return nextInt(mix.coldOneIn()) != 0 ? nextInt(hotRoots) : nextInt(roots.length);
    }

    /** A unique object id: a per-mutator serial and the mutator's index. */
    long nextId() {
        return (nextSerial++ << 8) | (index + 1);
    }

    /** xorshift64*: the mutators' random choices, cheap enough not to dominate an operation. */
    private int nextInt(int bound) {
        long x = random;
        x ^= x >>> 12;
        x ^= x << 25;
        x ^= x >>> 27;
        random = x;
        return (int) ((((x * 0x2545F4914F6CDD1DL) >>> 32) * bound) >>> 32);
    }
}
