package io.pagemark.testruntime;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A runtime whose collector reads its card table twice in a cycle without clearing it between (a
 * concurrent pre-clean, then the remark, as CMS did), for the agent's test of that pattern: the
 * writes between the two scans must still reach the second one. Its own barrier marks 512-byte
 * cards in a {@code byte[]}. Prints {@code scanN=<dirty cards>} for each scan.
 */
public final class PrecleaningRuntime {
    private static final int CARD_SHIFT = 9;
    private static final long PAGE = 4096;

    final MemorySegment covered;
    final byte[] cards;

    private PrecleaningRuntime(Arena arena, long bytes) {
        this.covered = reserve(arena, bytes);
        this.cards = new byte[(int) (bytes >>> CARD_SHIFT)];
    }

    static MemorySegment reserve(Arena owner, long bytes) {
        return owner.allocate(bytes, PAGE);
    }

    void mark(long offset) {
        cards[(int) (offset >>> CARD_SHIFT)] = 1;
    }

    void store(long offset, long value) {
        covered.set(ValueLayout.JAVA_LONG, offset, value);
        mark(offset);
    }

    /** The collector reads and clears its dirty cards; returns how many there were. */
    int scan() {
        int dirty = 0;
        for (int i = 0; i < cards.length; i++) {
            if (cards[i] != 0) {
                cards[i] = 0;
                dirty++;
            }
        }
        return dirty;
    }

    /** The start of a cycle: every card clean. */
    void clear() {
        Arrays.fill(cards, (byte) 0);
    }

    public static void main(String[] args) {
        try (Arena arena = Arena.ofShared()) {
            PrecleaningRuntime rt = new PrecleaningRuntime(arena, 1 << 20);
            rt.clear();
            rt.store(3 * PAGE, 1);
            System.out.println("scan1=" + rt.scan());   // the pre-clean
            rt.store(5 * PAGE, 1);
            System.out.println("scan2=" + rt.scan());   // the remark: page 5 was written after the pre-clean
            rt.clear();
            rt.store(7 * PAGE, 1);
            System.out.println("scan3=" + rt.scan());
            rt.store(9 * PAGE, 1);
            System.out.println("scan4=" + rt.scan());
        }
    }
}
