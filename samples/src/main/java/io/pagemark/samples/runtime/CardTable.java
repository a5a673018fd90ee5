package io.pagemark.samples.runtime;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The runtime's own card table, the conventional way (as HotSpot keeps one): one byte per 512-byte
 * card of the heap, set by the write barrier {@link #mark} after every reference store, cleared when
 * a collection cycle starts, precleaned concurrently just before the remark ({@link #precleanDirty},
 * as CMS did), and read by the remark, which rescans only objects on dirty cards.
 *
 * <p>Ordering: the barrier's byte store is a plain store, as a real collector's card mark is (HotSpot's
 * unconditional card mark, G1's since JDK 26 without its StoreLoad fence): the JIT may even move it
 * before the reference store it marks. Nothing the collector does relies on an order between the two:
 * <ul>
 * <li>the remark clears and reads cards while every mutator is stopped at a safepoint, and stopping
 *     provides the happens-before edge that makes each mutator's stores (the reference and its card)
 *     visible to it;</li>
 * <li>the concurrent preclean clears the cards it takes ({@link #precleanDirty}, plain reads and
 *     stores), then handshakes with every mutator ({@link Safepoints#handshake}), and only then
 *     rescans those cards' objects (as JEP 522's G1 refinement handshakes after swapping card
 *     tables). A mutator acknowledges a handshake between operations, so an operation either ended
 *     before its acknowledgement, and then its reference stores happen-before the rescan, or began
 *     after it, and then the preclean's clear happens-before its card mark, which the remark finds.</li>
 * </ul>
 */
public final class CardTable {
    public static final int CARD_SHIFT = 9;
    public static final int CARD_BYTES = 1 << CARD_SHIFT;
    static final byte CLEAN = 0;
    static final byte DIRTY = 1;
    private static final VarHandle EIGHT_CARDS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.nativeOrder());

    /** The heap memory this table covers: card {@code i} is bytes [i * 512, i * 512 + 512) of it. */
    private final MemorySegment covered;
    private final byte[] cards;

    public CardTable(MemorySegment covered) {
        if (covered.byteSize() % (CARD_BYTES * Long.BYTES) != 0) {
            throw new IllegalArgumentException("the covered heap must be a multiple of " + CARD_BYTES * Long.BYTES
                    + " bytes, got " + covered.byteSize());
        }
        this.covered = covered;
        this.cards = new byte[Math.toIntExact(covered.byteSize() >>> CARD_SHIFT)];
    }

    /** The write barrier: marks the card holding the reference field at {@code heapOffset}. */
    @WriteBarrier
    public void mark(long heapOffset) {
        // Plain: no order with the reference store is needed (the class comment: the preclean handshakes).
        cards[(int) (heapOffset >>> CARD_SHIFT)] = DIRTY;
    }

    /**
     * Keeps card {@code card} dirty for the remark: the preclean found an object on it that it cannot
     * rescan while the mutators run. Collector thread.
     */
    void keepDirty(int card) {
        cards[card] = DIRTY;
    }

    /** Clears every card: the start of a cycle. Called with mutators stopped. */
    public void clear() {
        Arrays.fill(cards, CLEAN);
    }

    /**
     * Appends the index of every dirty card to {@code out}, clears them, and returns how many there
     * were. Called by the remark with mutators stopped.
     */
    public int drainDirty(IntList out) {
        return take(out);
    }

    /**
     * The concurrent preclean's read of the table, mutators running: appends the index of every card
     * found dirty to {@code out}, clears it, and returns how many there were. Plain reads and stores
     * racing with the barrier's: the caller handshakes with every mutator before it rescans the
     * cards' objects (see the class comment), and a card marked again after its clear, or after the
     * read that found it clean, is the remark's. (A method of its own, not {@link #drainDirty}: a
     * tool that hooks the card scan in the pause tells the two apart by name.)
     */
    public int precleanDirty(IntList out) {
        return take(out);
    }

    /** Takes the dirty cards, clearing them. Reads eight cards per step to skip clean runs. */
    private int take(IntList out) {
        int found = 0;
        for (int word = 0; word < cards.length; word += Long.BYTES) {
            if ((long) EIGHT_CARDS.get(cards, word) == 0) continue;
            for (int card = word; card < word + Long.BYTES; card++) {
                if (cards[card] != CLEAN) {
                    cards[card] = CLEAN;
                    out.add(card);
                    found++;
                }
            }
        }
        return found;
    }

    @Override
    public String toString() {
        return "CardTable[" + cards.length + " cards of " + CARD_BYTES + " bytes over 0x"
                + Long.toHexString(covered.address()) + "]";
    }
}
