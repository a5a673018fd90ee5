package io.pagemark.samples.kv;

import io.pagemark.TrackedArena;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A small off-heap hash map from {@code long} keys to short byte values, laid out entirely in a
 * {@link TrackedArena} (open addressing, linear probing), so that the arena <em>is</em> the store:
 * checkpointing the arena checkpoints the store, restoring the arena restores it.
 *
 * <pre>
 * bytes 0-4095   magic u64 | capacity u64 (slots, a power of two) | size u64 (keys) | puts u64 (puts applied)
 * from 4096      capacity x 64-byte slots: key u64 (0 = empty) | value length u32 | value (up to 52 bytes)
 * </pre>
 *
 * All writes go through the arena's write API, so the store is tracked on every backend, card-table
 * included. Not thread-safe: one writer (like Redis' main loop). Keys are never removed.
 *
 * <pre>{@code
 * try (TrackedArena arena = TrackedArena.open(OffHeapKvStore.bytesFor(1 << 20))) {
 *     OffHeapKvStore store = OffHeapKvStore.create(arena);
 *     store.put(42, "hello".getBytes());
 *     byte[] v = store.get(42);
 * }
 * }</pre>
 */
public final class OffHeapKvStore {
    /** The longest value a slot holds. */
    public static final int MAX_VALUE_BYTES = 52;

    private static final long MAGIC = 0x31564b4b524d4750L;   // "PGMRKKV1"
    /** The header has a 4 KiB page to itself, so that the puts counter it bumps on every put dirties one page, not a slot page. */
    private static final long HEADER_BYTES = 4096;
    private static final long SLOT_BYTES = 64;
    private static final long CAPACITY_AT = 8, SIZE_AT = 16, PUTS_AT = 24;
    private static final long LENGTH_AT = 8, VALUE_AT = 12;

    private final TrackedArena arena;
    private final long capacity;
    private final long mask;
    private long size;
    private long puts;

    private OffHeapKvStore(TrackedArena arena, long capacity, long size, long puts) {
        this.arena = arena;
        this.capacity = capacity;
        this.mask = capacity - 1;
        this.size = size;
        this.puts = puts;
    }

    /** Arena bytes for a store of {@code capacity} slots (a power of two): a header page and the slots. */
    public static long bytesFor(long capacity) {
        if (capacity < 2 || Long.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity must be a power of two of at least 2, got " + capacity);
        }
        return HEADER_BYTES + capacity * SLOT_BYTES;
    }

    /** The slots (a power of two; 0 if none fit) of a store whose slots may take up to {@code slotBytes} bytes: {@code bytesFor} of it adds the header. */
    public static long slotsIn(long slotBytes) {
        return Long.highestOneBit(Math.max(0, slotBytes) / SLOT_BYTES);
    }

    /** Formats {@code arena} (all zero, as a new one is) as an empty store using all of it. */
    public static OffHeapKvStore create(TrackedArena arena) {
        long capacity = slotsIn(arena.size() - HEADER_BYTES);
        if (capacity < 2) throw new IllegalArgumentException("the arena (" + arena.size() + " bytes) is too small for a store");
        if (arena.getLong(0) != 0) throw new IllegalArgumentException("the arena is not empty: use attach() to open an existing store");
        arena.putLong(CAPACITY_AT, capacity);
        arena.putLong(0, MAGIC);
        return new OffHeapKvStore(arena, capacity, 0, 0);
    }

    /** Opens the store held in {@code arena} (for instance one just restored from a checkpoint). */
    public static OffHeapKvStore attach(TrackedArena arena) {
        if (arena.getLong(0) != MAGIC) throw new IllegalArgumentException("the arena does not hold an OffHeapKvStore (bad magic number)");
        long capacity = arena.getLong(CAPACITY_AT);
        if (capacity < 2 || Long.bitCount(capacity) != 1 || bytesFor(capacity) > arena.size()) {
            throw new IllegalArgumentException("the store's header is damaged: capacity " + capacity);
        }
        return new OffHeapKvStore(arena, capacity, arena.getLong(SIZE_AT), arena.getLong(PUTS_AT));
    }

    /**
     * Sets {@code key} (not 0) to {@code value} (at most {@link #MAX_VALUE_BYTES} bytes).
     *
     * @throws IllegalStateException if the key is new and the store is full
     */
    public void put(long key, byte[] value) {
        if (key == 0) throw new IllegalArgumentException("key 0 is reserved (it marks empty slots)");
        if (value.length > MAX_VALUE_BYTES) {
            throw new IllegalArgumentException("values are at most " + MAX_VALUE_BYTES + " bytes, got " + value.length);
        }
        long slot = find(key);
        boolean added = arena.getLong(slot) == 0;
        if (added && size == capacity - 1) throw new IllegalStateException("the store is full (" + size + " keys)");
        arena.put(slot + VALUE_AT, value, 0, value.length);
        arena.putInt(slot + LENGTH_AT, value.length);
        if (added) {
            arena.putLong(slot, key);
            arena.putLong(SIZE_AT, ++size);
        }
        arena.putLong(PUTS_AT, ++puts);
    }

    /** The value of {@code key}, or null if it was never put. */
    public byte[] get(long key) {
        long slot = find(key);
        if (arena.getLong(slot) == 0) return null;
        byte[] value = new byte[arena.getInt(slot + LENGTH_AT)];
        MemorySegment.copy(arena.segment(), ValueLayout.JAVA_BYTE, slot + VALUE_AT, value, 0, value.length);
        return value;
    }

    /** Keys stored. */
    public long size() {
        return size;
    }

    /** Puts applied since the store was created (it survives checkpoint and restore with the data). */
    public long puts() {
        return puts;
    }

    /** Slots in the store (a power of two); it holds at most {@code capacity() - 1} keys. */
    public long capacity() {
        return capacity;
    }

    /** The slot holding {@code key}, or the empty slot where it would go. */
    private long find(long key) {
        for (long i = mix(key) & mask, probes = 0; probes < capacity; i = (i + 1) & mask, probes++) {
            long slot = HEADER_BYTES + i * SLOT_BYTES;
            long k = arena.getLong(slot);
            if (k == key || k == 0) return slot;
        }
        throw new IllegalStateException("the store is full");
    }

    /** A 64-bit finalizer (murmur3's) so that neighbouring keys land on scattered slots. */
    private static long mix(long key) {
        key ^= key >>> 33;
        key *= 0xff51afd7ed558ccdL;
        key ^= key >>> 33;
        key *= 0xc4ceb9fe1a85ec53L;
        return key ^ (key >>> 33);
    }

    @Override
    public String toString() {
        return "OffHeapKvStore[" + size + " keys of " + capacity + " slots, " + puts + " puts]";
    }
}
