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
 * <p>Ordering: the barrier's byte store is a release store (on x86 the same plain store; it only
 * keeps the compiler from moving it above the reference store), so that a preclean which reads the
 * mark with the atomic exchange that clears it sees the reference stored before it. The remark
 * clears and reads cards while every mutator is stopped at a safepoint, and stopping provides the
 * happens-before edge that makes each mutator's stores (the reference and its card) visible to it.
 */
public final class CardTable {
    public static final int CARD_SHIFT = 9;
    public static final int CARD_BYTES = 1 << CARD_SHIFT;
    static final byte CLEAN = 0;
    static final byte DIRTY = 1;
    private static final VarHandle EIGHT_CARDS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.nativeOrder());
    private static final VarHandle CARD = MethodHandles.arrayElementVarHandle(byte[].class);

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
        // Release: the reference store before it is seen by a preclean that reads this mark (see precleanDirty).
        CARD.setRelease(cards, (int) (heapOffset >>> CARD_SHIFT), DIRTY);
    }

    /**
     * Keeps card {@code card} dirty for the remark: the preclean found an object on it that it cannot
     * rescan while the mutators run. Collector thread.
     */
    void keepDirty(int card) {
        CARD.setRelease(cards, card, DIRTY);
    }

    /** Clears every card: the start of a cycle. Called with mutators stopped. */
    public void clear() {
        Arrays.fill(cards, CLEAN);
    }

    /**
     * Appends the index of every dirty card to {@code out}, clears them, and returns how many there
     * were. Called by the remark with mutators stopped. Reads eight cards per step to skip clean runs.
     */
    public int drainDirty(IntList out) {
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

    /**
     * The concurrent preclean's read of the table, mutators running: appends the index of every card
     * found dirty to {@code out}, clears it, and returns how many there were. Each card is cleared by
     * an atomic exchange (volatile) that reads the mark it clears, so every reference store made
     * before that mark (the barrier's release store) happens-before the collector's rescan of the
     * card's objects; a mark made after the exchange stays for the remark. A card that turns dirty
     * after the plain read that skips a clean run is the remark's as well.
     */
    public int precleanDirty(IntList out) {
        int found = 0;
        for (int word = 0; word < cards.length; word += Long.BYTES) {
            if ((long) EIGHT_CARDS.get(cards, word) == 0) continue;
            for (int card = word; card < word + Long.BYTES; card++) {
                if (cards[card] != CLEAN && (byte) CARD.getAndSet(cards, card, CLEAN) != CLEAN) {
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
