package io.pagemark.backend;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The card table of an arena on the card-table backend (a software card table, as HotSpot keeps
 * one): a byte per 512-byte card of the region, set by the arena's write API after each store. Not
 * the sample runtime's own card table (io.pagemark.samples.runtime.CardTable), which the agent replaces. It lives off-heap in its own shared arena, so a store racing
 * close() fails with an exception instead of touching freed memory.
 */
public final class ArenaCardTable implements AutoCloseable {
    public static final int CARD_SHIFT = 9;
    public static final int CARD_BYTES = 1 << CARD_SHIFT;
    private static final byte DIRTY = 1;
    private static final VarHandle CARD = ValueLayout.JAVA_BYTE.varHandle();
    private static final VarHandle CARD_WORD = ValueLayout.JAVA_LONG.varHandle();

    private final Arena arena = Arena.ofShared();
    private final MemorySegment cards;
    private final int wordsPerPage;

    public ArenaCardTable(MappedRegion region) {
        if (region.pageSize() % (CARD_BYTES * Long.BYTES) != 0) {
            throw new IllegalArgumentException("page size " + region.pageSize() + " is not a multiple of 8 cards");
        }
        this.cards = arena.allocate(region.size() >>> CARD_SHIFT, Long.BYTES);
        this.wordsPerPage = (int) (region.pageSize() / CARD_BYTES / Long.BYTES);
    }

    /**
     * The write barrier: marks the cards of [offset, offset + length), called after the store.
     * Release ordering: the store must be visible before the mark, or a collector could clear the
     * mark, read the page without the store, and never see it again (docs/design.md: write, then record).
     */
    public void mark(long offset, long length) {
        long first = offset >>> CARD_SHIFT, last = (offset + length - 1) >>> CARD_SHIFT;
        // The first card outside the loop: almost every store lies in one card, and C2 wraps a loop around the
        // release store at a cost of about as much again (putLong on card-table 4.95 -> 3.17 ns, untracked 0.62 ns:
        // the best of many batches of sequential stores into a hot 64 KiB arena).
        CARD.setRelease(cards, first, DIRTY);
        for (long card = first + 1; card <= last; card++) CARD.setRelease(cards, card, DIRTY);
    }

    /** Clears every card. */
    public void clearAll() {
        cards.fill((byte) 0);
        // The clears must be visible before the caller's next reads of page contents (StoreLoad).
        VarHandle.fullFence();
    }

    /**
     * Reports every page with a dirty card and clears those cards. Each page's cards are one or more
     * 8-byte words (8 cards); a non-zero word is swapped with zero atomically (getAndSet: a full fence
     * that also acquires the writer's release), so a mark racing the clear is either seen now or stays
     * for the next scan, and the page contents read afterwards include every store whose mark was seen.
     */
    public void collect(PageSet out) {
        long pages = out.pageCount();
        for (long page = 0; page < pages; page++) {
            boolean dirty = false;
            for (int w = 0; w < wordsPerPage; w++) {
                long offset = (page * wordsPerPage + w) * Long.BYTES;
                // A plain read to skip clean words cheaply: a mark it misses is concurrent with this scan and stays set for the next one.
                if (cards.get(ValueLayout.JAVA_LONG, offset) != 0 && (long) CARD_WORD.getAndSet(cards, offset, 0L) != 0) {
                    dirty = true;
                }
            }
            if (dirty) out.add(page);
        }
    }

    @Override
    public synchronized void close() {
        if (arena.scope().isAlive()) arena.close();
    }
}
