package io.pagemark.samples.runtime;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The runtime's off-heap heap: objects in a {@link MemorySegment}, references as offsets into it,
 * a block allocator with side bitmaps, and the reference store that calls the write barrier.
 *
 * <h2>Objects</h2>
 * An object is a 24-byte header and 8-byte fields: {@code [id][refCount|dataCount][checksum][refs...][data...]}.
 * The id is unique per allocation; the checksum covers id, shape and data (data never changes after
 * allocation), so the oracle can tell an intact object from a freed or reused slot.
 * A reference is {@code (tag << 32) | offset}, where the tag is derived from the target's id: a
 * reference to a slot that was freed and reused no longer matches its new occupant. Null is 0.
 *
 * <h2>Blocks</h2>
 * The heap is cut into 32 KiB blocks; a block holds slots of one size class (32 to 1024 bytes, so
 * objects straddle 512-byte cards and 4 KiB pages). Per block there are three side bitmaps on the
 * Java heap, never in the heap memory itself (a collector that wrote mark bits into the heap would
 * dirty every page it marks): allocated, marked (by the collector), and fresh (allocated while a
 * marking is running: black, so they survive the cycle).
 *
 * <h2>Who writes what</h2>
 * A mutator owns the blocks it allocates into and alone sets their allocated and fresh bits. The
 * collector alone sets mark bits, while marking. Sweeping runs after the remark, block by block,
 * by the collector or by a mutator that needs a block, each block claimed once. Block pools are
 * guarded by one lock.
 *
 * <h2>Memory ordering</h2>
 * Reference stores and loads are plain 8-byte aligned accesses (atomic: a concurrent marker reads a
 * whole old or new reference). A new object is published the way the JVM publishes its own objects:
 * a release fence ends {@link #initialize}, the concurrent marker loads references with acquire,
 * and a mutator that loads a reference from the heap reads the object through it (an address
 * dependency, which no JIT or CPU reorders). Everything else the collector reads with the world
 * stopped, after the safepoint's happens-before edge.
 */
public final class Heap implements AutoCloseable {
    static final int BLOCK_SHIFT = 15;
    static final int BLOCK_BYTES = 1 << BLOCK_SHIFT;
    private static final long BLOCK_MASK = BLOCK_BYTES - 1;
    /** Bitmap words per block: 1024 slots at the smallest size class. */
    static final int BITMAP_WORDS = BLOCK_BYTES / 32 / Long.SIZE;
    static final int[] SLOT_SIZES = {32, 48, 64, 80, 96, 128, 160, 192, 256, 320, 384, 512, 640, 768, 1024};
    static final byte NO_CLASS = -1;

    static final long HEADER_BYTES = 24;
    private static final long ID = 0, SHAPE = 8, CHECKSUM = 16;
    /** Largest object: header plus this many fields. */
    static final int MAX_FIELDS = (int) ((SLOT_SIZES[SLOT_SIZES.length - 1] - HEADER_BYTES) / Long.BYTES);

    /** Aligned 8-byte accesses: atomic. */
    private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG;
    private static final VarHandle FIELD = WORD.varHandle();

    private final Arena owner;
    private final MemorySegment memory;
    private final CardTable cards;
    private final int blockCount;
    private final byte[] blockClass;
    private final long[] allocated;
    private final long[] marked;
    private final long[] fresh;

    private final Object poolLock = new Object();
    private final IntList freeBlocks = new IntList();
    private final IntList[] partialBlocks = new IntList[SLOT_SIZES.length];

    /** Blocks to sweep after a remark; claimed by index, done when {@link #unsweptBlocks} reaches 0. */
    private final IntList sweepList = new IntList();
    private final AtomicInteger sweepClaim = new AtomicInteger();
    private final AtomicInteger unsweptBlocks = new AtomicInteger();

    /** Set by the collector while all mutators are stopped; mutators read it between safepoints. */
    boolean markingActive;

    /** A heap of {@code capacity} bytes (rounded up to 32 KiB blocks), with its own card table. */
    public Heap(long capacity) {
        long bytes = (capacity + BLOCK_MASK) & ~BLOCK_MASK;
        if (bytes <= 0 || bytes > (1L << 32)) {
            throw new IllegalArgumentException("heap capacity must be between 1 byte and 4 GiB (references hold 32-bit offsets), got " + capacity);
        }
        this.owner = Arena.ofShared();
        this.memory = reserveMemory(owner, bytes);
        this.cards = new CardTable(memory);
        this.blockCount = (int) (bytes >>> BLOCK_SHIFT);
        this.blockClass = new byte[blockCount];
        this.allocated = new long[blockCount * BITMAP_WORDS];
        this.marked = new long[blockCount * BITMAP_WORDS];
        this.fresh = new long[blockCount * BITMAP_WORDS];
        for (int i = 0; i < partialBlocks.length; i++) partialBlocks[i] = new IntList();
        for (int b = blockCount - 1; b >= 0; b--) {
            blockClass[b] = NO_CLASS;
            freeBlocks.add(b);
        }
    }

    /**
     * Where the heap's memory comes from: {@code bytes} of zeroed, page-aligned memory that lives as
     * long as {@code owner}. The one place the heap is allocated (a tool can hand out other memory here).
     */
    static MemorySegment reserveMemory(Arena owner, long bytes) {
        return owner.allocate(bytes, 4096);
    }

    public CardTable cards() {
        return cards;
    }

    public long capacity() {
        return memory.byteSize();
    }

    // ---- references ----

    static long offsetOf(long ref) {
        return ref & 0xFFFF_FFFFL;
    }

    static int tagOf(long id) {
        return (int) mix(id) | 1;
    }

    static long refTo(long offset, long id) {
        return ((long) tagOf(id) << 32) | offset;
    }

    static int tagOfRef(long ref) {
        return (int) (ref >>> 32);
    }

    // ---- objects ----

    static long slotBytesFor(int refs, int data) {
        return HEADER_BYTES + (long) (refs + data) * Long.BYTES;
    }

    /**
     * Initializes a new object in a slot the caller just allocated: header, data and checksum, every
     * reference null. Plain stores, then a release fence: the object is not reachable until the caller
     * publishes it.
     */
    long initialize(long offset, long id, int refs, int data) {
        long shape = shape(refs, data);
        memory.set(WORD, offset + ID, id);
        memory.set(WORD, offset + SHAPE, shape);
        long checksum = mix(id ^ shape);
        long field = offset + HEADER_BYTES;
        for (int i = 0; i < refs; i++, field += Long.BYTES) memory.set(WORD, field, 0L);
        for (int i = 0; i < data; i++, field += Long.BYTES) {
            long value = mix(id * 31 + i);
            memory.set(WORD, field, value);
            checksum = mix(checksum ^ value);
        }
        memory.set(WORD, offset + CHECKSUM, checksum);
        // Publication, as HotSpot does after an allocation: the object's initialization is ordered before
        // every later store of a reference to it, so a marker that loads such a reference with acquire
        // (loadRefForMarking) sees an initialized header. The stores themselves stay plain.
        VarHandle.releaseFence();
        return refTo(offset, id);
    }

    int refCount(long ref) {
        return (int) (memory.get(WORD, offsetOf(ref) + SHAPE) >>> 32);
    }

    long idOf(long offset) {
        return memory.get(WORD, offset + ID);
    }

    /** Reads reference field {@code index} of {@code ref} (a mutator, or the collector with the world stopped). */
    long loadRef(long ref, int index) {
        return memory.get(WORD, offsetOf(ref) + HEADER_BYTES + (long) index * Long.BYTES);
    }

    /**
     * Reads reference field {@code index} of {@code ref} for the concurrent marker. Acquire: pairs
     * with the release fence in {@link #initialize}, so a reference to a new object comes with the
     * object's initialized header.
     */
    long loadRefForMarking(long ref, int index) {
        return (long) FIELD.getAcquire(memory, offsetOf(ref) + HEADER_BYTES + (long) index * Long.BYTES);
    }

    /** The reference store: writes field {@code index} of {@code ref}, then calls the write barrier with the field's heap offset. */
    void storeRef(long ref, int index, long value) {
        long field = offsetOf(ref) + HEADER_BYTES + (long) index * Long.BYTES;
        memory.set(WORD, field, value);
        cards.mark(field);
    }

    /** Null if the object at {@code offset} has an intact header and data, else what is wrong. */
    String damage(long offset) {
        long id = memory.get(WORD, offset + ID);
        long shape = memory.get(WORD, offset + SHAPE);
        int refs = (int) (shape >>> 32), data = (int) shape;
        if (refs < 0 || data < 0 || refs + data > MAX_FIELDS) return "shape " + Long.toHexString(shape) + " is not a valid shape";
        if (slotBytesFor(refs, data) > slotSizeAt(offset)) return "shape " + refs + "+" + data + " does not fit its slot";
        long checksum = mix(id ^ shape);
        long field = offset + HEADER_BYTES + (long) refs * Long.BYTES;
        for (int i = 0; i < data; i++, field += Long.BYTES) checksum = mix(checksum ^ memory.get(WORD, field));
        return checksum == memory.get(WORD, offset + CHECKSUM) ? null : "checksum mismatch";
    }

    private static long shape(int refs, int data) {
        return ((long) refs << 32) | data;
    }

    /** A 64-bit finalizer (murmur3's fmix64): ids and data words become well-spread bits. */
    static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return z ^ (z >>> 33);
    }

    // ---- blocks and slots ----

    static int sizeClassFor(long bytes) {
        for (int c = 0; c < SLOT_SIZES.length; c++) if (SLOT_SIZES[c] >= bytes) return c;
        throw new IllegalArgumentException("object of " + bytes + " bytes is larger than the largest slot, " + SLOT_SIZES[SLOT_SIZES.length - 1]);
    }

    static int slotsPerBlock(int sizeClass) {
        return BLOCK_BYTES / SLOT_SIZES[sizeClass];
    }

    private int slotSizeAt(long offset) {
        return SLOT_SIZES[blockClass[(int) (offset >>> BLOCK_SHIFT)]];
    }

    /** Bitmap word index and bit of the slot at {@code offset}, packed as word << 6 | bit. */
    private long slotBit(long offset) {
        int block = (int) (offset >>> BLOCK_SHIFT);
        int slot = (int) ((offset & BLOCK_MASK) / SLOT_SIZES[blockClass[block]]);
        return ((long) (block * BITMAP_WORDS + (slot >>> 6)) << 6) | (slot & 63);
    }

    /**
     * Claims a free slot of {@code sizeClass} in {@code block} (owned by the calling mutator),
     * starting at bitmap word {@code fromWord}. Returns the slot's offset or -1 if the block is full.
     */
    long allocateIn(int block, int sizeClass, int fromWord) {
        int slots = slotsPerBlock(sizeClass);
        int base = block * BITMAP_WORDS;
        int words = (slots + 63) >>> 6;
        for (int w = fromWord; w < words; w++) {
            int valid = Math.min(64, slots - w * 64);
            long free = ~allocated[base + w] & (valid == 64 ? -1L : (1L << valid) - 1);
            if (free != 0) {
                int bit = Long.numberOfTrailingZeros(free);
                allocated[base + w] |= 1L << bit;
                // Allocate black while marking: the new object survives this cycle whatever the marker saw.
                if (markingActive) fresh[base + w] |= 1L << bit;
                return ((long) block << BLOCK_SHIFT) + (long) (w * 64 + bit) * SLOT_SIZES[sizeClass];
            }
        }
        return -1;
    }

    /** Bitmap word of {@code offset}'s slot within its block's bitmap (where the next search may start). */
    static int wordInBlock(long offset, int sizeClass) {
        return (int) ((offset & BLOCK_MASK) / SLOT_SIZES[sizeClass]) >>> 6;
    }

    /**
     * A block with free slots of {@code sizeClass} for a mutator to own: a swept partly used one, else
     * a free one, else one this caller sweeps itself. Returns -1 when none is left until a cycle frees some.
     */
    int takeBlock(int sizeClass) {
        while (true) {
            synchronized (poolLock) {
                int b = partialBlocks[sizeClass].pop();
                if (b >= 0) return b;
                b = freeBlocks.pop();
                if (b >= 0) {
                    blockClass[b] = (byte) sizeClass;
                    return b;
                }
            }
            if (!sweepOne()) return -1;
        }
    }

    // ---- collector side: marking ----

    /** Sets the mark bit of the object at {@code offset}; true if it was not marked before. Collector thread only. */
    boolean mark(long offset) {
        long at = slotBit(offset);
        int word = (int) (at >>> 6);
        long bit = 1L << at;
        long bits = marked[word];
        if ((bits & bit) != 0) return false;
        marked[word] = bits | bit;
        return true;
    }

    /**
     * Calls {@code scan} once with every black object (allocated and marked or fresh) that overlaps
     * the cards {@code [firstCard, endCard)}, including objects that start on an earlier card and
     * reach into them. A run of adjacent dirty cards is scanned in one call, so an object spanning
     * several of them is rescanned once, not once per card. Called by the remark, with mutators stopped.
     */
    void forEachBlackObjectOn(int firstCard, int endCard, java.util.function.LongConsumer scan) {
        long start = (long) firstCard << CardTable.CARD_SHIFT, end = (long) endCard << CardTable.CARD_SHIFT;
        for (long blockStart = start & ~BLOCK_MASK; blockStart < end; blockStart += BLOCK_BYTES) {
            int block = (int) (blockStart >>> BLOCK_SHIFT);
            int sizeClass = blockClass[block];
            if (sizeClass == NO_CLASS) continue;
            int size = SLOT_SIZES[sizeClass];
            int first = (int) (Math.max(start - blockStart, 0) / size);
            int last = (int) Math.min((Math.min(end - blockStart, BLOCK_BYTES) - 1) / size, slotsPerBlock(sizeClass) - 1);
            int base = block * BITMAP_WORDS;
            for (int slot = first; slot <= last; slot++) {
                int w = base + (slot >>> 6);
                long bit = 1L << slot;
                if ((allocated[w] & bit) != 0 && ((marked[w] | fresh[w]) & bit) != 0) {
                    long offset = blockStart + (long) slot * size;
                    scan.accept(refTo(offset, idOf(offset)));
                }
            }
        }
    }

    /**
     * The preclean's rescan, mutators running: calls {@code scan} with every object the collector
     * marked that overlaps the cards {@code [firstCard, endCard)} (a marked object was initialized
     * before the reference the collector reached it by was stored, and stays allocated until the
     * sweep), and {@code keepDirty} with each of those cards that an object allocated during marking
     * overlaps: such an object may still be being initialized, so it is left, with its cards, to the
     * remark. The allocation bitmaps are read while mutators update them (aligned longs: a whole old
     * or new word); what this relies on was published by the preclean's handshake with every mutator
     * after it cleared these cards ({@link Safepoints#handshake}): every object allocated in an
     * operation that ended before then has its bits, its initialization and its reference stores
     * visible here, and the cards of the operations after it are dirty again for the remark.
     */
    void forEachMarkedObjectOn(int firstCard, int endCard, java.util.function.LongConsumer scan, java.util.function.IntConsumer keepDirty) {
        long start = (long) firstCard << CardTable.CARD_SHIFT, end = (long) endCard << CardTable.CARD_SHIFT;
        for (long blockStart = start & ~BLOCK_MASK; blockStart < end; blockStart += BLOCK_BYTES) {
            int block = (int) (blockStart >>> BLOCK_SHIFT);
            int sizeClass = blockClass[block];
            if (sizeClass == NO_CLASS) continue;
            int size = SLOT_SIZES[sizeClass];
            int first = (int) (Math.max(start - blockStart, 0) / size);
            int last = (int) Math.min((Math.min(end - blockStart, BLOCK_BYTES) - 1) / size, slotsPerBlock(sizeClass) - 1);
            int base = block * BITMAP_WORDS;
            for (int slot = first; slot <= last; slot++) {
                int w = base + (slot >>> 6);
                long bit = 1L << slot;
                long offset = blockStart + (long) slot * size;
                if ((marked[w] & bit) != 0) {
                    scan.accept(refTo(offset, idOf(offset)));
                } else if ((fresh[w] & bit) != 0 && (allocated[w] & bit) != 0) {
                    int from = (int) (Math.max(offset, start) >>> CardTable.CARD_SHIFT);
                    int to = (int) ((Math.min(offset + size, end) - 1) >>> CardTable.CARD_SHIFT);
                    for (int card = from; card <= to; card++) keepDirty.accept(card);
                }
            }
        }
    }

    // ---- collector side: sweeping ----

    /**
     * Ends marking and queues every block in use for sweeping (the partly used pools are emptied:
     * their blocks may hold objects that died this cycle). Called by the remark, mutators stopped,
     * after they gave up their allocation blocks.
     */
    void prepareSweep() {
        markingActive = false;
        synchronized (poolLock) {
            for (IntList pool : partialBlocks) pool.clear();
            sweepList.clear();
            for (int b = 0; b < blockCount; b++) if (blockClass[b] != NO_CLASS) sweepList.add(b);
            sweepClaim.set(0);
            unsweptBlocks.set(sweepList.size());
        }
    }

    /** Sweeps one unclaimed block; false when none is left to claim. */
    boolean sweepOne() {
        int index = sweepClaim.getAndIncrement();
        if (index >= sweepList.size()) return false;
        sweep(sweepList.get(index));
        unsweptBlocks.decrementAndGet();
        return true;
    }

    /** True when every queued block has been swept (not just claimed). */
    boolean sweepDone() {
        return unsweptBlocks.get() == 0;
    }

    /** Frees the block's objects that are neither marked nor fresh, clears its mark bits, pools it. */
    private void sweep(int block) {
        int sizeClass = blockClass[block];
        int base = block * BITMAP_WORDS;
        int live = 0;
        for (int w = base; w < base + BITMAP_WORDS; w++) {
            long survivors = allocated[w] & (marked[w] | fresh[w]);
            allocated[w] = survivors;
            marked[w] = 0;
            fresh[w] = 0;
            live += Long.bitCount(survivors);
        }
        synchronized (poolLock) {
            if (live == 0) {
                blockClass[block] = NO_CLASS;
                freeBlocks.add(block);
            } else if (live < slotsPerBlock(sizeClass)) {
                partialBlocks[sizeClass].add(block);
            }
            // A full block stays out of the pools until the next sweep.
        }
    }

    // ---- the oracle's view (mutators stopped) ----

    /** True if {@code offset} is the start of an allocated slot. */
    boolean isAllocatedSlot(long offset) {
        if (offset < 0 || offset >= memory.byteSize()) return false;
        int block = (int) (offset >>> BLOCK_SHIFT);
        int sizeClass = blockClass[block];
        if (sizeClass == NO_CLASS) return false;
        long inBlock = offset & BLOCK_MASK;
        int size = SLOT_SIZES[sizeClass];
        if (inBlock % size != 0 || inBlock / size >= slotsPerBlock(sizeClass)) return false;
        long at = slotBit(offset);
        return (allocated[(int) (at >>> 6)] & (1L << at)) != 0;
    }

    /** Calls {@code action} with the offset of every allocated slot. */
    void forEachAllocated(java.util.function.LongConsumer action) {
        for (int block = 0; block < blockCount; block++) {
            int sizeClass = blockClass[block];
            if (sizeClass == NO_CLASS) continue;
            int size = SLOT_SIZES[sizeClass];
            int base = block * BITMAP_WORDS;
            for (int w = 0; w < BITMAP_WORDS; w++) {
                for (long bits = allocated[base + w]; bits != 0; bits &= bits - 1) {
                    int slot = w * 64 + Long.numberOfTrailingZeros(bits);
                    action.accept(((long) block << BLOCK_SHIFT) + (long) slot * size);
                }
            }
        }
    }

    /** Releases the heap memory. */
    @Override
    public void close() {
        owner.close();
    }
}
